"""The Trainer on a toy task: loss decreases, logs, keep-best, kill-and-resume reproduces the run."""
from __future__ import annotations

import csv
import dataclasses

import pytest
import torch

from fieldasr.train import TaskOutput, Trainer, TrainerOptions, TrainingError
from fieldasr.train.batching import LanguageBalancedBatchSampler, duration_batch_sampler
from train_toy import ToyDataset, ToyTask, collate

torch.set_num_threads(1)


def options(tmp_path, **changes) -> TrainerOptions:
    base = TrainerOptions(experiment_dir=tmp_path, lr=0.1, optimizer="sgd", clip_norm=100.0, max_epochs=3, progress_bar=False, log_interval_steps=2,
                          valid_metric="mean_absolute_error", checkpoint_interval_steps=2, keep_best=2)
    return dataclasses.replace(base, **changes)


def test_loss_decreases_and_log_is_written(tmp_path):
    task = ToyTask()
    trainer = Trainer(task, options(tmp_path), ToyDataset(), collate, batch_size=4, valid_set=ToyDataset(8, seed=1))
    summary = trainer.fit()
    assert summary.optimizer_steps == 18  # 3 epochs of 24 examples in batches of 4
    assert sum(summary.step_losses[-3:]) < 0.5 * sum(summary.step_losses[:3])
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    stages = {row["stage"] for row in rows}
    assert {"train", "train_epoch", "valid_epoch"} <= stages
    assert any(row["name"] == "mean_absolute_error" for row in rows)
    checkpoints = list((tmp_path / "checkpoints").glob("CKPT+*"))
    assert 1 <= len(checkpoints) <= 3  # best 2 by the metric plus the newest
    assert trainer.best_checkpoint() in checkpoints
    # evaluate() loads the best checkpoint, which is at least as good as the last epoch's.
    assert trainer.evaluate(ToyDataset(8, seed=1), collate)["mean_absolute_error"] <= summary.valid_metrics["mean_absolute_error"] + 1e-6


