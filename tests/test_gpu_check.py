"""benchmarks/gpu_check.py at tiny size on the CPU (`--device cpu --small`), so the GPU machine's one command cannot rot:
every stage runs and is in the table, the report is written, and a failing stage makes the run fail."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks import gpu_check

ROOT = Path(__file__).resolve().parent.parent


def test_every_stage_runs_at_tiny_size_and_the_report_is_written(tmp_path):
    report = tmp_path / "gpu_check.md"
    # As the GPU machine runs it: a plain `python`, from the checkout, no PYTHONPATH.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--small", "--write-doc", str(report)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
    assert run.returncode == 0, run.stdout + run.stderr
    table = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    for name, _ in gpu_check.stages(gpu_check.TINY):
        row = next((line for line in table if line.startswith(f"| {name} |")), None)
        assert row is not None and ("| ok |" in row or "| skipped: " in row), f"{name}: {row}\n{run.stdout}"
    assert "audio s/s" in run.stdout and "RTF " in run.stdout and "all-reduce of statistics on cpu" in run.stdout
    written = report.read_text(encoding="utf-8")
    assert "python benchmarks/gpu_check.py --device cpu --small" in written and "| greedy transcription |" in written


def test_a_failing_stage_fails_the_run_and_the_others_still_run(monkeypatch, capsys):
    def broken(context):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(gpu_check, "ctc_fine_tuning", lambda batch_size: broken)
    assert gpu_check.main(["--device", "cpu", "--small", "--only", "environment,CTC"]) == 1
    output = capsys.readouterr().out
    assert output.count("FAILED: RuntimeError: CUDA error: an illegal memory access") == 2 * 2  # progress line and table row, per batch size
    assert "| environment |" in output and "1 of 3 stages passed, 0 skipped" in output and "FAILED: CTC fine-tuning, batch 2" in output
