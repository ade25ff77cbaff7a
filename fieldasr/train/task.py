"""The contract between the Trainer and a task: `forward(batch) -> TaskOutput` (after ESPnet's loss, stats, weight)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TaskOutput:
    loss: torch.Tensor  # scalar, already normalised (e.g. per masked frame)
    stats: dict[str, float]
    weight: float  # how many units the loss was averaged over, to weight it across batches
