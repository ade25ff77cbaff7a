"""The contract between the Trainer and a task (CTC, self-supervised, language model).

A task is a `torch.nn.Module` whose `forward(batch)` returns a `TaskOutput`. Optionally it defines
`validation_metrics(batch) -> dict[str, float]` (e.g. phone error rate by greedy decoding) and
`set_training_step(step: int)` (e.g. to keep a transformer frozen for the first K updates).
The batch is whatever the task's collate function produced: a dict or a small object with `.to(device)`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch


@dataclass(frozen=True)
class TaskOutput:
    loss: torch.Tensor  # scalar, already normalised (e.g. per token)
    stats: Mapping[str, float] = field(default_factory=dict)  # logged, averaged with `weight`
    weight: float = 1.0  # e.g. number of frames or tokens in the batch


@runtime_checkable
class Task(Protocol):
    def __call__(self, batch: Any) -> TaskOutput: ...


def move_to_device(batch: Any, device: torch.device | str) -> Any:
    """Tensors of `batch` on `device`: objects with `.to`, and dicts/lists/tuples of them, recursively."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {key: move_to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "_fields"):
        return type(batch)(move_to_device(value, device) for value in batch)
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    return batch
