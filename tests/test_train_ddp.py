"""DDP with 2 CPU processes (gloo): one step on two half-batches equals one step on the whole batch."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from train_ddp_worker import main as single_process

WORKER = Path(__file__).parent / "train_ddp_worker.py"


def run(arguments: list[str], tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(arguments, env=environment, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_two_process_ddp_matches_single_process_gradients(tmp_path):
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER), str(tmp_path / "ddp.pt")], tmp_path)
    single_process(tmp_path / "single.pt", [list(range(8))])  # the whole batch, in this process
    ddp, single = torch.load(tmp_path / "ddp.pt"), torch.load(tmp_path / "single.pt")
    assert ddp["world"] == 2 and len(ddp["seen"]) == 1 and len(ddp["seen"][0]) == 4  # rank 0 saw half the data
    initial = {name: value for name, value in single["state"].items()}
    for name, value in ddp["state"].items():
        torch.testing.assert_close(value, initial[name], rtol=1e-5, atol=1e-6)
