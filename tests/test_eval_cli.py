"""`fieldasr evaluate` end to end: Markdown, JSON, HTML and .trn files that sclite scores identically."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from click.testing import CliRunner

from conftest import require_program
from fieldasr.cli import cli
from fieldasr.eval.errors import EvaluationError


def _files(folder: Path) -> tuple[Path, Path, Path, Path]:
    reference = folder / "ref.txt"
    reference.write_text("u1\tThe dog, the CAT.\nu2\tŋa kʼa naïve\nu3\t\nu4\tmissing in hyp\n", encoding="utf-8")
    hypothesis_a = folder / "system_a.trn"
    hypothesis_a.write_text("the dog a cat (u1)\nŋa ka naive (u2)\nuh (u3)\nnot in ref (u9)\n", encoding="utf-8-sig")
    hypothesis_b = folder / "system_b.txt"
    hypothesis_b.write_text("u1 the dog the cat\nu2 ŋa kʼa naïve\nu3\nu4 missing in hyp\n", encoding="utf-16")
    log = folder / "log.csv"
    log.write_text("step,epoch,train_loss,valid_per\n1,0,4.0,0.9\n2,0,3.0,0.7\n3,1,2.5,0.6\n", encoding="utf-8")
    return reference, hypothesis_a, hypothesis_b, log


def test_evaluate_writes_every_output(tmp_path: Path) -> None:
    reference, hypothesis_a, hypothesis_b, log = _files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--ref", str(reference), "--hyp", str(hypothesis_a), "--hyp",
                                      str(hypothesis_b), "--training-log", str(log), "--resamples", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| system_a | WER |" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    word_a = report["systems"][0]["units"]["word"]
    # u1: the dog THE→a cat (1 S); u2: kʼa→ka, naïve→naive (2 S); u3: 1 insertion on an empty ref; u4: 3 deletions.
    assert (word_a["substitutions"], word_a["deletions"], word_a["insertions"], word_a["reference_length"]) == (3, 3, 1, 10)
    assert word_a["missing_in_hypothesis"] == ["u4"] and word_a["only_in_hypothesis"] == ["u9"]
    assert word_a["empty_reference_insertions"] == 1
    assert report["systems"][1]["units"]["word"]["rate"] == 0.0
    assert report["comparisons"][0]["system_a"] == "system_a"
    assert report["training_log"]["columns"] == ["train_loss", "valid_per"]
    assert (out / "report.md").read_text(encoding="utf-8") in result.output
    assert "data:image/png;base64," in (out / "report.html").read_text(encoding="utf-8")


def test_written_trn_files_score_the_same_in_sclite(tmp_path: Path) -> None:
    require_program("sctk")
    reference, hypothesis_a, _, _ = _files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--ref", str(reference), "--hyp", str(hypothesis_a), "--resamples", "50",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for unit in ("word", "char"):
        sclite = subprocess.run(
            ["sctk", "sclite", "-r", str(out / f"system_a.{unit}.ref.trn"), "trn", "-h", str(out / f"system_a.{unit}.hyp.trn"),
             "trn", "-i", "rm", "-e", "utf-8", "-o", "pralign", "stdout"], capture_output=True, text=True, check=True).stdout
        counts = [tuple(map(int, found)) for found in re.findall(r"Scores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)", sclite)]
        ours = report["systems"][0]["units"][unit]
        assert len(counts) == 4
        assert [sum(column) for column in zip(*counts)] == [ours["hits"], ours["substitutions"], ours["deletions"], ours["insertions"]]


def test_extra_hypotheses_can_be_an_error(tmp_path: Path) -> None:
    reference, hypothesis_a, _, _ = _files(tmp_path)
    result = CliRunner().invoke(cli, ["evaluate", "--ref", str(reference), "--hyp", str(hypothesis_a),
                                      "--extra-hypotheses", "error", "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, EvaluationError)
    assert "u9" in str(result.exception)


def test_case_warning_only_when_a_text_unit_keeps_case(tmp_path: Path) -> None:
    from fieldasr.eval.report import evaluate

    reference, hypothesis = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    reference.write_text("u1\tE tika ana\n", encoding="utf-8")
    hypothesis.write_text("u1\te tika ana\n", encoding="utf-8")
    lowercased = evaluate(reference, [hypothesis], units=("phone", "word"), resamples=10)
    assert not lowercased.warnings  # the word normaliser lower-cases both sides: nothing to warn about
    kept = evaluate(reference, [hypothesis], units=("phone", "word"), normaliser="nfc+whitespace", resamples=10)
    assert any("upper-case" in warning for warning in kept.warnings)
