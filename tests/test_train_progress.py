"""Training progress: steps towards max_steps and the time left, not only the epoch's batches."""
from __future__ import annotations

import dataclasses

import torch

from fieldasr.train import Trainer, TrainerOptions
from fieldasr.train.progress import StepProgress, duration_words
from train_toy import ToyDataset, ToyTask, collate

torch.set_num_threads(1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_count_steps_towards_max_steps_and_estimate_the_time_left() -> None:
    clock, lines = FakeClock(), []
    progress = StepProgress(max_steps=1000, max_epochs=50, write=lines.append, interval=30.0, clock=clock)
    progress.step_done(201, epoch=3)  # a resumed run: its rate is measured from here
    for step in range(202, 230):
        clock.now += 2.0  # 2 s per step
        progress.step_done(step, epoch=3)
    # one line once 30 s have passed, none per step
    assert lines == ["step 216/1000 (22 %), epoch 3/50, 2.00 s/step, about 26 min left"]
    clock.now += 5000.0
    progress.step_done(1000, epoch=9)  # the last step is always reported
    assert lines[-1].startswith("step 1000/1000 (100 %), epoch 9/50") and lines[-1].endswith("about 0 s left")
    unbounded = StepProgress(max_steps=None, max_epochs=5, write=lines.append, interval=0.0, clock=clock)
    unbounded.step_done(1, epoch=1)
    clock.now += 1.5
    unbounded.step_done(2, epoch=1)
    assert lines[-1] == "step 2, epoch 1/5, 1.50 s/step"
    assert [duration_words(s) for s in (44, 720, 3900)] == ["44 s", "12 min", "1 h 05 min"]


def test_the_trainer_reports_its_steps(tmp_path, capsys) -> None:
    options = TrainerOptions(experiment_dir=tmp_path, lr=0.1, optimizer="sgd", max_epochs=10, max_steps=4, progress_bar=False)
    Trainer(ToyTask(), dataclasses.replace(options), ToyDataset(), collate, batch_size=4).fit()
    assert "step 4/4 (100 %), epoch 1/10" in capsys.readouterr().err


def test_an_epoch_limit_that_only_means_bounded_by_steps_is_not_shown():
    lines: list[str] = []
    progress = StepProgress(max_steps=40, max_epochs=10**9, write=lines.append, interval=0.0, clock=lambda: 0.0)
    progress.step_done(40, epoch=2)
    assert lines == ["step 40/40 (100 %), epoch 2"]
