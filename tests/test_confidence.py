"""Confidence per transcribed segment: a number in [0, 1] from the decoder's hypothesis, written as an ELAN
dependent tier, a TextGrid tier or a JSON tier when asked for, and nowhere when not."""
from __future__ import annotations

import json
import shutil
import warnings

import pytest
import torch
from test_elan import FIXTURE, canonical_parts
from test_transcribe_bundle import bundle_and_audio, run  # noqa: F401  (fixture)

from fieldasr.data.eaf_text import EafText
from fieldasr.data.elan_provenance import summarise_tiers
from fieldasr.decode import hypothesis_confidence

torch.set_num_threads(1)


def peaked(labels: list[int], vocabulary_size: int = 5, sharpness: float = 8.0) -> torch.Tensor:
    """Log-probabilities that favour `labels` frame by frame, by `sharpness` nats."""
    return torch.nn.functional.one_hot(torch.tensor(labels), vocabulary_size).float().mul(sharpness).log_softmax(-1)


def test_confidence_is_high_for_the_emitted_labels_and_low_for_others():
    emission = peaked([1, 0, 2, 2, 0, 3])
    sure = hypothesis_confidence(emission, [1, 2, 3])
    assert 0.9 < sure <= 1.0
    assert hypothesis_confidence(emission, [3, 2, 1]) < 0.2 * sure
    assert hypothesis_confidence(peaked([1, 0, 2, 2, 0, 3], sharpness=1.0), [1, 2, 3]) < sure  # a flatter model is less sure


def test_confidence_does_not_rise_with_confident_silence():
    """Per label, not per frame: a long blank tail the model is sure of does not make an uncertain label look sure."""
    doubtful = peaked([1, 0, 2, 0, 3])
    doubtful[2] = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0]).log_softmax(-1)  # label 2 and label 3 equally likely here
    short = hypothesis_confidence(doubtful, [1, 2, 3])
    padded = torch.cat([doubtful, peaked([0] * 200)])
    assert 0.9 * short < hypothesis_confidence(padded, [1, 2, 3]) <= short  # per frame it would rise to about 0.997
    assert short < 0.8


def test_confidence_of_an_empty_and_of_an_impossible_hypothesis():
    assert 0.9 < hypothesis_confidence(peaked([0, 0, 0]), []) <= 1.0
    assert hypothesis_confidence(peaked([1, 0, 2, 2]), []) < 0.1
    assert hypothesis_confidence(peaked([1, 2]), [1, 2, 3]) == 0.0  # three labels cannot fit into two frames
    assert hypothesis_confidence(torch.zeros(0, 5), []) == 0.0


def pympi_eaf(path):
    import pympi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pympi.Elan.Eaf(str(path))


def test_eaf_gets_a_confidence_tier_dependent_on_the_transcription_when_asked(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path / "plain"), "--precision", "fp32")
    assert "fieldasr-confidence" not in pympi_eaf(tmp_path / "plain" / "session.eaf").get_tier_names()

    run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path), "--precision", "fp32", "--confidence")
    eaf_path = tmp_path / "session.eaf"
    eaf = pympi_eaf(eaf_path)
    segments = sorted(eaf.get_annotation_data_for_tier("fieldasr"))
    confidences = sorted(eaf.get_ref_annotation_data_for_tier("fieldasr-confidence"))
    assert eaf.get_parameters_for_tier("fieldasr-confidence")["PARENT_REF"] == "fieldasr"
    assert eaf.linguistic_types[eaf.get_parameters_for_tier("fieldasr-confidence")["LINGUISTIC_TYPE_REF"]]["CONSTRAINTS"] == "Symbolic_Association"
    assert [(start, end) for start, end, *_ in confidences] == [(start, end) for start, end, _ in segments]
    assert len(segments) == 2 and all(0.0 <= float(value) <= 1.0 for _, _, value, _ in confidences)
    assert {summary.name: summary.provenance for summary in summarise_tiers(EafText.read(eaf_path))} == {
        "fieldasr": "unedited", "fieldasr-words": "unedited", "fieldasr-confidence": "unedited"}
    # fieldasr's own output, hierarchy included, is replaced on --overwrite
    assert "1 written" in run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path), "--precision", "fp32",
                              "--confidence", "--overwrite")


def test_textgrid_and_json_get_a_confidence_tier_of_the_same_intervals(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path), "--format", "textgrid", "--confidence", "--precision", "fp32")
    run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path), "--format", "json", "--confidence", "--precision", "fp32")
    run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path / "plain"), "--format", "json", "--precision", "fp32")
    from praatio import textgrid

    segments = json.loads((tmp_path / "session.json").read_text(encoding="utf-8"))["tiers"]
    times = [(item["start"], item["end"]) for item in segments["fieldasr"]]
    grid = textgrid.openTextgrid(str(tmp_path / "session.TextGrid"), includeEmptyIntervals=False)
    for confidences in ([(item["start"], item["end"], item["text"]) for item in segments["fieldasr-confidence"]],
                        grid.getTier("fieldasr-confidence").entries):
        assert [value for entry in confidences for value in entry[:2]] == pytest.approx([value for pair in times for value in pair], abs=1e-6)
        assert len(times) == 2 and all(0.0 <= float(entry[2]) <= 1.0 for entry in confidences)
    plain = json.loads((tmp_path / "plain" / "session.json").read_text(encoding="utf-8"))["tiers"]
    assert set(plain) == {"fieldasr", "fieldasr-words"}


def test_into_an_elan_file_adds_the_dependent_tier_and_keeps_every_other_tier(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    shutil.copy(audio, tmp_path / "session.wav")
    eaf_path = shutil.copy(FIXTURE, tmp_path / "session.eaf")
    before = canonical_parts(eaf_path)
    run("transcribe", str(bundle), str(tmp_path / "session.wav"), "--into", str(eaf_path), "--tier", "asr", "--confidence",
        "--precision", "fp32")
    eaf = pympi_eaf(eaf_path)
    assert eaf.get_parameters_for_tier("asr-confidence")["PARENT_REF"] == "asr"
    assert len(eaf.get_ref_annotation_data_for_tier("asr-confidence")) == len(eaf.get_annotation_data_for_tier("asr"))
    after = canonical_parts(eaf_path)
    old_tiers = [tier for tier in after["TIER"] if 'TIER_ID="asr' not in tier]
    assert old_tiers == before["TIER"]
    # a second run over fieldasr's unedited tiers replaces the whole fieldasr hierarchy
    run("transcribe", str(bundle), str(tmp_path / "session.wav"), "--into", str(eaf_path), "--tier", "asr", "--confidence",
        "--precision", "fp32", "--overwrite")
    assert [tier for tier in canonical_parts(eaf_path)["TIER"] if 'TIER_ID="asr' not in tier] == before["TIER"]