DURATIONS = [1.0 + (index * 7919 % 13) for index in range(24)]
SAMPLERS = {
    "brain_random": lambda: None,
    "dynamic": lambda: duration_batch_sampler(DURATIONS, max_batch_duration=60.0, seed=7),
    "language_balanced": lambda: LanguageBalancedBatchSampler(DURATIONS, ["a"] * 20 + ["b"] * 4, 60.0, alpha=0.3, seed=7),
}


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_kill_and_resume_reproduces_sampler_order_and_steps(tmp_path, sampler):
    def fit(task, folder):
        return Trainer(task, options(tmp_path / folder), ToyDataset(), collate, batch_size=4, batch_sampler=SAMPLERS[sampler]()).fit()

    torch.manual_seed(0)
    reference = ToyTask()
    initial = {k: v.clone() for k, v in reference.state_dict().items()}
    full = fit(reference, "full")
    batch_sampler = SAMPLERS[sampler]()
    if batch_sampler is None:
        batches_per_epoch = len(reference.seen) // 3
    else:  # epochs may differ in length (other draws, other cuts): take the first one's, as the Trainer runs it
        batch_sampler.set_epoch(1)  # SpeechBrain counts epochs from 1
        batches_per_epoch = len(batch_sampler)
    # Dies in epoch 2, one batch after the intra-epoch checkpoint taken every 2 batches.
    crash_at = batches_per_epoch + 2 * ((batches_per_epoch // 2) // 2) + 1
    crashing = ToyTask(crash_at_batch=crash_at)
    crashing.load_state_dict(initial)
    with pytest.raises(KeyboardInterrupt):
        fit(crashing, "killed")
    resumed_task = ToyTask()
    resumed = fit(resumed_task, "killed")

    assert resumed.optimizer_steps == full.optimizer_steps
    assert crashing.seen[: crash_at - 1] + resumed_task.seen == reference.seen
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(resumed_task.state_dict()[name], value)


def test_checkpoint_of_another_architecture_is_reported(tmp_path):
    Trainer(ToyTask(dim=4), options(tmp_path, max_epochs=1), ToyDataset(), collate, batch_size=4).fit()
    with pytest.raises(TrainingError, match="does not fit this model"):
        Trainer(ToyTask(dim=3), options(tmp_path, max_epochs=2), ToyDataset(dim=3), collate, batch_size=4).fit()


def test_max_steps_stops_mid_epoch(tmp_path):
    summary = Trainer(ToyTask(), options(tmp_path, max_steps=4), ToyDataset(), collate, batch_size=4).fit()
    assert summary.optimizer_steps == 4


@pytest.mark.parametrize("first_steps", [6, 4])  # 6 ends exactly at an epoch's end (24 examples / 4)
def test_raising_max_steps_after_a_finished_run_continues_it(tmp_path, first_steps):
    Trainer(ToyTask(), options(tmp_path, max_steps=first_steps), ToyDataset(), collate, batch_size=4).fit()
    summary = Trainer(ToyTask(), options(tmp_path, max_steps=10), ToyDataset(), collate, batch_size=4).fit()
    assert summary.optimizer_steps == 10


class FlakyTask(ToyTask):
    """Returns a NaN loss on its 3rd batch, or raises out-of-memory there."""

    def __init__(self, failure: str) -> None:
        super().__init__()
        self.failure, self.calls = failure, 0

    def forward(self, batch: dict) -> TaskOutput:
        self.calls += 1
        if self.calls == 3 and self.failure == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        output = super().forward(batch)
        if self.calls == 3:
            return TaskOutput(loss=output.loss * float("nan"), stats=output.stats, weight=output.weight)
        return output


def test_nonfinite_loss_is_skipped_and_counted(tmp_path):
    task = FlakyTask("nan")
    summary = Trainer(task, options(tmp_path, max_epochs=1), ToyDataset(), collate, batch_size=4).fit()
    assert summary.skipped_nonfinite == 1 and summary.optimizer_steps == 6
    assert all(torch.isfinite(p).all() for p in task.parameters())


def test_out_of_memory_names_the_batch_duration(tmp_path):
    def collate_with_durations(items):
        return {**collate(items), "durations": torch.full((len(items),), 2.5)}

    with pytest.raises(TrainingError, match=r"10.0 s of audio.*max_batch_duration"):
        Trainer(FlakyTask("oom"), options(tmp_path), ToyDataset(), collate_with_durations, batch_size=4).fit()


def test_bf16_autocast_on_cpu_trains(tmp_path):
    summary = Trainer(ToyTask(), options(tmp_path, precision="bf16", max_epochs=1), ToyDataset(), collate, batch_size=4).fit()
    assert summary.optimizer_steps == 6 and all(map(torch.isfinite, map(torch.tensor, summary.step_losses)))


def test_fp16_on_cpu_is_refused(tmp_path):
    with pytest.raises(TrainingError, match="fp16 needs a CUDA"):
        Trainer(ToyTask(), options(tmp_path, precision="fp16", device="cpu"), ToyDataset(), collate)


def test_data_loader_workers_give_the_same_run(tmp_path):
    def fit(folder, workers):
        torch.manual_seed(0)
        sampler = duration_batch_sampler(DURATIONS, max_batch_duration=60.0, seed=7)
        return Trainer(ToyTask(), options(tmp_path / folder, num_workers=workers, max_epochs=2), ToyDataset(), collate,
                       batch_sampler=sampler, valid_set=ToyDataset(8, seed=1)).fit()

    in_process, with_workers = fit("in-process", 0), fit("workers", 2)
    assert with_workers.step_losses == pytest.approx(in_process.step_losses, rel=1e-6)
    assert with_workers.valid_metrics == pytest.approx(in_process.valid_metrics, rel=1e-6)
