"""Checkpoint averaging equals the mean of the weights; early stopping stops on a stalled validation metric."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from fieldasr.bundle import averaged_weights
from fieldasr.errors import FieldasrError
from fieldasr.train import Trainer, TrainerOptions, TrainingError
from fieldasr.train.averaging import average_states
from train_toy import ToyDataset, ToyTask, collate

torch.set_num_threads(1)


def options(tmp_path, **changes) -> TrainerOptions:
    base = TrainerOptions(experiment_dir=tmp_path, lr=0.05, optimizer="sgd", clip_norm=100.0, max_epochs=6, progress_bar=False,
                          valid_metric="mean_absolute_error", checkpoint_interval_minutes=1e6, keep_best=3)
    return dataclasses.replace(base, **changes)


def test_average_of_states_is_the_elementwise_mean_and_counters_come_from_the_last():
    states = [{"w": torch.tensor([1.0, 2.0]), "steps": torch.tensor(3)}, {"w": torch.tensor([3.0, 6.0]), "steps": torch.tensor(5)}]
    averaged = average_states(states)
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0])) and int(averaged["steps"]) == 5
    with pytest.raises(FieldasrError, match="other weights"):
        average_states([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])


def test_trainer_averages_its_best_checkpoints(tmp_path):
    trainer = Trainer(ToyTask(), options(tmp_path, average_best_checkpoints=3), ToyDataset(), collate, batch_size=4,
                      valid_set=ToyDataset(8, seed=1))
    summary = trainer.fit()
    assert summary.averaged_weights == averaged_weights(tmp_path) is not None
    best = trainer.brain.checkpointer.find_checkpoints(min_key="mean_absolute_error", max_num_checkpoints=3)
    kept = [torch.load(f"{checkpoint.path}/task.ckpt", weights_only=True) for checkpoint in best]
    averaged = torch.load(summary.averaged_weights, weights_only=True)
    assert len(kept) == 3
    for name in ("linear.weight", "linear.bias"):
        assert torch.allclose(averaged[name], torch.stack([state[name] for state in kept]).mean(0))


class StalledTask(ToyTask):
    """Its validation metric improves once (2.0, then 1.0) and then never again; `plateau`: never improves."""

    def __init__(self, plateau: bool = False) -> None:
        super().__init__()
        self.plateau, self.validations = plateau, 0

    def validation_metrics(self, batch: dict) -> dict[str, float]:
        self.validations += 1
        return {"mean_absolute_error": 1.0 if self.plateau or self.validations > 1 else 2.0}  # one validation batch of 8


def test_early_stopping_stops_after_the_patience_and_stays_stopped_on_resume(tmp_path):
    # 24 examples in batches of 4: 6 steps and one validation per epoch. Best at step 12; patience 12: stop at step 24.
    run = options(tmp_path, max_epochs=50, early_stopping_patience_steps=12)
    summary = Trainer(StalledTask(), run, ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1)).fit()
    assert summary.stopped_early_at_step == 24 and summary.optimizer_steps == 24
    again = Trainer(StalledTask(), run, ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1)).fit()
    assert again.optimizer_steps == 24 and again.stopped_early_at_step == 24


def test_the_patience_counts_from_the_end_of_the_warm_up(tmp_path):
    # Best at step 12 as above, but the learning rate warms up until step 18: the 12 steps of patience end at 30.
    run = options(tmp_path, max_epochs=50, early_stopping_patience_steps=12, warmup_steps=18)
    summary = Trainer(StalledTask(), run, ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1)).fit()
    assert summary.stopped_early_at_step == 30 and summary.optimizer_steps == 30


def test_a_metric_that_never_improved_is_a_plateau_not_a_reason_to_stop(tmp_path):
    run = options(tmp_path, max_epochs=6, early_stopping_patience_steps=6)
    summary = Trainer(StalledTask(plateau=True), run, ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1)).fit()
    assert summary.stopped_early_at_step is None and summary.optimizer_steps == 36


def test_early_stopping_and_averaging_settings_are_checked(tmp_path):
    with pytest.raises(TrainingError, match="keep_best"):
        Trainer(ToyTask(), options(tmp_path, average_best_checkpoints=4), ToyDataset(), collate)
    with pytest.raises(TrainingError, match="validation set"):
        Trainer(ToyTask(), options(tmp_path, early_stopping_patience_steps=5), ToyDataset(), collate)
