"""Continued pretraining on the common Trainer: kill and resume, the decaying schedule, a checkpoint CTC can load."""
from __future__ import annotations

import csv
import math

import pytest
import torch
from train_data import ENGLISH, spoken_corpus
from transformers import Wav2Vec2ForCTC

import fieldasr.ssl.pretrain as pretrain_module
from fieldasr.models import Wav2Vec2CTC
from fieldasr.ssl.pretrain import continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingError, PretrainingOptions, Wav2Vec2PretrainingTask, collate_audio

torch.set_num_threads(1)
TINY_CONFIG = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "conv_dim": [32] * 7,
    "num_codevectors_per_group": 16, "num_codevector_groups": 2, "codevector_dim": 32, "proj_codevector_dim": 32,
    "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2, "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
}
TINY_OPTIONS = PretrainingOptions(num_negatives=20, mask_probability=0.5, mask_length=5)
# One utterance per batch (each lasts 1-2.5 s): 8 updates per epoch, so 6 steps stop mid-epoch.
RUN = {"options": TINY_OPTIONS, "max_steps": 6, "warmup_steps": 2, "lr": 1e-3, "max_batch_seconds": 3.0,
       "checkpoint_interval_steps": 2, "log_interval_steps": 1, "progress_bar": False}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return spoken_corpus(tmp_path_factory.mktemp("ssl_pretrain"), {"en": ENGLISH})


class Killed(Exception):
    pass


def record_batches(monkeypatch) -> list[tuple[int, ...]]:
    """Sample counts of each collated batch: which utterances were trained on, in which order."""
    seen: list[tuple[int, ...]] = []
    collate = collate_audio

    def recording_collate(waveforms, **options):
        seen.append(tuple(len(wave) for wave in waveforms))
        return collate(waveforms, **options)

    monkeypatch.setattr(pretrain_module, "collate_audio", recording_collate)
    return seen


def train_losses(log) -> dict[int, float]:
    with open(log, newline="") as stream:
        return {int(row["step"]): float(row["value"]) for row in csv.DictReader(stream)
                if row["stage"] == "train" and row["name"] == "loss"}


def test_killed_run_resumes_to_the_same_step_count_and_batch_order(corpus, tmp_path, monkeypatch):
    uninterrupted_batches = record_batches(monkeypatch)
    uninterrupted = continue_pretraining(TINY_CONFIG, corpus, tmp_path / "whole", **RUN)
    assert uninterrupted.steps == uninterrupted.steps_this_run == 6

    killed_batches = record_batches(monkeypatch)
    original_step = Wav2Vec2PretrainingTask.set_training_step

    def die_at_step_four(task, step):
        if step == 4:
            raise Killed
        original_step(task, step)

    monkeypatch.setattr(Wav2Vec2PretrainingTask, "set_training_step", die_at_step_four)
    with pytest.raises(Killed):
        continue_pretraining(TINY_CONFIG, corpus, tmp_path / "killed", **RUN)
    assert not (tmp_path / "killed/checkpoint").exists()
    monkeypatch.setattr(Wav2Vec2PretrainingTask, "set_training_step", original_step)
    resumed_batches = record_batches(monkeypatch)
    resumed = continue_pretraining(TINY_CONFIG, corpus, tmp_path / "killed", **RUN)

    assert resumed.steps == uninterrupted.steps == 6
    assert resumed.steps_this_run == 2  # the checkpoint after step 4 is where it went on
    assert killed_batches[:4] + resumed_batches == uninterrupted_batches
    assert sorted(train_losses(resumed.log)) == [1, 2, 3, 4, 5, 6]  # each update logged once over both runs
    again = continue_pretraining(TINY_CONFIG, corpus, tmp_path / "killed", **RUN)
    assert again.steps == 6 and again.steps_this_run == 0 and math.isnan(again.first_loss)


def test_warmup_then_decay_and_the_logged_statistics(corpus, tmp_path):
    summary = continue_pretraining(TINY_CONFIG, corpus, tmp_path / "exp", **RUN)
    with open(summary.log, newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["stage"] == "train"]
    lr = {int(row["step"]): float(row["value"]) for row in rows if row["name"] == "lr"}
    # Logged after each update: warm-up to 1e-3 over 2 steps, then linear decay reaching 0 at step 6.
    assert lr[1] == pytest.approx(1e-3) and lr[6] == pytest.approx(0.0, abs=1e-12)
    assert lr[3] > lr[4] > lr[5] > lr[6]
    names = {row["name"] for row in rows}
    assert {"contrastive_loss", "diversity_loss", "codebook_perplexity", "gradient_norm", "masked_fraction",
            "gumbel_temperature"} <= names
    assert all(math.isfinite(float(row["value"])) for row in rows)


def test_checkpoint_loads_for_ctc_fine_tuning(corpus, tmp_path):
    summary = continue_pretraining(TINY_CONFIG, corpus, tmp_path / "exp", **{**RUN, "max_steps": 3})
    pretrained = torch.load(tmp_path / "exp/checkpoints" / next((tmp_path / "exp/checkpoints").iterdir()).name / "task.ckpt")
    hf = Wav2Vec2ForCTC.from_pretrained(str(summary.checkpoint))
    key = "wav2vec2.encoder.layers.0.attention.q_proj.weight"
    assert torch.equal(hf.state_dict()[key], pretrained[f"model.{key}"])
    ours = Wav2Vec2CTC.from_pretrained(summary.checkpoint, vocab_size=7)
    assert torch.equal(ours.encoder.state_dict()[key.removeprefix("wav2vec2.")], pretrained[f"model.{key}"])


def test_segments_too_short_for_masking_are_counted_and_all_short_refused(corpus, tmp_path):
    short = type(corpus)(corpus.recordings, tuple(segment.with_(duration=0.05) for segment in corpus.segments))
    with pytest.raises(PretrainingError, match="long enough"):
        continue_pretraining(TINY_CONFIG, short, tmp_path / "short", **RUN)
    mixed = type(corpus)(corpus.recordings, short.segments[:2] + corpus.segments[2:])
    summary = continue_pretraining(TINY_CONFIG, mixed, tmp_path / "mixed", **{**RUN, "max_steps": 2, "warmup_steps": 1})
    assert summary.skipped_short_segments == 2 and summary.target_segments == 6
