"""Which device a command runs its model on: `auto` (the default of every command) is CUDA when there is one,
else the CPU; under `torchrun` each process takes the GPU of its LOCAL_RANK.

Imports torch only when called, so that `fieldasr --help` stays fast.
"""
from __future__ import annotations

import logging
import os

from fieldasr.errors import FieldasrError

logger = logging.getLogger(__name__)
AUTO = "auto"
DEVICE_HELP = "auto (cuda when available, else cpu), cpu, or cuda[:N]; under torchrun each process takes cuda:LOCAL_RANK."


class DeviceError(FieldasrError):
    """A device that does not exist here, or a setting that cannot run on it."""


def resolve_device(requested: str | None = AUTO, precision: str | None = None) -> str:
    """The device to use for `requested` (auto, cpu, cuda, cuda:N, mps), checked; said in the log. With
    `precision` int8, auto means the CPU and a GPU is refused (before anything touches CUDA)."""
    import torch

    requested = (requested or AUTO).strip().lower()
    if precision == "int8" and requested != AUTO:
        check_precision_for_device(precision, requested)
    if requested == AUTO:
        device = "cuda" if torch.cuda.is_available() and precision != "int8" else "cpu"
    else:
        try:
            device = str(torch.device(requested))
        except RuntimeError:
            raise DeviceError(f"device {requested!r} is not a device name; use {DEVICE_HELP}") from None
    local_rank = os.environ.get("LOCAL_RANK")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {requested} asks for CUDA, but no CUDA device is available here; use cpu (or auto).")
        device = _cuda_device_of_process(device, local_rank)
    logger.info("device: %s%s", device, " (auto)" if requested == AUTO else "")
    return device


def _cuda_device_of_process(device: str, local_rank: str | None) -> str:
    """cuda:N as asked; under torchrun, the GPU of this process's LOCAL_RANK (else every rank lands on one GPU)."""
    import torch

    count = torch.cuda.device_count()
    if local_rank is not None:
        # One visible GPU per process (e.g. a scheduler sets CUDA_VISIBLE_DEVICES per task): it is cuda:0.
        index = int(local_rank) if count > 1 else 0
    else:
        index = torch.device(device).index or 0
    if index >= count:
        raise DeviceError(f"device cuda:{index} does not exist: this machine shows {count} CUDA device(s).")
    return f"cuda:{index}"


def check_precision_for_device(precision: str, device: str) -> None:
    """int8 is dynamic quantisation, which PyTorch runs on the CPU only: refuse it before anything touches CUDA."""
    if precision == "int8" and not device.startswith("cpu"):
        raise DeviceError(f"--precision int8 runs on the CPU only (dynamic quantisation), not on --device {device}. "
                          "Use --precision bf16 or fp32 on a GPU, or --device cpu.")
