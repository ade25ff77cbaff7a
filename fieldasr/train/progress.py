"""A line on training progress now and then: optimizer steps towards max_steps and the time left.

SpeechBrain's progress bar counts the batches of the current epoch only; a run bounded by max_steps over many
short epochs needs the whole run's count and an estimate of when it ends.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

PROGRESS_INTERVAL_SECONDS = 30.0


UNBOUNDED_EPOCHS = 10**6  # a max_epochs this large only means "bounded by max_steps" (e.g. the SSL stage): not shown

def duration_words(seconds: float) -> str:
    """45 s, 12 min, 1 h 05 min."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class StepProgress:
    """Writes `step 120/2000 (6 %), epoch 2/60, 1.40 s/step, about 41 min left` at most every `interval` seconds
    and at the last step; the rate is measured over the steps of this run, so a resumed run estimates its own."""

    max_steps: int | None
    max_epochs: int
    write: Callable[[str], None]
    interval: float = PROGRESS_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _start: tuple[float, int] | None = None  # (time, step) when this run's first step began
    _last_written: float = float("-inf")

    def step_done(self, step: int, epoch: int) -> None:
        now = self.clock()
        last = self.max_steps is not None and step >= self.max_steps
        if self._start is None:  # the rate is measured from the end of this run's first step on
            self._start, self._last_written = (now, step), now
        if now - self._last_written < self.interval and not last:
            return
        self._last_written = now
        self.write(self.line(step, epoch, now))

    def line(self, step: int, epoch: int, now: float) -> str:
        parts = [f"step {step}/{self.max_steps} ({100 * step / self.max_steps:.0f} %)" if self.max_steps else f"step {step}",
                 f"epoch {epoch}/{self.max_epochs}" if self.max_epochs < UNBOUNDED_EPOCHS else f"epoch {epoch}"]
        start_time, start_step = self._start or (now, step)
        if step > start_step:
            seconds_per_step = (now - start_time) / (step - start_step)
            parts.append(f"{seconds_per_step:.2f} s/step")
            if self.max_steps:
                parts.append(f"about {duration_words(seconds_per_step * max(0, self.max_steps - step))} left")
        return ", ".join(parts)
