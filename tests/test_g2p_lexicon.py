"""Lexicons: known words first, G2P for the rest, and files torchaudio's CTC decoder reads."""
from __future__ import annotations

from pathlib import Path

import pytest

from fieldasr.g2p import load_spec, phonemize_with_report
from fieldasr.g2p.lexicon import Lexicon, LexiconError, read_lexicon


def write_chain_spec(folder: Path) -> Path:
    """A lexicon -> rules chain for Māori: the lexicon overrides the rules for one word."""
    (folder / "words.txt").write_text("kia\tk j a\n;; a comment\nora\to ɾ a |\n", encoding="utf-8")
    (folder / "mi.rules").write_text(load_spec("mi").rules_path.read_text(encoding="utf-8"), encoding="utf-8")
    spec = folder / "mi-chain.yaml"
    spec.write_text("language: mi\nbackend: [lexicon, rules]\nlexicon: words.txt\nrules: mi.rules\n", encoding="utf-8")
    return spec


def test_chain_uses_the_lexicon_first_and_rules_for_oov_words(tmp_path: Path) -> None:
    result = phonemize_with_report(["kia ora whānau"], write_chain_spec(tmp_path))
    assert result.phones[0] == ("k", "j", "a", "o", "ɾ", "a", "f", "aː", "n", "a", "u")
    assert result.report.words_by_backend == {"lexicon": 2, "rules": 1}


def test_written_lexicon_round_trips_and_loads_in_torchaudio_ctc_decoder(tmp_path: Path) -> None:
    from torchaudio.models.decoder import ctc_decoder

    spec = write_chain_spec(tmp_path)
    lexicon = Lexicon.from_file(tmp_path / "words.txt", spec)
    words = lexicon.words_of(["Kia ora!", "Kia ora, whānau. 42"])
    assert words == ["kia", "ora", "whānau", "42"]
    report = lexicon.write(tmp_path / "lexicon.txt", words)
    assert (report.written, report.from_lexicon, report.from_g2p, report.skipped_empty) == (3, 2, 1, ("42",))
    lines = (tmp_path / "lexicon.txt").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "whānau\tf aː n a u"  # no word boundary: the decoder adds it after every word
    assert read_lexicon(tmp_path / "lexicon.txt")["whānau"] == ("f", "aː", "n", "a", "u")
    phones = sorted({phone for line in lines for phone in line.split("\t")[1].split()})
    # The decoder rejects a lexicon whose spellings use tokens it does not have, so loading it checks the format.
    decoder = ctc_decoder(lexicon=str(tmp_path / "lexicon.txt"), tokens=["<blank>", "|", *phones], blank_token="<blank>", sil_token="|", lm=None)
    assert decoder is not None


def test_malformed_lexicon_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("kia\tk i a\nora\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="bad.txt: 1 bad line: line 2: 'ora': one field only"):
        read_lexicon(path)


def test_words_are_normalised_by_the_spec_before_g2p() -> None:
    # Ainu writes personal affixes with '=' (ku=kor 'my'); the spec joins them into one word.
    assert Lexicon("ain").pronounce(["ku=kor", "Cise"]) == {"ku=kor": ("k", "u", "k", "o", "ɾ"), "Cise": ("t͡ʃ", "i", "s", "e")}
