"""The Trainer on a toy task: loss decreases, logs, keep-best, kill-and-resume reproduces the run."""
from __future__ import annotations

import csv
import dataclasses

import pytest
import torch

from fieldasr.train import Trainer, TrainerOptions, TrainingError
from train_toy import ToyDataset, ToyTask, collate

torch.set_num_threads(1)


def options(tmp_path, **changes) -> TrainerOptions:
    base = TrainerOptions(experiment_dir=tmp_path, lr=0.1, optimizer="sgd", clip_norm=100.0, max_epochs=3, progress_bar=False, log_interval_steps=2,
                          valid_metric="mean_absolute_error", checkpoint_interval_steps=2, keep_best=2)
    return dataclasses.replace(base, **changes)


def test_loss_decreases_and_log_is_written(tmp_path):
    task = ToyTask()
    summary = Trainer(task, options(tmp_path), ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1)).fit()
    assert summary.optimizer_steps == 18  # 3 epochs of 24 examples in batches of 4
    assert sum(summary.step_losses[-3:]) < 0.5 * sum(summary.step_losses[:3])
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    stages = {row["stage"] for row in rows}
    assert {"train", "train_epoch", "valid_epoch"} <= stages
    assert any(row["name"] == "mean_absolute_error" for row in rows)
    checkpoints = list((tmp_path / "checkpoints").glob("CKPT+*"))
    assert 1 <= len(checkpoints) <= 3  # best 2 by the metric plus the newest


def test_kill_and_resume_reproduces_sampler_order_and_steps(tmp_path):
    reference = ToyTask()
    torch.manual_seed(0)
    initial = {k: v.clone() for k, v in reference.state_dict().items()}
    full = Trainer(reference, options(tmp_path / "full"), ToyDataset(), collate, batch_size=4).fit()

    crashing = ToyTask(crash_at_batch=9)  # dies in epoch 2, after the checkpoint at its batch 2 (batch 8 overall)
    crashing.load_state_dict(initial)
    with pytest.raises(KeyboardInterrupt):
        Trainer(crashing, options(tmp_path / "killed"), ToyDataset(), collate, batch_size=4).fit()
    resumed_task = ToyTask()
    resumed = Trainer(resumed_task, options(tmp_path / "killed"), ToyDataset(), collate, batch_size=4).fit()

    assert resumed.optimizer_steps == full.optimizer_steps
    assert crashing.seen[:8] + resumed_task.seen == reference.seen
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(resumed_task.state_dict()[name], value)


def test_checkpoint_of_another_architecture_is_reported(tmp_path):
    Trainer(ToyTask(dim=4), options(tmp_path, max_epochs=1), ToyDataset(), collate, batch_size=4).fit()
    with pytest.raises(TrainingError, match="does not fit this model"):
        Trainer(ToyTask(dim=3), options(tmp_path, max_epochs=2), ToyDataset(dim=3), collate, batch_size=4).fit()


def test_max_steps_stops_mid_epoch(tmp_path):
    summary = Trainer(ToyTask(), options(tmp_path, max_steps=4), ToyDataset(), collate, batch_size=4).fit()
    assert summary.optimizer_steps == 4
