"""Stages 2 and 3 of the demo: self-supervised pretraining of the phone model's Conformer encoder.

The wav2vec 2.0 objective on the filterbank Conformer (`fieldasr.ssl.conformer_pretraining`, Whistle's SSL
baseline), in two runs of `fieldasr.ssl.pretrain.continue_pretraining`: first on the seen languages' audio (their
transcripts unused), then continued on the target's untranscribed audio (a new run with its own warm-up, as the
Ainu study continues XLS-R). The multilingual phone CTC of stage 4 starts from the result (`model.init_from`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldasr.ssl.pretrain import CHECKPOINT_FOLDER, continue_pretraining
from fieldasr.ssl.conformer_pretraining import small_conformer_options
from fieldasr_examples.demo.settings import DemoSettings

DONE = "done.json"


@dataclass(frozen=True)
class PretrainedEncoder:
    checkpoint: Path
    steps: int
    first_accuracy: float | None  # contrastive accuracy of the first logged interval (chance: 1 in 1 + distractors)
    last_accuracy: float | None  # ... and of the last one
    perplexity: float | None  # codebook perplexity of the last logged interval (of 640 codevectors)


def pretrain_encoder(audio: Path, out_dir: Path, settings: DemoSettings, steps: int, lr: float, init_from: Path | None = None) -> PretrainedEncoder:
    """Pretrain the demo's Conformer from scratch, or continue `init_from`, on `audio`; a finished run is reused."""
    from fieldasr_examples.demo.training import read_log

    if not (out_dir / DONE).is_file():
        # Code-logit weights of std 1 (fairseq's): on this synthetic speech the default spread-out start stayed at
        # chance for 300 steps; this one left it after about 80 (docs/training.md).
        source = ({"architecture": "conformer", "size": "small", "config": dict(settings.conformer),
                   "quantizer": {"quantizer_weight_init_std": 1.0}} if init_from is None
                  else {"architecture": "conformer", "init_from": str(init_from)})
        continue_pretraining(source, audio, out_dir, options=small_conformer_options(steps), max_steps=steps, lr=lr,
                             max_batch_seconds=settings.ssl_max_batch_duration, checkpoint_interval_minutes=1,
                             log_interval_steps=max(1, min(10, steps // 10)), seed=settings.seed)
        (out_dir / DONE).write_text("{}\n", encoding="utf-8")
    rows = read_log(out_dir / "log.csv")
    accuracy = [value for stage, _, name, value in rows if stage == "train" and name == "contrastive_accuracy"]
    perplexity = [value for stage, _, name, value in rows if stage == "train" and name == "codebook_perplexity"]
    done = max((step for _, step, _, _ in rows), default=0)
    return PretrainedEncoder(out_dir / CHECKPOINT_FOLDER, done, accuracy[0] if accuracy else None, accuracy[-1] if accuracy else None,
                             perplexity[-1] if perplexity else None)
