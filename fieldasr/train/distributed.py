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
    """The training loader's place in an epoch, for checkpoints: batches trained on, counted over all processes
    together, so that a run resumes with another number of processes, each skipping its share.

    Ranks take global batches rank, rank + world, ... (`ShardedBatchSampler`; DistributedSampler interleaves
    examples the same way), so after n steps on W processes the first n·W global batches are done; on W'
    processes each skips ⌊n·W / W'⌋ (at most W' - 1 batches are seen again, none is skipped unseen).
    The Trainer counts the batches it trains on (`batch_trained`): the loader's own count includes the batch it
    fetched before a run stopped at max_steps, which was never trained on.
    """

    def __init__(self, loader: torch.utils.data.DataLoader) -> None:
        self.loader = loader
        self.trained = 0  # batches of this epoch trained on by this process
        self.resumed_at = 0

    def start_epoch(self) -> None:
        self.trained, self.resumed_at = self.resumed_at, 0

    def batch_trained(self) -> None:
        self.trained += 1

    @mark_as_saver
    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"batches_per_process": self.trained, "processes": world_size()}), encoding="utf-8")

    @mark_as_loader
    def load(self, path: Path, end_of_epoch: bool) -> None:
        if end_of_epoch or getattr(self.loader, "_speechbrain_iterator", None) is not None:
            return  # a new epoch starts from its beginning; an iterated loader is past recovery (SpeechBrain's rule)
        text = Path(path).read_text(encoding="utf-8").strip()
        if text in ("", "None"):
            return
        # Checkpoints written before this record existed hold SpeechBrain's count of one process.
        record = json.loads(text) if text.startswith("{") else {"batches_per_process": int(text), "processes": 1}
        done = record["batches_per_process"] * record["processes"]
        self.resumed_at = done // world_size()
        self.loader._speechbrain_recovery_skip_to = self.resumed_at
        if record["processes"] != world_size():
            logger.info("resuming on %d processes a run saved on %d: %d batches of the epoch were done",
                        world_size(), record["processes"], done)
