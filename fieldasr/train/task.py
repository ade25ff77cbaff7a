"""The contract between the Trainer and a task (CTC, self-supervised, language model).

A task is a `torch.nn.Module` whose `forward(batch)` returns a `TaskOutput`. Optionally it defines
`validation_metrics(batch) -> dict[str, float]` (e.g. phone error rate by greedy decoding) and
`set_training_step(step: int)` (e.g. to keep a transformer frozen for the first K updates).
The batch is whatever the task's collate function produced: a dict or a small object with `.to(device)`.
Statistics, weights and counts may be plain numbers or tensors on the model's device; tensors cost no host
sync per batch (the Trainer adds them on the device and reads them once per log interval).
A task whose forward leaves some parameters without gradients in some steps (frozen for the first steps,
per-language adapters, layer drop) says so with `leaves_parameters_unused = True`, which DDP must know.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import inspect
from typing import Any, Protocol, runtime_checkable

import torch


@dataclass(frozen=True)
class TaskOutput:
    loss: torch.Tensor  # scalar, already normalised (e.g. per token)
    stats: Mapping[str, float | torch.Tensor] = field(default_factory=dict)  # logged, averaged with `weight`
    weight: float | torch.Tensor = 1.0  # e.g. number of frames or tokens in the batch
    counts: Mapping[str, float | torch.Tensor] = field(default_factory=dict)  # logged and reported as totals


@runtime_checkable
class Task(Protocol):
    def __call__(self, batch: Any) -> TaskOutput: ...


def move_to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """Tensors of `batch` on `device`: objects with `.to`, and dicts/lists/tuples of them, recursively.
    `non_blocking` overlaps the copy with computation when the batch is in pinned memory (DataLoader pin_memory)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {key: move_to_device(value, device, non_blocking) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "_fields"):
        return type(batch)(move_to_device(value, device, non_blocking) for value in batch)
    if hasattr(batch, "to") and callable(batch.to):
        if "non_blocking" in inspect.signature(batch.to).parameters:
            return batch.to(device, non_blocking=non_blocking)
        return batch.to(device)
    return batch
