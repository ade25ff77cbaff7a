"""Hand-written orthography rules: shipped rule specs against their examples, rule semantics, bad input."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from fieldasr.g2p import G2P, G2PError, RuleFileError, ipa_to_phones, load_spec, phonemize, phonemize_with_report
from fieldasr.g2p.rules import load_rules, parse_rules
from fieldasr.g2p.spec import available_specs, spec_from_mapping

RULE_SPECS = [name for name in available_specs() if "rules" in load_spec(name).backends]


def test_at_least_two_hand_written_orthographies() -> None:
    assert {"mi", "ain"} <= set(RULE_SPECS)


@pytest.mark.parametrize("name", RULE_SPECS)
def test_rule_spec_reproduces_its_published_examples(name: str) -> None:
    spec = load_spec(name)
    assert len(spec.examples) >= 20
    result = phonemize_with_report([word for word, _ in spec.examples], spec, strict=True)
    assert result.report.clean, result.report.summary()
    for (word, expected), phones in zip(spec.examples, result.phones):
        assert phones == ipa_to_phones(expected, spec.ipa), word


def test_longest_grapheme_wins_then_file_order_with_contexts() -> None:
    rules = parse_rules(
        """
        ::V:: = a e i o u
        n -> n
        ng -> ŋ
        s -> ʃ / _ i          % before i
        s -> z / {V} _ {V}    % between vowels
        s -> s
        h -> ∅ / _ #          % silent at the end of a word
        h -> h
        a -> a
        i -> i
        """
    )
    assert rules.transcribe("nga").ipa == "ŋa"
    assert rules.transcribe("asi").ipa == "aʃi"  # the earlier rule wins over intervocalic voicing
    assert rules.transcribe("asa").ipa == "aza"
    assert rules.transcribe("sah").ipa == "sa"
    assert rules.transcribe("hash").ipa == "has"
    assert rules.transcribe("xa").uncovered == ("x",)


def test_contexts_read_the_written_word_so_rules_do_not_feed_each_other() -> None:
    rules = parse_rules("a -> e / _ a\na -> a\n")
    assert rules.transcribe("aaa").ipa == "eea"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a => b", r"line 1: .*has no '->'"),
        ("a -> b\n -> c", r"line 2: the graphemes"),
        ("a -> b\nb -> c / a", r"line 2: the context .* exactly one '_'"),
        ("a -> b / {V} _", r"line 1: class \{V\} is used but not defined"),
        ("a -> b / ( _", r"line 1: .*not a valid regular expression"),
        ("::V:: = a\n::V:: = e\na -> a", r"line 2: class 'V' is defined twice"),
        ("% only a comment", r"no rules found"),
    ],
)
def test_malformed_rule_files_name_the_line_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.rules"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError, match=reason):
        load_rules(path)


def test_uncovered_characters_are_counted_with_examples_and_processing_continues() -> None:
    result = phonemize_with_report(["Kia ora Xavier", "xoxo kai"], "mi")
    report = result.report
    assert report.uncovered_characters["x"] == 3  # x in xavier, twice in xoxo
    assert set(report.uncovered_examples["x"]) == {"xavier", "xoxo"}
    assert report.uncovered_characters["v"] == 1
    assert result.phones[1][-3:] == ("k", "a", "i")
    assert "no rule covers 'x'" in report.summary()


def test_empty_output_counts_or_raises_in_strict_mode() -> None:
    result = phonemize_with_report(["kia 123 ora"], "mi")
    assert result.report.empty_words == {"123": 1}
    assert result.phones[0] == ("k", "i", "a", "o", "ɾ", "a")
    with pytest.raises(G2PError, match="123"):
        phonemize(["kia 123 ora"], "mi", strict=True)


def test_normalisation_handles_case_punctuation_and_okina_variants(tmp_path: Path) -> None:
    (tmp_path / "haw.rules").write_text("' -> ʔ\nā -> aː\nō -> oː\na -> a\nk -> k\ni -> i\nh -> h\no -> o\nn -> n\nl -> l\nw -> w\ne -> e\n", encoding="utf-8")
    spec = spec_from_mapping({"language": "haw", "backend": "rules", "rules": "haw.rules"}, tmp_path / "haw.yaml")
    g2p = G2P(spec)
    variants = ["Hawaiʻi ʻōlelo", "hawai'i 'ōlelo", "HAWAI’I ‘ŌLELO!", unicodedata.normalize("NFD", "hawaiʻi ʻōlelo")]
    results = [g2p.phonemize(text) for text in variants]
    assert len({result.phones for result in results}) == 1
    assert all(result.report.clean for result in results)
    assert results[0].phones[0][-6:] == ("ʔ", "oː", "l", "e", "l", "o")
    assert g2p.phonemize("kahakai, 'aina.").phones[0] == ("k", "a", "h", "a", "k", "a", "i", "ʔ", "a", "i", "n", "a")
