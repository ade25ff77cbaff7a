"""Self-supervised (wav2vec 2.0) pretraining on the common Trainer: target audio (plus replay) → a checkpoint.

`continue_pretraining` builds the task (Hugging Face wav2vec 2.0, or the filterbank Conformer for a source with
`architecture: conformer`), the replay-mixing batch sampler and the Trainer with warm-up + linear decay, trains
until `max_steps` (resuming from the newest checkpoint in `out_dir` after a kill) and writes `out_dir/checkpoint`:
a Hugging Face folder that `Wav2Vec2ForCTC` and `fieldasr.models.Wav2Vec2CTC.from_pretrained` load, or a Conformer
SSL folder that the CTC recipes' `model.init_from` reads. Starting from a checkpoint in a new `out_dir` is
continued pretraining: new optimizer state, the warm-up again.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Wav2Vec2Config

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.data import Corpus, Segment
from fieldasr.ssl.audio_dataset import SegmentAudioDataset
from fieldasr.models.conformer_checkpoint import is_conformer_checkpoint
from fieldasr.ssl.conformer_pretraining import ConformerPretrainingTask
from fieldasr.ssl.conformer_source import CONFORMER, ConformerSource, conformer_model, is_conformer_source
from fieldasr.ssl.guard import GuardWarning
from fieldasr.ssl.pretraining_task import (
    ContrastivePretrainingTask,
    PretrainingError,
    PretrainingOptions,
    Wav2Vec2PretrainingTask,
    collate_audio,
    load_pretraining_model,
    pretraining_input_policy,
)
from fieldasr.ssl.replay import ReplayBatchSampler
from fieldasr.train.trainer import Trainer, TrainerOptions

logger = logging.getLogger(__name__)
CHECKPOINT_FOLDER = "checkpoint"
# A ~0.3 M-parameter wav2vec 2.0 (20 ms frames) that pretrains in CPU minutes: the demo's and the benchmarks'.
SMALL_PRETRAINING_ENCODER: dict[str, Any] = {
    "hidden_size": 96, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 192,
    "conv_dim": [64] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "num_codevectors_per_group": 64, "num_codevector_groups": 2, "codevector_dim": 64, "proj_codevector_dim": 64,
    "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4, "feat_extract_norm": "layer",
    "do_stable_layer_norm": True, "hidden_dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "feat_proj_dropout": 0.0, "layerdrop": 0.0, "mask_time_prob": 0.05,
}


@dataclass(frozen=True)
class PretrainingSummary:
    steps: int  # optimizer steps in total, over all resumed runs
    steps_this_run: int
    first_loss: float  # loss per masked frame of this run's first update (nan when it had none)
    final_loss: float  # mean over this run's last 10 updates
    checkpoint: Path  # Hugging Face folder (Wav2Vec2ForCTC.from_pretrained loads it) or Conformer SSL folder (model.init_from)
    log: Path  # long-format CSV of the logged statistics
    target_segments: int
    skipped_short_segments: int  # too short for span masking, left out
    warnings: tuple[GuardWarning, ...]  # raised by the GradientGuard in this run


def as_corpus(data: Corpus | str | Path) -> Corpus:
    return data if isinstance(data, Corpus) else Corpus.load(data)


def pretraining_source(path: Path) -> Path | dict[str, Any]:
    """What a user names as the model to pretrain: a Hugging Face checkpoint folder as is, a Conformer SSL one to
    continue from; a JSON file is read as the settings of a model built from scratch (wav2vec 2.0 config settings,
    or a Conformer source: `{"architecture": "conformer", ...}`)."""
    if path.is_dir():
        return {"architecture": CONFORMER, "init_from": str(path)} if is_conformer_checkpoint(path) else path
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PretrainingError(f"{path}: not a checkpoint folder nor a JSON file of wav2vec 2.0 settings ({error}).") from error
    if not isinstance(settings, dict):
        raise PretrainingError(f"{path}: the JSON file must hold an object of wav2vec 2.0 config settings.")
    return settings


def load_source_model(source: str | Path | Wav2Vec2Config | Mapping[str, Any]):
    """A local checkpoint folder to continue from, or a config (object or dict) to pretrain from scratch."""
    if isinstance(source, Mapping):
        source = Wav2Vec2Config(**source)
    return load_pretraining_model(source)


def pretraining_task(source: str | Path | Wav2Vec2Config | Mapping[str, Any] | ConformerSource, options: PretrainingOptions,
                     out_dir: Path) -> ContrastivePretrainingTask:
    """The task for `source`: a Conformer source, or a Hugging Face checkpoint folder / wav2vec 2.0 config."""
    if is_conformer_source(source):
        return ConformerPretrainingTask(conformer_model(source, out_dir), options)  # type: ignore[arg-type]
    model = load_source_model(source)  # type: ignore[arg-type]
    inputs = pretraining_input_policy(source if isinstance(source, (str, Path)) else model.config)
    return Wav2Vec2PretrainingTask(model, options, inputs=inputs)


def long_enough(segments: tuple[Segment, ...], task: ContrastivePretrainingTask, options: PretrainingOptions,
                name: str) -> tuple[list[Segment], int]:
    """Segments with enough feature frames for span masking; the others are counted and reported."""
    needed = options.mask_length + 1
    samples = torch.tensor([round(segment.duration * TARGET_SAMPLING_RATE) for segment in segments])
    frames = task.frame_lengths(samples).tolist() if len(segments) else []
    kept = [segment for segment, count in zip(segments, frames) if count >= needed]
    skipped = len(segments) - len(kept)
    if skipped:
        logger.warning("%s: left out %d of %d segments shorter than the %d feature frames span masking needs.",
                       name, skipped, len(segments), needed)
    if not kept:
        raise PretrainingError(f"{name}: no segment is long enough for span masking (need {needed} frames); "
                               "chunk the recordings with `fieldasr vad-chunk` (2-20 s chunks).")
    return kept, skipped


def checked_warmup(max_steps: int, warmup_steps: int | None) -> int:
    """Warm-up length: as given, or a tenth of the run; it must end before the run does."""
    if max_steps < 1:
        raise PretrainingError(f"max_steps must be at least 1, got {max_steps}.")
    warmup = max(1, max_steps // 10) if warmup_steps is None else warmup_steps
    if not 0 <= warmup < max_steps:
        raise PretrainingError(f"warmup_steps ({warmup}) must be between 0 and max_steps ({max_steps}), exclusive of the latter.")
    return warmup


def pretraining_data(
    target: Corpus | str | Path, replay: Corpus | str | Path | None, replay_fraction: float, task: ContrastivePretrainingTask,
    options: PretrainingOptions, max_batch_seconds: float, seed: int,
) -> tuple[SegmentAudioDataset, ReplayBatchSampler, int]:
    """The audio dataset, its replay-mixing batch sampler, and how many segments were too short to use."""
    target_corpus = as_corpus(target)
    target_segments, skipped = long_enough(target_corpus.segments, task, options, "target")
    replay_corpus = as_corpus(replay) if replay is not None and replay_fraction > 0 else None
    replay_segments: list[Segment] = []
    if replay_corpus is not None:
        replay_segments, replay_skipped = long_enough(replay_corpus.segments, task, options, "replay")
        skipped += replay_skipped
    sampler = ReplayBatchSampler(target_segments, replay_segments, replay_fraction, max_batch_seconds, seed=seed)
    recordings = {**(replay_corpus.recordings if replay_corpus is not None else {}), **target_corpus.recordings}
    return SegmentAudioDataset(sampler.segments, recordings), sampler, skipped


def restore_finished_run(trainer: Trainer, max_steps: int) -> bool:
    """Load the weights of a run that already reached `max_steps` (training on would log an empty epoch)."""
    checkpointer = trainer.brain.checkpointer
    newest = checkpointer.find_checkpoint()
    if newest is None or newest.meta.get("optimizer_step", 0) < max_steps:
        return False
    checkpointer.load_checkpoint(newest)
    return True


def continue_pretraining(
    source: str | Path | Wav2Vec2Config | Mapping[str, Any] | ConformerSource,
    target: Corpus | str | Path,
    out_dir: str | Path,
    *,
    replay: Corpus | str | Path | None = None,
    replay_fraction: float = 0.0,
    options: PretrainingOptions = PretrainingOptions(),
    max_steps: int,
    lr: float = 5e-5,
    warmup_steps: int | None = None,
    max_batch_seconds: float = 60.0,
    clip_norm: float = 5.0,
    grad_accumulation: int = 1,
    precision: str = "fp32",
    device: str = "cpu",
    checkpoint_interval_minutes: float = 15.0,
    checkpoint_interval_steps: int = 0,
    log_interval_steps: int = 10,
    seed: int = 0,
    progress_bar: bool = True,
) -> PretrainingSummary:
    """Self-supervised pretraining of `source` on `target` audio (text, if any, is ignored) for `max_steps` updates.

    `warmup_steps` defaults to a tenth of `max_steps`. Rerunning with the same `out_dir` resumes where a killed
    run stopped; a finished run only rewrites the checkpoint.
    """
    warmup = checked_warmup(max_steps, warmup_steps)
    if replay_fraction > 0 and replay is None:
        raise PretrainingError(f"replay fraction {replay_fraction} asked but no replay corpus given; pass replay= or set it to 0.")
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    np.random.seed(seed)  # transformers draws masks and distractors with numpy
    task = pretraining_task(source, options, out_dir)
    dataset, sampler, skipped = pretraining_data(target, replay, replay_fraction, task, options, max_batch_seconds, seed)
    trainer_options = TrainerOptions(
        experiment_dir=out_dir, lr=lr, warmup_steps=warmup, lr_decay="linear", max_epochs=10**9, max_steps=max_steps,
        grad_accumulation=grad_accumulation, clip_norm=clip_norm, precision=precision, device=device,
        checkpoint_interval_minutes=checkpoint_interval_minutes, checkpoint_interval_steps=checkpoint_interval_steps,
        log_interval_steps=log_interval_steps, seed=seed, progress_bar=progress_bar,
    )
    trainer = Trainer(task, trainer_options, dataset, partial(collate_audio, normalise=task.normalise_input), batch_sampler=sampler)
    losses: tuple[float, ...] = ()
    if not restore_finished_run(trainer, max_steps):
        losses = trainer.fit().step_losses
    checkpoint = task.save_checkpoint(out_dir / CHECKPOINT_FOLDER)
    return PretrainingSummary(
        steps=trainer.brain.optimizer_step,
        steps_this_run=len(losses),
        first_loss=losses[0] if losses else math.nan,
        final_loss=float(np.mean(losses[-10:])) if losses else math.nan,
        checkpoint=checkpoint,
        log=out_dir / "log.csv",
        target_segments=len(sampler.target),
        skipped_short_segments=skipped,
        warnings=tuple(task.guard.warnings),
    )
