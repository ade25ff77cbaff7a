"""One fine-tuning step and one continued-pretraining step of an XLS-R-300m-shaped model on 4 s of audio, on the CPU.

The full-size check that fits no test suite: the model of `benchmarks/gpu_check.py` (random weights, the real
XLS-R 300m architecture) takes one CTC step (`Wav2Vec2CTC` + `CTCTask`, AdamW) and one wav2vec 2.0 pretraining
step (`Wav2Vec2PretrainingTask`), each in a fresh process so that each peak RSS is its own. Writes
docs/benchmarks/xlsr_cpu_step.md; takes a few minutes and about 6-8 GB of memory.

    PYTHONPATH=. python benchmarks/xlsr_cpu_step.py [--seconds 4] [--output -]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import gpu_check  # noqa: E402
from benchmarks.benchmark_doc import Table, add_report_option, publish  # noqa: E402

STEPS = {"fine-tuning (CTC)": "ctc", "continued pretraining (wav2vec 2.0)": "pretraining"}


def one_step(kind: str, seconds: float) -> dict[str, float]:
    """Build the model, take one optimizer step; the numbers of this process alone."""
    sizes = gpu_check.Sizes(gpu_check.XLSR_300M, utterance_seconds=seconds, ctc_batches=(1, 1), pretraining_batch=1,
                            warmup_steps=0, timed_steps=1, transcribe_seconds=0.0)
    with tempfile.TemporaryDirectory() as folder:
        context = gpu_check.Context(torch.device("cpu"), sizes, "fp32", Path(folder))
        start = time.perf_counter()
        if kind == "ctc":
            from fieldasr.train.tasks import CTCTask

            task, batch = CTCTask(context.ctc_model(), gpu_check.PHONES), gpu_check.ctc_batch(context, 1)
        else:
            task, batch = gpu_check.pretraining_task(context), gpu_check.audio_batch(context, 1)
        built = time.perf_counter() - start
        timing = gpu_check.train_steps(context, task, batch, seconds)
    return {"parameters": sum(p.numel() for p in task.parameters()), "trainable": sum(p.numel() for p in task.parameters() if p.requires_grad),
            "build_seconds": built, "step_seconds": timing.seconds_per_step,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main(argv: list[str] | None = None) -> list[list[object]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="audio in the batch (one utterance)")
    parser.add_argument("--step", choices=sorted(STEPS.values()), help=argparse.SUPPRESS)  # the child process's one step
    add_report_option(parser, "xlsr_cpu_step")
    arguments = parser.parse_args(argv)
    if arguments.step:
        print(json.dumps(one_step(arguments.step, arguments.seconds)))
        return []
    rows = []
    for name, kind in STEPS.items():
        child = subprocess.run([sys.executable, __file__, "--step", kind, "--seconds", str(arguments.seconds)],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            sys.exit(f"{name} failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append([name, f"{result['parameters'] / 1e6:.1f} M ({result['trainable'] / 1e6:.1f} M trained)",
                     f"{result['build_seconds']:.1f}", f"{result['step_seconds']:.1f}", f"{result['peak_rss_gib']:.2f}"])
        print(rows[-1], flush=True)
    table = Table("One optimizer step on the CPU", ["step", "parameters", "model built (s)", "step (s)", "peak RSS (GiB)"], rows,
                  note=f"XLS-R 300m shape (24 layers, 1024 hidden, 16 heads, 4096 FFN), random weights; one {arguments.seconds:g} s "
                       f"utterance, fp32, AdamW, feature encoder frozen for CTC; {torch.get_num_threads()} torch threads; "
                       "each step in its own process (peak RSS includes Python, torch and transformers).")
    publish(arguments.output, "XLS-R 300m: one fine-tuning and one continued-pretraining step on the CPU", [table])
    return rows


if __name__ == "__main__":
    main()
