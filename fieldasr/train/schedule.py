"""Learning-rate schedules of the Trainer: linear warm-up, then constant or linear decay."""
from __future__ import annotations

import torch

from fieldasr.errors import FieldasrError


def warmup_decay_schedule(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int | None = None, final_fraction: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the optimiser's learning rate over `warmup_steps`; then constant (no `total_steps`), or
    linear decay to `final_fraction` of it at `total_steps` (fairseq's polynomial decay with power 1, as used for
    wav2vec 2.0)."""
    if warmup_steps < 0 or (total_steps is not None and total_steps <= warmup_steps):
        raise FieldasrError(
            f"learning-rate schedule: need 0 <= warmup_steps < total_steps (got {warmup_steps}, {total_steps})."
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if total_steps is None:
            return 1.0
        progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
        return final_fraction + (1.0 - final_fraction) * (1.0 - progress)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
