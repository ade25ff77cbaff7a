"""The demo's quick path end to end: every stage runs, the outputs exist and are well-formed, a rerun reuses them.

Not tested here: that PER is good (the quick path trains for a handful of steps); `make demo` shows that.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pympi
import pytest
import torch
import yaml
from safetensors.torch import load_file

from conftest import require_program
from fieldasr.audio import audio_info
from fieldasr.data import Corpus
from fieldasr_examples.demo import QUICK, DemoSummary, run_demo
from fieldasr_examples.demo.__main__ import main
from fieldasr_examples.demo.training import DemoError

STAGES = 10


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary, DemoSummary]:
    require_program("espeak-ng")
    threads = torch.get_num_threads()
    output = tmp_path_factory.mktemp("demo")
    try:
        first = run_demo(output, QUICK)
        second = run_demo(output, QUICK)
    finally:
        torch.set_num_threads(threads)
    return output, first, second


def test_summary_is_a_frozen_record_of_every_stage(demo_runs):
    output, summary, _ = demo_runs
    assert isinstance(summary, DemoSummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.per_after_transfer = 0.0  # type: ignore[misc]
    assert len(summary.stages) == STAGES
    assert all(stage.seconds >= 0 and not stage.skipped for stage in summary.stages)
    for rate in (summary.per_before_transfer, summary.per_after_transfer, summary.wer_after_transfer, summary.per_without_ssl,
                 summary.per_without_ssl_matched_steps):
        assert isinstance(rate, float) and rate >= 0
    missing = {what: path for what, path in summary.outputs.items() if not Path(path).exists()}
    assert not missing
    written = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert written["per_after_transfer"] == pytest.approx(summary.per_after_transfer)
    assert [stage["name"] for stage in written["stages"]] == [stage.name for stage in summary.stages]
    table = summary.table()
    assert all(stage.name in table for stage in summary.stages) and str(summary.outputs["evaluation report"]) in table


def test_corpus_splits_keep_test_texts_out_of_training(demo_runs):
    output, _, _ = demo_runs
    corpus = output / "corpus"
    test_texts = {s.text for s in Corpus.load(corpus / "target" / "test").segments}
    long_texts = {s.text for s in Corpus.load(corpus / "long").segments}
    train = Corpus.load(corpus / "target" / "train").segments
    assert test_texts and long_texts <= test_texts
    assert not test_texts & {s.text for s in train}
    assert all("|" in s.phones for s in train if len(s.text.split()) > 1)  # word boundaries are labels
    assert all(s.text is None and s.phones is None for s in Corpus.load(corpus / "target" / "unlabelled").segments)
    assert {s.language for s in Corpus.load(corpus / "seen" / "train").segments} == set(QUICK.seen_languages)


def test_long_recording_is_transcribed_into_a_readable_eaf(demo_runs):
    output, summary, _ = demo_runs
    eaf_path = summary.outputs["ELAN transcription"]
    wav = output / "corpus" / "long" / f"{QUICK.target_language}-long.wav"
    eaf = pympi.Elan.Eaf(str(eaf_path))
    assert {"fieldasr", "fieldasr-words", "fieldasr-lm"} <= set(eaf.get_tier_names())
    duration_ms = audio_info(wav).duration * 1000
    annotations = eaf.get_annotation_data_for_tier("fieldasr")
    assert annotations
    assert all(0 <= start < end <= duration_ms + 1 for start, end, *_ in annotations)
    assert Path(eaf.media_descriptors[0]["MEDIA_URL"].removeprefix("file://")).name == wav.name


def test_report_has_both_systems_and_the_training_curves(demo_runs):
    _, summary, _ = demo_runs
    html = Path(summary.outputs["evaluation report"]).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "multilingual-zero-shot" in html and "transferred" in html and "transferred-without-ssl-matched-steps" in html
    assert "Training log" in html or "data:image/png" in html


def test_the_chain_passes_the_ssl_encoder_on_and_the_control_gets_its_steps(demo_runs):
    output, _, _ = demo_runs
    experiments = output / "exp"
    with_ssl = yaml.safe_load((experiments / "multilingual" / "config.yaml").read_text(encoding="utf-8"))
    same, matched = (yaml.safe_load((experiments / name / "config.yaml").read_text(encoding="utf-8"))
                     for name in ("multilingual-without-ssl", "multilingual-without-ssl-matched-steps"))
    assert Path(with_ssl["model"]["init_from"]) == experiments / "ssl-target" / "checkpoint"
    assert same["model"]["init_from"] is None and matched["model"]["init_from"] is None
    assert same["trainer"]["max_steps"] == with_ssl["trainer"]["max_steps"] == QUICK.multilingual_steps
    assert matched["trainer"]["max_steps"] == QUICK.ssl_steps + QUICK.continued_ssl_steps + QUICK.multilingual_steps
    seen, target = (load_file(experiments / name / "checkpoint" / "model.safetensors") for name in ("ssl-seen", "ssl-target"))
    assert seen.keys() == target.keys()  # continued from the seen-language run: same model, weights moved on
    assert any(not torch.equal(seen[key], target[key]) for key in seen)


def test_rerun_reuses_every_finished_stage(demo_runs):
    _, first, second = demo_runs
    assert [stage.skipped for stage in second.stages[:9]] == [True] * 9
    assert second.per_after_transfer == first.per_after_transfer
    assert second.per_before_transfer == first.per_before_transfer


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--output" in text and "--quick" in text and "--seed" in text


def test_a_run_with_other_settings_needs_another_folder(demo_runs):
    output, _, _ = demo_runs
    with pytest.raises(DemoError, match="other settings"):
        run_demo(output, QUICK.with_(seed=QUICK.seed + 1))
