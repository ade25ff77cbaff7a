"""Weighted averages of a stage's named statistics, kept where they are made and added across DDP processes.

Tensor statistics (a task's loss, counts) stay on the model's device: adding them costs no host sync per batch.
Plain numbers are summed on the host. `averages()` puts both into one tensor on the device (NCCL reduces device
tensors only) and all-reduces it over a sorted list of names every process agrees on first, so that a process
that saw a name only as non-finite values, or saw no batch at all, still takes part in the same reduction.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from fieldasr.train.distributed import is_distributed

Number = float | int | torch.Tensor


class WeightedAverage:
    def __init__(self, device: str | torch.device) -> None:
        self.device = torch.device(device)
        # float64 where the device has it (sums over an epoch), float32 on Apple's MPS, which has no float64.
        self.dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.on_device: dict[str, torch.Tensor] = {}  # name -> tensor([weighted sum, weight])
        self.on_host: dict[str, list[float]] = {}  # name -> [weighted sum, weight]

    def add(self, values: Mapping[str, Number], weight: Number) -> None:
        """Add each value × weight; non-finite values are left out (their name still counts as seen)."""
        for name, value in values.items():
            if isinstance(value, torch.Tensor) or isinstance(weight, torch.Tensor):
                self._add_on_device(name, value, weight)
            else:
                totals = self.on_host.setdefault(name, [0.0, 0.0])
                if math.isfinite(float(value)):
                    totals[0] += float(value) * float(weight)
                    totals[1] += float(weight)

    def _add_on_device(self, name: str, value: Number, weight: Number) -> None:
        value = torch.as_tensor(value).detach().to(self.device, self.dtype)
        weight = torch.as_tensor(weight).detach().to(self.device, self.dtype)
        finite = torch.isfinite(value)
        pair = torch.stack([torch.where(finite, value * weight, 0.0), torch.where(finite, weight, 0.0)])
        self.on_device[name] = self.on_device[name] + pair if name in self.on_device else pair

    def names(self) -> list[str]:
        return sorted({*self.on_device, *self.on_host})

    def averages(self) -> dict[str, float]:
        """Sum / weight per name over every process; names whose weight is 0 everywhere are left out."""
        return {name: weighted / weight for name, (weighted, weight) in self.reduced().items() if weight > 0}

    def sums(self) -> dict[str, float]:
        """The weighted sums over every process (with weight 1: the totals of counts)."""
        return {name: weighted for name, (weighted, _) in self.reduced().items()}

    def reduced(self) -> dict[str, tuple[float, float]]:
        """(weighted sum, weight) per name, added over every process: one host sync, one all-reduce on the device."""
        names = self.names()
        if is_distributed():
            gathered: list[list[str] | None] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, names)
            names = sorted({name for rank_names in gathered for name in rank_names or ()})
        if not names:
            return {}
        totals = torch.zeros(len(names), 2, device=self.device, dtype=self.dtype)
        for row, name in enumerate(names):
            if name in self.on_device:
                totals[row] += self.on_device[name]
            if name in self.on_host:
                totals[row] += torch.tensor(self.on_host[name], dtype=self.dtype).to(self.device)
        if is_distributed():
            torch.distributed.all_reduce(totals)  # every process saw a different shard: add before dividing
        return {name: (weighted, weight) for name, (weighted, weight) in zip(names, totals.tolist())}
