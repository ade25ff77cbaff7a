"""espeak-backed specs checked against espeak-ng's own command-line IPA, and the bad-voice error."""
from __future__ import annotations

import subprocess

import pytest

from conftest import require_program
from fieldasr.g2p import UnknownVoiceError, ipa_to_phones, load_spec, phonemize, phonemize_with_report
from fieldasr.g2p.spec import available_specs, spec_from_mapping

TIE = "\u0361"
ESPEAK_SPECS = [name for name in available_specs() if load_spec(name).backends == ("espeak",)]


def espeak_cli_ipa(voice: str, word: str) -> str:
    """The independent reference: `espeak-ng -q --ipa --tie=͡ -v VOICE WORD` (espeak marks its own multi-letter phonemes)."""
    espeak = require_program("espeak-ng")
    result = subprocess.run([espeak, "-q", "--ipa", f"--tie={TIE}", "-v", voice, word], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_at_least_ten_espeak_languages_are_shipped() -> None:
    assert len(ESPEAK_SPECS) >= 10, ESPEAK_SPECS


@pytest.mark.parametrize("name", ESPEAK_SPECS)
def test_espeak_spec_matches_the_espeak_ng_command_line(name: str) -> None:
    spec = load_spec(name)
    words = [word for word, _ in spec.examples]
    assert len(words) >= 5
    ours = phonemize(words, spec)
    for word, phones, (_, stored) in zip(words, ours, spec.examples):
        reference = espeak_cli_ipa(str(spec.voice), word)
        assert phones == ipa_to_phones(reference, spec.ipa), f"{name}: {word!r}: espeak-ng says {reference}"
        assert phones == ipa_to_phones(stored, spec.ipa), f"{name}: {word!r}: spec example {stored} is out of date"
        assert phones, word


def test_affricates_and_diphthongs_follow_espeaks_own_phoneme_boundaries() -> None:
    # English "church" has two affricates; "hats" ends in t + s, which espeak treats as two phonemes.
    church, hats, house = phonemize(["church", "hats", "house"], "en")
    assert church[0] == "t͡ʃ" and church[-1] == "t͡ʃ"
    assert hats[-2:] == ("t", "s")
    assert "ʊ" in house and not any(TIE in phone for phone in house)  # diphthong split into its vowels


def test_sentences_keep_word_boundaries_when_asked() -> None:
    (phones,) = phonemize(["Habari ya asubuhi, rafiki!"], "sw", word_boundaries=True)
    words = " ".join(phones).split(" | ")
    assert len(words) == 4
    assert words[-1].split() == list(ipa_to_phones(espeak_cli_ipa("sw", "rafiki"), load_spec("sw").ipa))


def test_many_utterances_reuse_the_word_cache() -> None:
    texts = ["jambo rafiki"] * 500 + ["habari"] * 500
    result = phonemize_with_report(texts, "sw")
    assert result.report.words == 1500 and result.report.distinct_words == 3
    assert result.phones[0] == result.phones[499]


def test_unknown_voice_lists_close_ones() -> None:
    spec = spec_from_mapping({"language": "sw", "backend": "espeak", "voice": "swahili"})
    with pytest.raises(UnknownVoiceError, match=r"sw \(Swahili\)"):
        phonemize(["jambo"], spec)
    spec = spec_from_mapping({"language": "pt", "backend": "espeak", "voice": "pt-bz"})
    with pytest.raises(UnknownVoiceError, match=r"pt-br"):
        phonemize(["casa"], spec)


def test_epitran_spec_matches_epitran() -> None:
    import epitran

    spec = load_spec("sw-epitran")
    reference = epitran.Epitran("swa-Latn")
    for (word, stored), phones in zip(spec.examples, phonemize([word for word, _ in spec.examples], spec)):
        assert phones == tuple(reference.trans_list(word)), word
        assert phones == ipa_to_phones(stored, spec.ipa), word


def test_missing_espeak_library_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from phonemizer.backend import EspeakBackend

    from fieldasr.g2p import G2PError, backends

    monkeypatch.setattr(EspeakBackend, "is_available", staticmethod(lambda: False))
    monkeypatch.setattr(backends.ctypes.util, "find_library", lambda name: None)
    monkeypatch.delenv("PHONEMIZER_ESPEAK_LIBRARY", raising=False)
    with pytest.raises(G2PError, match="PHONEMIZER_ESPEAK_LIBRARY"):
        backends._load_espeak_library()
