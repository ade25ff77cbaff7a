"""The contract between a training task and the Trainer (ESPnet-style: loss, stats, weight)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TaskOutput:
    loss: torch.Tensor
    stats: dict[str, float]
    weight: float
