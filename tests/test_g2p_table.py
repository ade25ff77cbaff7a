"""Elpis letter-to-sound tables: read as Elpis reads them, converted to rule specs, X-SAMPA turned into IPA
with panphon's table, and every symbol that is not IPA listed with its lines.

The fixture is the Abui table of CoEDL's toy corpora (abui-recordings-elan/letter_to_sound.txt), which mixes
IPA (ʔ ŋ) and SAMPA-like symbols (C J I E O, A: E: O:)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.g2p import get_g2p, load_spec, phonemize_with_report
from fieldasr.g2p.table import TableError, read_table, xsampa_to_ipa

ABUI = Path(__file__).parent / "fixtures" / "abui_letter_to_sound.txt"


def test_xsampa_comes_from_panphons_table():
    assert {symbol: xsampa_to_ipa(symbol)[0] for symbol in ["I", "E", "O", "C", "J", "A:", "tS", "@", "{"]} == {
        "I": "ɪ", "E": "ɛ", "O": "ɔ", "C": "ç", "J": "ɲ", "A:": "ɑː", "tS": "t͡ʃ", "@": "ə", "{": "æ"}
    assert xsampa_to_ipa("ñ") is None and xsampa_to_ipa("Q2")[0] == "ɒø"


def test_without_xsampa_the_non_ipa_symbols_are_listed_with_their_lines():
    table = read_table(ABUI)
    assert len(table.rules) == 34 and not table.skipped and not table.unknown
    assert [(symbol.symbol, symbol.lines, symbol.ipa) for symbol in table.not_ipa] == [
        ("C", (9,), "ç"), ("J", (10,), "ɲ"), ("I", (26,), "ɪ"), ("E", (30,), "ɛ"), ("O", (32,), "ɔ"),
        ("A:", (35,), "ɑː"), ("E:", (36,), "ɛː"), ("O:", (37,), "ɔː")]
    assert "'I' (line 26): X-SAMPA for ɪ" in table.summary()


def test_table_as_a_spec_reads_words_as_elpis_does():
    # Longest graphemes first (ng before n, ee before e), words lowercased; symbols kept as written.
    result = phonemize_with_report(["Hen ayoku néng"], load_spec(ABUI))
    assert result.phones[0] == ("h", "E", "n", "a", "j", "O", "k", "u", "n", "Eː", "ŋ")
    assert dict(result.report.unknown_phones) == {"E": 1, "O": 1, "Eː": 1}  # not mappable by features: what --xsampa fixes


def test_import_with_xsampa_writes_a_rules_spec_of_ipa(tmp_path):
    out = tmp_path / "g2p" / "abz.yaml"
    result = CliRunner().invoke(cli, ["g2p-import-table", str(ABUI), "--language", "abz", "--out", str(out), "--xsampa"])
    assert result.exit_code == 0, result.output
    assert "converted 'J' (line 10): X-SAMPA for ɲ" in result.stderr
    spec = load_spec(out)
    assert (spec.language, spec.backends, spec.rules_path) == ("abz", ("rules",), out.with_suffix(".rules"))
    phones = get_g2p(spec).phonemize(["Hen ayoku néng ciʔ"])
    assert phones.phones[0] == ("h", "ɛ", "n", "a", "j", "ɔ", "k", "u", "n", "ɛː", "ŋ", "ç", "ɪ", "ʔ")
    assert not phones.report.unknown_phones
    again = CliRunner().invoke(cli, ["g2p-import-table", str(ABUI), "--language", "abz", "--out", str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)


def test_unusable_lines_and_unknown_symbols_are_reported_and_strict_refuses(tmp_path):
    table_path = tmp_path / "l2s.txt"
    table_path.write_text("# test\nng ŋ\nn n\nNg ŋ\nx k s\nq ñ\nn m\nkw\nh% h\ntsh tS\n", encoding="utf-8")
    table = read_table(table_path, xsampa=True)
    reasons = {line.line: line.reason for line in table.skipped}
    assert set(reasons) == {4, 7, 8, 9}
    assert "lower case" in reasons[4] and "already mapped on line 3" in reasons[7] and "one field only" in reasons[8]
    assert [(symbol.symbol, symbol.lines) for symbol in table.unknown] == [("ñ", (6,))]
    assert [rule.ipa for rule in table.rules] == ["ŋ", "n", "k s", "ñ", "t͡ʃ"]
    with pytest.raises(TableError, match=r"l2s.txt: .*'ñ' \(line 6\): neither IPA nor X-SAMPA"):
        CliRunner().invoke(cli, ["g2p-import-table", str(table_path), "--language", "x", "--out", str(tmp_path / "x.yaml"),
                                 "--xsampa", "--strict"], catch_exceptions=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["l2s.txt"]


def test_a_text_file_that_is_not_a_table_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(TableError, match="no `GRAPHEMES SOUND` line"):
        load_spec(path)
    shutil.copy(ABUI, tmp_path / "table.l2s")
    assert load_spec(tmp_path / "table.l2s").backends == ("rules",)
