"""Data-parallel training (DDP) under `torchrun`: the process group, ranks, and the training data position that
survives a change of the number of processes.

Launch: `torchrun --nproc-per-node G ...` on one machine; on N machines the same command on each with
`--nnodes N --rdzv-backend c10d --rdzv-endpoint HOST:PORT` (see docs/training.md). Nothing here starts processes.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from speechbrain.utils.checkpoints import mark_as_loader, mark_as_saver, register_checkpoint_hooks

logger = logging.getLogger(__name__)


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank() -> int:
    """This process's rank: from the process group, else from torchrun's RANK (0 when alone)."""
    return torch.distributed.get_rank() if is_distributed() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return torch.distributed.get_world_size() if is_distributed() else int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return rank() == 0


def init_distributed(device: str) -> None:
    """Join the process group `torchrun` prepared: NCCL bound to this process's GPU on CUDA, gloo on the CPU."""
    if os.environ.get("RANK") is None or is_distributed():
        return
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
        torch.distributed.init_process_group(backend="nccl", device_id=torch.device(device))
    else:
        torch.distributed.init_process_group(backend="gloo")
    logger.info("process %d of %d on %s", rank(), world_size(), device)


@register_checkpoint_hooks  # saved by the main process only
class TrainingPosition:
    """Checkpoint hooks for the training loader's place in an epoch, written as batches taken by all processes
    together, so that a run resumes with another number of processes: each then skips its share.

    Ranks take global batches rank, rank + world, ... (`ShardedBatchSampler`; DistributedSampler interleaves
    examples the same way), so after n steps on W processes the first n·W global batches are done; on W'
    processes each skips ⌊n·W / W'⌋ (at most W' - 1 batches are seen again, none is skipped unseen).
    """

    def __init__(self, loader: torch.utils.data.DataLoader) -> None:
        self.loader = loader

    @mark_as_saver
    def save(self, path: Path) -> None:
        iterator = getattr(self.loader, "_speechbrain_iterator", None)
        taken = None if iterator is None else iterator._num_yielded
        record = {"batches_per_process": taken, "processes": world_size()}
        Path(path).write_text(json.dumps(record), encoding="utf-8")

    @mark_as_loader
    def load(self, path: Path, end_of_epoch: bool) -> None:
        if end_of_epoch or getattr(self.loader, "_speechbrain_iterator", None) is not None:
            return  # a new epoch starts from its beginning; an iterated loader is past recovery (SpeechBrain's rule)
        text = Path(path).read_text(encoding="utf-8").strip()
        if text in ("", "None"):
            return
        # Checkpoints written before this record existed hold the bare count of one process.
        record = json.loads(text) if text.startswith("{") else {"batches_per_process": int(text), "processes": 1}
        if record["batches_per_process"] is None:
            return
        done = record["batches_per_process"] * record["processes"]
        self.loader._speechbrain_recovery_skip_to = done // world_size()
        if record["processes"] != world_size():
            logger.info("resuming on %d processes a run saved on %d: %d batches of the epoch were done",
                        world_size(), record["processes"], done)
