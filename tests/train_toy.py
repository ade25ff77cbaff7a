"""A toy task for Trainer tests: linear regression, recording which examples it saw."""
from __future__ import annotations

import torch

from fieldasr.train import TaskOutput


class ToyDataset(torch.utils.data.Dataset):
    def __init__(self, size: int = 24, dim: int = 4, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.inputs = torch.randn(size, dim, generator=generator)
        self.targets = self.inputs @ torch.arange(1.0, dim + 1) + 0.5

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict:
        return {"index": index, "x": self.inputs[index], "y": self.targets[index]}


def collate(items: list[dict]) -> dict:
    return {
        "index": torch.tensor([item["index"] for item in items]),
        "x": torch.stack([item["x"] for item in items]),
        "y": torch.stack([item["y"] for item in items]),
    }


class ToyTask(torch.nn.Module):
    """Mean squared error; `crash_at_batch` simulates a kill after that many training batches."""

    def __init__(self, dim: int = 4, crash_at_batch: int | None = None) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(dim, 1)
        self.seen: list[list[int]] = []
        self.crash_at_batch = crash_at_batch

    def forward(self, batch: dict) -> TaskOutput:
        if self.training:
            if self.crash_at_batch is not None and len(self.seen) == self.crash_at_batch:
                raise KeyboardInterrupt("simulated kill")
            self.seen.append(batch["index"].tolist())
        loss = torch.nn.functional.mse_loss(self.linear(batch["x"]).squeeze(-1), batch["y"])
        return TaskOutput(loss=loss, stats={"mse": float(loss.detach())}, weight=float(len(batch["y"])))

    def validation_metrics(self, batch: dict) -> dict[str, float]:
        error = (self.linear(batch["x"]).squeeze(-1) - batch["y"]).abs().mean()
        return {"mean_absolute_error": float(error)}
