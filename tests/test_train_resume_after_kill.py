"""A training process killed with SIGKILL resumes in the same batch order and ends at the same step."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from train_kill_worker import train

WORKER = Path(__file__).parent / "train_kill_worker.py"


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    torch.set_num_threads(1)
    reference, reference_steps = train(tmp_path / "reference")
    log = tmp_path / "killed.log"
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path / "killed"), str(log)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_after = len(reference.seen) // 3 + 3  # a few batches into the second epoch
    deadline = time.time() + 120
    while (not log.exists() or len(log.read_text().splitlines()) < kill_after) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read().decode()[-2000:]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_batches = [list(map(int, line.split())) for line in log.read_text().splitlines()]

    resumed, resumed_steps = train(tmp_path / "killed")
    redone_from = len(reference.seen) - len(resumed.seen)  # the batch after the last checkpoint
    assert 0 < redone_from <= len(killed_batches)
    assert killed_batches[:redone_from] + resumed.seen == reference.seen
    assert resumed_steps == reference_steps
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value)
