"""Scoring rules: normalisation, missing and extra ids, empty references, units, optimality of the alignment."""
from __future__ import annotations

import logging
import random
import sys
import types

import pytest
from rapidfuzz.distance import Levenshtein

from fieldasr.eval import normaliser_from_spec, score, tokenise
from fieldasr.eval.align import DELETION_COST, INSERTION_COST, SUBSTITUTION_COST, align_batch
from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.metrics import phones_from_ipa


def test_default_normaliser_keeps_word_internal_apostrophes_and_numbers() -> None:
    normalise = normaliser_from_spec("default")
    assert normalise("  Ka'a, DOG! 3 «dogs» 'quoted' ") == "ka'a dog 3 dogs quoted"
    assert normalise("nai\u0308ve") == "naïve"  # NFC composes the diaeresis
    assert normalise.name == "nfc+lowercase+punctuation+whitespace"


def test_normalisers_compose_and_reject_unknown_steps() -> None:
    assert normaliser_from_spec("unicode+lowercase").steps == ("nfc", "lowercase", "whitespace")
    assert normaliser_from_spec("none")("A  B.") == "A B."
    with pytest.raises(EvaluationError, match="unknown normalisation step.*uppercase"):
        normaliser_from_spec("nfc+uppercase")


def test_character_unit_ignores_spaces_like_sclite_c() -> None:
    assert tokenise("ab cd", "char") == ("a", "b", "c", "d")
    result = score({"u": "ab cd"}, {"u": "abcd"}, unit="char")
    assert result.errors == 0 and result.reference_length == 4


def test_missing_hypotheses_are_all_deletions_and_extra_ones_listed() -> None:
    result = score({"a": "one two", "b": "three"}, {"a": "one two", "z": "extra words"})
    assert result.missing_in_hypothesis == ("b",)
    assert result.only_in_hypothesis == ("z",)
    assert (result.deletions, result.insertions, result.reference_length) == (1, 0, 3)
    assert result.utterances[1].hypothesis_missing
    with pytest.raises(EvaluationError, match="1 hypothesis id.*z"):
        score({"a": "one"}, {"a": "one", "z": "x"}, extra_hypotheses="error")


def test_empty_references_give_no_rate_but_count_insertions() -> None:
    result = score({"a": "", "b": ""}, {"a": "x y", "b": ""})
    assert result.rate is None
    assert result.insertions == 2 and result.empty_reference_insertions == 2
    assert result.utterances[0].rate is None


def test_phone_unit_uses_sequences_as_given() -> None:
    result = score({"a": ("t͡ʃ", "a", "ʔ")}, {"a": "t͡ʃ e ʔ"}, unit="phone")
    assert (result.hits, result.substitutions, result.reference_length) == (2, 1, 3)
    assert result.normaliser == "nfc+whitespace"
    # Case is meaningful in phone sets such as X-SAMPA: it is kept.
    assert score({"a": "N a"}, {"a": "n a"}, unit="phone").substitutions == 1


def test_ipa_segmentation_uses_g2p_when_present_and_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = types.ModuleType("fieldasr.g2p")
    fake.segment_ipa = lambda ipa: tuple(ipa.replace("t͡ʃ", "T").replace("T", "t͡ʃ ").replace("a", "a ").split())
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", fake)
    assert phones_from_ipa("t͡ʃa ŋa") == ("t͡ʃ", "a", "ŋa")
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", None)  # makes the import fail
    with caplog.at_level(logging.WARNING):
        assert phones_from_ipa("ŋa") == ("ŋ", "a")
    assert "segment_ipa is not available" in caplog.text


def test_alignment_cost_is_the_minimum_weighted_edit_distance() -> None:
    # rapidfuzz computes the same weighted distance independently; ours must reach its minimum.
    generator = random.Random(3)
    references = [generator.choices("abcde", k=generator.randint(0, 9)) for _ in range(500)]
    hypotheses = [generator.choices("abcde", k=generator.randint(0, 9)) for _ in range(500)]
    for reference, hypothesis, alignment in zip(references, hypotheses, align_batch(references, hypotheses)):
        cost = SUBSTITUTION_COST * alignment.substitutions + DELETION_COST * alignment.deletions + INSERTION_COST * alignment.insertions
        weights = (INSERTION_COST, DELETION_COST, SUBSTITUTION_COST)
        assert cost == Levenshtein.distance(reference, hypothesis, weights=weights)
        assert alignment.hits + alignment.substitutions + alignment.deletions == len(reference)
        assert alignment.hits + alignment.substitutions + alignment.insertions == len(hypothesis)
        pairs = alignment.pairs(reference, hypothesis)
        assert [r for r, _ in pairs if r is not None] == reference and [h for _, h in pairs if h is not None] == hypothesis


def test_differently_normalised_sides_are_flagged_when_case_is_kept() -> None:
    from fieldasr.eval.report import normalisation_warnings

    assert normalisation_warnings({"a": "the dog"}, {"a": "THE DOG"}, "nfc+whitespace")
    assert normalisation_warnings({"a": "the dog"}, {"a": "THE DOG"}, "nfc+lowercase+whitespace") == []
    assert normalisation_warnings({"a": "The dog"}, {"a": "The dog"}, "nfc+whitespace") == []
