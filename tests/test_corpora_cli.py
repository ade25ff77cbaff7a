"""The corpus commands (`fieldasr-examples`) through click: languages listed, real speech imported with a summary."""
from __future__ import annotations

from click.testing import CliRunner

from fieldasr.data import Corpus
from fieldasr_examples.cli import cli


def test_synth_lists_at_least_twelve_languages():
    result = CliRunner().invoke(cli, ["synth", "--list-languages"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert len(rows) >= 12
    assert ["nld", "nl", "Dutch"] in rows


def test_import_real_pocketsphinx_writes_manifests(tmp_path):
    result = CliRunner().invoke(cli, ["import-real", "pocketsphinx", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "10 segments" in result.output
    assert len(Corpus.load(tmp_path).segments) == 10


def test_synth_writes_a_corpus(tmp_path):
    arguments = ["synth", "--languages", "tur", "--utterances-per-language", "2", "--speakers-per-language", "1", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    Corpus.load(tmp_path).validate(require_text=True)
    assert "2 utterances" in result.output
