"""DDP with 2 CPU processes (gloo) through the code path NCCL uses: statistics reduced as tensors on the model's
device, gradients equal to one process's on the whole batch, validation shared out exactly, checkpoints from rank 0,
resumption on another number of processes, and parameters left without gradients (frozen encoder, adapters)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from train_ddp_worker import VALID_EXAMPLES, toy

WORKER = Path(__file__).parent / "train_ddp_worker.py"
GLOBAL_BATCHES = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]  # process r takes batches r, r + 2


def torchrun(arguments: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(WORKER), *arguments]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def results(output: Path, rank: int) -> dict:
    return json.loads(output.with_name(f"{output.stem}-rank{rank}.json").read_text())


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> tuple[Path, dict, dict]:
    folder = tmp_path_factory.mktemp("ddp")
    completed = torchrun(["toy", str(folder / "run"), json.dumps(GLOBAL_BATCHES), "1"], folder)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return folder, results(folder / "run", 0), results(folder / "run", 1)


def test_one_step_on_two_processes_equals_one_step_on_the_whole_batch(two_processes, tmp_path):
    _, first, second = two_processes
    toy(tmp_path / "single", [GLOBAL_BATCHES[0] + GLOBAL_BATCHES[1], GLOBAL_BATCHES[2] + GLOBAL_BATCHES[3]], 1)
    single = results(tmp_path / "single", 0)
    assert first["seen"] == [GLOBAL_BATCHES[0]] and second["seen"] == [GLOBAL_BATCHES[1]]
    for name, value in single["state"].items():
        torch.testing.assert_close(torch.tensor(first["state"][name]), torch.tensor(value), rtol=1e-5, atol=1e-6)
    # Validation: each of the 7 examples evaluated by exactly one process, and the same metric as one process.
    assert sorted(first["evaluated"] + second["evaluated"]) == list(range(VALID_EXAMPLES))
    assert first["valid"] == second["valid"]
    assert first["valid"]["mean_absolute_error"] == pytest.approx(single["valid"]["mean_absolute_error"], rel=1e-6)  # float32 weights


def test_statistics_are_reduced_on_the_device_over_agreed_names(two_processes):
    _, first, second = two_processes
    for result in (first, second):
        assert result["reduced"], "the statistics were never all-reduced"
        assert {device for device, _ in result["reduced"]} == {result["trainer_device"]}
    assert first["disagreeing"] == second["disagreeing"] == pytest.approx(
        {"everywhere": (1 * 2 + 2 * 2) / 4, "only_on_0": 1.0, "only_on_1": 1.0, "not_finite_on_1": 3.0})


def test_checkpoints_come_from_rank_0_and_resume_on_one_process(two_processes):
    folder, _, second = two_processes
    assert second["written"] == []  # rank 1 wrote nothing into the experiment folder
    assert list((folder / "exp-toy" / "checkpoints").glob("CKPT+*/task.ckpt"))
    # 1 step on 2 processes took global batches 0 and 1; alone, the run goes on with batch 2.
    toy(folder / "resumed", GLOBAL_BATCHES, 2)
    resumed = results(folder / "resumed", 0)
    assert resumed["steps"] == 2 and resumed["seen"] == [GLOBAL_BATCHES[2]]


def test_parameters_without_gradients_need_find_unused_parameters(tmp_path):
    completed = torchrun(["adapters", str(tmp_path / "auto.json"), "find_unused"], tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads((tmp_path / "auto.json").read_text())["steps"] == 3
    # The same run with find_unused_parameters off fails: the auto setting is what makes it work.
    refused = torchrun(["adapters", str(tmp_path / "off.json"), "off"], tmp_path)
    assert refused.returncode != 0 and "find_unused_parameters" in refused.stderr
