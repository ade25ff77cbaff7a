"""Run by test_train_ddp under torchrun (or alone): one SGD step of the toy task; rank 0 saves the weights."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from train_toy import ToyDataset, ToyTask, collate  # noqa: E402

from fieldasr.train import Trainer, TrainerOptions  # noqa: E402
from fieldasr.train.batching import FixedBatchSampler  # noqa: E402


def main(output: Path, batches: list[list[int]]) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    task = ToyTask()
    options = TrainerOptions(experiment_dir=output.parent / f"exp-{output.stem}", optimizer="sgd", lr=1.0, clip_norm=1e6,
                             max_steps=1, checkpoint_interval_minutes=0, progress_bar=False)
    Trainer(task, options, ToyDataset(8), collate, batch_sampler=FixedBatchSampler(batches)).fit()
    if int(os.environ.get("RANK", "0")) == 0:
        torch.save({"state": task.state_dict(), "seen": task.seen, "world": int(os.environ.get("WORLD_SIZE", "1"))}, output)


if __name__ == "__main__":
    distributed = os.environ.get("WORLD_SIZE") is not None
    main(Path(sys.argv[1]), [[0, 1, 2, 3], [4, 5, 6, 7]] if distributed else [list(range(8))])
