"""One normaliser for G2P, training labels, lexicon words, LM text and scoring: the cases where the G2P normaliser
and scoring's used to disagree, and the places that now call it."""
from __future__ import annotations

from pathlib import Path

import pytest

from fieldasr.data import Segment
from fieldasr.decode.lexicon import normalise_words
from fieldasr.decode.ngram import build_arpa
from fieldasr.eval import normaliser_from_spec as scoring_normaliser
from fieldasr.eval import score
from fieldasr.eval.errors import EvaluationError
from fieldasr.g2p import G2P
from fieldasr.g2p.spec import spec_from_mapping
from fieldasr.text.normalise import (
    NormalisationError, Normaliser, normaliser_from_settings, normaliser_from_spec, orthography_normaliser,
)
from fieldasr.train.pipeline import segment_tokens

DEFAULT = normaliser_from_spec("default")


@pytest.mark.parametrize(("text", "scored", "spelled"), [
    # Inside a word: kept by both (G2P used to split "tūtū-nui" in two, and "a'e" where the spec did not keep ').
    ("Tūtū-nui", "tūtū-nui", "tūtū-nui"),
    ("ka'a", "ka'a", "ka'a"),
    # At a word edge: a quotation mark or a dash for scoring; G2P specs keep ' as a letter (keep: "'"), so K'iche' keeps its
    # final glottal stop there; a hyphen at an edge is a dash for both.
    ("'quoted' -dash-", "quoted dash", "'quoted' dash"),
    ("K'iche'", "k'iche", "k'iche'"),
    # Apostrophe variants: the spelling normaliser writes one character; scoring's default leaves them as typed.
    ("a’e", "a’e", "a'e"),
    # Unicode's apostrophe letters are letters everywhere.
    ("ʻaʻole", "ʻaʻole", "'a'ole"),
    # A lone mark is not a word; symbols are words for scoring, word breaks in spelling.
    ("' - $5 ku=kor", "$5 ku=kor", "5 ku kor"),
])
def test_apostrophe_and_hyphen_rule(text: str, scored: str, spelled: str) -> None:
    assert DEFAULT(text) == scored
    assert orthography_normaliser()(text) == spelled


def test_a_spec_without_kept_apostrophes_still_keeps_them_inside_words() -> None:
    normalise = orthography_normaliser(keep="")
    assert normalise.words("K'iche' 'quoted' a'e") == ["k'iche", "quoted", "a'e"]


def test_g2p_words_are_scored_words_and_hyphens_are_not_sounds(tmp_path: Path) -> None:
    (tmp_path / "x.rules").write_text("t -> t\nū -> uː\nn -> n\nu -> u\ni -> i\n", encoding="utf-8")
    g2p = G2P(spec_from_mapping({"language": "x", "backend": "rules", "rules": "x.rules"}, tmp_path / "x.yaml"))
    assert g2p.words("Tūtū-nui!") == DEFAULT.words("Tūtū-nui!") == ["tūtū-nui"]
    joined, apart = g2p.phonemize(["tūtū-nui", "tūtū nui"], word_boundaries=True).phones
    # One word has no word boundary inside: its labels are its lexicon entry, as the beam decoder spells it.
    assert joined == ("t", "uː", "t", "uː", "n", "u", "i") and apart == ("t", "uː", "t", "uː", "|", "n", "u", "i")
    assert g2p.phonemize("tūtū-nui").report.clean  # the hyphen is not an uncovered character
    assert score({"u": "Tūtū-nui."}, {"u": "tūtū-nui"}).errors == 0


def test_settings_round_trip_and_errors() -> None:
    spelling = orthography_normaliser(unicode_form="NFD", lowercase=False, keep="'=", replace=(("á", "a"),))
    assert normaliser_from_settings(spelling.settings()) == spelling
    assert normaliser_from_settings("default") == DEFAULT == scoring_normaliser("default")
    assert normaliser_from_settings(None).steps == ("whitespace",)
    with pytest.raises(NormalisationError, match="unknown normalisation step"):
        normaliser_from_settings({"steps": ["nfc", "uppercase"]})
    with pytest.raises(NormalisationError, match="unknown normaliser setting"):
        normaliser_from_settings({"steps": ["nfc"], "kept": "'"})
    with pytest.raises(NormalisationError, match="one character"):
        Normaliser(("apostrophes",), apostrophe="")
    with pytest.raises(EvaluationError, match="uppercase"):
        scoring_normaliser("uppercase")


