"""Early stopping on the validation metric, as SpeechBrain's epoch counter (saved with each checkpoint)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from speechbrain.utils.checkpoints import mark_as_loader, mark_as_saver, register_checkpoint_hooks
from speechbrain.utils.epoch_loop import EpochCounter

logger = logging.getLogger(__name__)


@register_checkpoint_hooks
class StoppingEpochCounter(EpochCounter):
    """SpeechBrain's epoch counter, which also stops once the validation metric has not improved for `patience_steps`
    optimizer steps (a patience in steps means the same wait on 10 minutes of data as on 10 hours). The wait starts
    at the first improvement, so a model still on CTC's blank plateau (error rate 100 %) is not stopped, and not
    before `patience_from_step` (the end of the learning-rate warm-up): a chance best score early in the warm-up
    would otherwise stop a slow starter as it leaves the plateau. Its state is saved with each checkpoint, so a
    resumed run keeps the best score and a stopped run stays stopped."""

    def __init__(self, limit: int, patience_steps: int, mode: str, patience_from_step: int = 0) -> None:
        super().__init__(limit)
        self.patience_steps, self.mode, self.patience_from_step = patience_steps, mode, patience_from_step
        self.best_score: float | None = None
        self.best_step = 0
        self.improved = False  # on the first validation's score
        self.stopped_at_step: int | None = None

    def __next__(self) -> int:
        if self.stopped_at_step is not None:
            raise StopIteration
        return super().__next__()

    def update_metric(self, score: float, step: int) -> None:
        better = self.best_score is None or (score < self.best_score if self.mode == "min" else score > self.best_score)
        if better:
            self.improved = self.best_score is not None
            self.best_score, self.best_step = score, step
        elif self.improved and self.patience_steps and step - max(self.best_step, self.patience_from_step) >= self.patience_steps:
            self.stopped_at_step = step
            logger.info("early stopping at step %d: no better validation score since step %d", step, self.best_step)

    @mark_as_saver
    def _save(self, path: Path) -> None:
        state = {"current_epoch": self.current, "best_score": self.best_score, "best_step": self.best_step,
                 "improved": self.improved, "stopped_at_step": self.stopped_at_step}
        Path(path).write_text(yaml.safe_dump(state), encoding="utf-8")

    @mark_as_loader
    def _recover(self, path: Path, end_of_epoch: bool = True, device: Any = None) -> None:
        state = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if isinstance(state, int):  # a checkpoint written by the plain EpochCounter before early stopping existed
            state = {"current_epoch": state}
        self.current = state["current_epoch"] if end_of_epoch else state["current_epoch"] - 1
        self.best_score, self.best_step = state.get("best_score"), state.get("best_step", 0)
        self.improved = state.get("improved", False)
        self.stopped_at_step = state.get("stopped_at_step")
