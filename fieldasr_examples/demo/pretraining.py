"""Stage 2 of the demo: self-supervised wav2vec 2.0 pretraining on the untranscribed target audio.

A tiny wav2vec 2.0 (about 0.3 M parameters, the encoder of benchmarks/continued_pretraining.py) learns from
the target language's unlabelled recordings, with seen-language audio replayed into each batch, through
`fieldasr.ssl.pretrain.continue_pretraining`. The demo shows the loss going down and leaves a Hugging Face
checkpoint (`exp/ssl/checkpoint`) that `recipes/ctc` can fine-tune; the phone models of the later stages
are Conformers on filterbanks, which learn far faster on a CPU than a wav2vec 2.0 this small.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldasr.ssl.pretrain import CHECKPOINT_FOLDER, SMALL_PRETRAINING_ENCODER, continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingOptions, gumbel_decay_reaching_minimum
from fieldasr_examples.demo.settings import DemoSettings

REPLAY_FRACTION = 0.3  # share of each batch drawn from the seen languages, against forgetting them


@dataclass(frozen=True)
class PretrainedEncoder:
    checkpoint: Path
    steps: int
    first_loss: float | None  # contrastive + diversity loss of the first logged interval
    last_loss: float | None  # ... and of the last one


def pretrain_on_unlabelled(unlabelled: Path, replay: Path, out_dir: Path, settings: DemoSettings) -> PretrainedEncoder:
    """Pretrain (or, when its checkpoint exists, reload the numbers of) the tiny encoder."""
    from fieldasr_examples.demo.training import read_log

    steps = settings.ssl_steps
    if not (out_dir / CHECKPOINT_FOLDER).is_dir():
        options = PretrainingOptions(mask_probability=0.5, mask_length=5, num_negatives=50,
                                     gumbel_temperature_decay=gumbel_decay_reaching_minimum(steps))
        continue_pretraining(SMALL_PRETRAINING_ENCODER, unlabelled, out_dir, replay=replay, replay_fraction=REPLAY_FRACTION, options=options,
                             max_steps=steps, lr=1e-3, max_batch_seconds=30.0, checkpoint_interval_minutes=1,
                             log_interval_steps=max(1, min(10, steps // 10)), seed=settings.seed)
    losses = [value for stage, _, name, value in read_log(out_dir / "log.csv") if stage == "train" and name == "loss"]
    done = max((step for _, step, _, _ in read_log(out_dir / "log.csv")), default=0)
    return PretrainedEncoder(out_dir / CHECKPOINT_FOLDER, done, losses[0] if losses else None, losses[-1] if losses else None)