def test_character_and_subword_labels_come_from_normalised_text() -> None:
    segment = Segment("s1", "r1", 0.0, 1.0, text="Ka'a,  TIKA!")
    assert segment_tokens(segment, "characters") == list("Ka'a,|TIKA!")  # no normaliser: white space only, as before
    assert segment_tokens(segment, "characters", normaliser=DEFAULT) == list("ka'a|tika")


def test_lm_text_and_lexicon_words_are_normalised_like_the_labels(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text("The cat sat.\n...\nthe CAT sat!\n", encoding="utf-8")
    summary = build_arpa(tmp_path / "text.txt", tmp_path / "lm.arpa", normaliser=DEFAULT)
    assert summary.sentences == 2 and summary.skipped_empty_lines == 1  # "..." is empty once normalised
    arpa_unigrams = (tmp_path / "lm.arpa").read_text(encoding="utf-8").split("\\2-grams:")[0]
    assert "\tcat" in arpa_unigrams and "CAT" not in arpa_unigrams and "sat." not in arpa_unigrams
    lexicon = normalise_words({"Cat": ("k", "a", "t"), "cat": [("k", "a", "t"), ("k", "æ", "t")], "a.b": ("a",)}, DEFAULT)
    assert lexicon == {"cat": [("k", "a", "t"), ("k", "æ", "t")], "a b": [("a",)]}


def _cli(*arguments: str) -> str:
    from click.testing import CliRunner

    from fieldasr.cli import cli

    result = CliRunner().invoke(cli, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _word_scores(report: Path) -> dict:
    import json

    (system,) = json.loads((report / "report.json").read_text(encoding="utf-8"))["systems"]
    return system["units"]["word"]


@pytest.mark.parametrize(("spec_option", "text"), [
    # Hyphens and apostrophes inside words, case, punctuation: the three defaults agree.
    ((), "Tūtū-nui, KA'A kite anō!\n\"Kia ora,\" e hoa: tūtū-nui.\n"),
    # With the spec named, also a spelling variant only the spec knows (ä for ā) and a typographic apostrophe.
    (("--spec", "mi"), "Tūtū-nui, KA’A kite anö!\n\"Kia ora,\" e hoa: Tūtū-nui.\n"),
])
def test_lm_lexicon_and_evaluate_write_the_same_words(tmp_path: Path, spec_option: tuple[str, ...], text: str) -> None:
    from fieldasr.decode import arpa_words

    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    lines = text.splitlines()
    _cli("lm", str(tmp_path / "text.txt"), "-o", str(tmp_path / "lm.arpa"), *spec_option)
    _cli("g2p", "--spec", "mi", "--lexicon", str(tmp_path / "lexicon.txt"), *lines)
    lexicon_words = [line.split("\t")[0] for line in (tmp_path / "lexicon.txt").read_text(encoding="utf-8").splitlines()]
    assert set(arpa_words(tmp_path / "lm.arpa")) == set(lexicon_words)
    assert "tūtū-nui" in lexicon_words and "ka'a" in lexicon_words and len(lexicon_words) == 8
    # A perfect lexicon decoder writes each line's lexicon words; evaluate counts no error against the text as typed.
    from fieldasr.g2p import load_spec

    decoded = [load_spec("mi").normalization.words(line) for line in lines]
    assert [word for words in decoded for word in words if word not in lexicon_words] == []
    (tmp_path / "ref.tsv").write_text("".join(f"u{n}\t{line}\n" for n, line in enumerate(lines)), encoding="utf-8")
    (tmp_path / "hyp.tsv").write_text("".join(f"u{n}\t{' '.join(words)}\n" for n, words in enumerate(decoded)), encoding="utf-8")
    _cli("evaluate", "--ref", str(tmp_path / "ref.tsv"), "--hyp", str(tmp_path / "hyp.tsv"), "--unit", "word",
         "--resamples", "10", "--out", str(tmp_path / "report"), *spec_option)
    scores = _word_scores(tmp_path / "report")
    assert {word for utterance in scores["utterances"] for word in utterance["reference"].split()} == set(lexicon_words)
    assert scores["errors"] == 0


def test_a_phone_bundle_records_the_normaliser_of_its_g2p_spec() -> None:
    """Phone labels come from G2P: the bundle's text normaliser (for LM text and lexicon words) is the spec's."""
    from fieldasr.g2p import load_spec
    from fieldasr.train.recipe import label_text_normaliser

    assert label_text_normaliser(None, "phones", "mi") == load_spec("mi").normalization
    assert label_text_normaliser("default", "phones", "mi") == DEFAULT  # a recipe's own setting wins
    assert label_text_normaliser(None, "characters", "mi").steps == ("whitespace",)
