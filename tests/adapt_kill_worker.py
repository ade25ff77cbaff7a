"""Run by test_adapt: `fieldasr adapt` that notes each training batch in a log file and pauses in it, so that the
test can kill it between checkpoints (a kill while a checkpoint is being written is another matter)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from fieldasr.cli import main
from fieldasr.train.tasks import CTCTask

forward = CTCTask.forward


def logged_forward(self, batch):
    if self.training:
        with open(LOG, "a") as stream:
            stream.write(" ".join(batch.ids) + "\n")
        time.sleep(0.3)
    return forward(self, batch)


if __name__ == "__main__":
    LOG = Path(sys.argv[1])
    torch.set_num_threads(1)
    CTCTask.forward = logged_forward
    sys.argv = ["fieldasr", "adapt", *sys.argv[2:]]
    main()
