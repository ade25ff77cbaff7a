"""Run by test_train_resume_after_kill: toy training that logs every batch it trains on to a file, slowly."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from train_toy import ToyDataset, ToyTask, collate  # noqa: E402

from fieldasr.train import Trainer, TrainerOptions  # noqa: E402
from fieldasr.train.batching import duration_batch_sampler  # noqa: E402

DURATIONS = [1.0 + (index * 7919 % 13) for index in range(24)]


class LoggingTask(ToyTask):
    def __init__(self, log: Path | None, delay: float) -> None:
        super().__init__()
        self.log, self.delay = log, delay

    def forward(self, batch: dict):
        if self.training and self.log is not None:
            with open(self.log, "a") as stream:
                stream.write(" ".join(map(str, batch["index"].tolist())) + "\n")
            time.sleep(self.delay)
        return super().forward(batch)


def train(experiment: Path, log: Path | None = None, delay: float = 0.0) -> tuple[LoggingTask, int]:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    task = LoggingTask(log, delay)
    options = TrainerOptions(experiment_dir=experiment, optimizer="sgd", lr=0.05, max_epochs=3, checkpoint_interval_steps=2, progress_bar=False)
    sampler = duration_batch_sampler(DURATIONS, max_batch_duration=60.0, seed=7)
    summary = Trainer(task, options, ToyDataset(), collate, batch_sampler=sampler).fit()
    return task, summary.optimizer_steps


if __name__ == "__main__":
    train(Path(sys.argv[1]), Path(sys.argv[2]), delay=0.2)
