"""IPA segmentation: tie bars, diacritics, length and tone attach to their base; nothing is dropped."""
from __future__ import annotations

import panphon
import pytest

from fieldasr.g2p.segment import IPAOptions, clean_ipa, ipa_to_phones, is_known_phone, segment_ipa


@pytest.mark.parametrize(
    ("ipa", "phones"),
    [
        ("t͡ʃa", ("t͡ʃ", "a")),  # tie bar: one affricate
        ("tʃa", ("t", "ʃ", "a")),  # no tie bar: two phones, as IPA writes them
        ("kʷa", ("kʷ", "a")),  # labialisation stays on its consonant
        ("aːka", ("aː", "k", "a")),  # length on the vowel
        ("ma˥˩", ("m", "a˥˩")),  # tone letters on the vowel before them
        ("má", ("m", "á")),  # combining tone accent stays on its vowel
        ("tʰɐ̃", ("tʰ", "ɐ̃")),  # aspiration, nasalisation
        ("k͡pa", ("k͡p", "a")),  # doubly articulated stop
        ("ɚ", ("ɚ",)),  # a symbol panphon does not know is kept, not dropped (panphon's ipa_segs drops it)
        ("ga", ("ɡ", "a")),  # ASCII g is read as IPA ɡ
        ("ˈaka", ("ˈa", "k", "a")),  # stress stays with the phone after it
        ("a'b", ("a", "'", "b")),  # a stray apostrophe is kept (and reported as featureless), not dropped
    ],
)
def test_segment_ipa_attaches_modifiers_to_their_base(ipa: str, phones: tuple[str, ...]) -> None:
    assert segment_ipa(ipa) == phones


@pytest.mark.parametrize("ipa", ["t͡ʃaːkʷ", "ŋɡoma", "ʃt͡ʃɛɲɕt͡ɕɛ", "kˈat͡sə", "ðə", "ɲumba", "d͡ʒʌd͡ʒ"])
def test_segment_ipa_agrees_with_panphon_where_panphon_knows_every_symbol(ipa: str) -> None:
    reference = panphon.FeatureTable().ipa_segs(ipa.replace("ˈ", ""))
    assert segment_ipa(ipa.replace("ˈ", "")) == tuple(reference)


def test_nfc_and_nfd_input_give_the_same_phones() -> None:
    import unicodedata

    word = "ɐ̃ʊ̯ é"
    assert segment_ipa(unicodedata.normalize("NFD", word)) == segment_ipa(unicodedata.normalize("NFC", word))


def test_clean_ipa_strips_only_what_is_asked() -> None:
    word = "ˈmaː˥˩"
    assert clean_ipa(word, IPAOptions()) == "maː˥˩"
    assert clean_ipa(word, IPAOptions(strip_length=True, strip_tone=True)) == "ma"
    assert clean_ipa(word, IPAOptions(strip_stress=False)) == word


def test_tie_bars_join_affricates_and_split_diphthongs_as_configured() -> None:
    assert ipa_to_phones("t͡ʃa͡ɪ", IPAOptions()) == ("t͡ʃ", "a", "ɪ")
    assert ipa_to_phones("t͡ʃa͡ɪ", IPAOptions(join_affricates=False, split_diphthongs=False)) == ("t", "ʃ", "a͡ɪ")
    assert ipa_to_phones("tʃʰa", IPAOptions(affricates=("tʃ",))) == ("t͡ʃʰ", "a")
    assert ipa_to_phones("ɾa", IPAOptions(replace=(("ɾ", "r"),))) == ("r", "a")


def test_known_phone_ignores_tone_and_knows_espeak_symbols() -> None:
    assert is_known_phone("a˥˩") and is_known_phone("ɚ") and is_known_phone("t͡ʃ")
    assert not is_known_phone("7")


def test_tied_vowel_plus_consonant_is_split_with_diphthongs() -> None:
    # espeak-ng ties r-coloured vowels (en-us "four": fˈoː͡ɹ); split, both halves are ordinary phones.
    assert ipa_to_phones("foː͡ɹ", IPAOptions()) == ("f", "oː", "ɹ")
    assert ipa_to_phones("foː͡ɹ", IPAOptions(split_diphthongs=False)) == ("f", "oː͡ɹ")
