"""Voice activity detection speed on one core, silero's reference path vs fieldasr's, and CLI start-up time.

Audio: espeak-ng sentences with 8 s pauses (at 16 kHz, and at 22.05 kHz so that resampling is included),
digital silence, and white noise. "Reference" is what fieldasr did before: read the file, then silero's own
`get_speech_timestamps` (one model call per 32 ms frame). "fieldasr" is `fieldasr.vad.detect_speech` from
the file (reading, resampling, model, thresholding). Both run on one thread (`torch.set_num_threads(1)`).
Start-up: wall time of `python -m fieldasr ...` in a fresh interpreter (median of 3), and which heavy
packages it loaded.

    PYTHONPATH=. python benchmarks/vad_speed.py [--minutes 4]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmark_doc import Table, write_benchmark_doc
from fieldasr.audio import load_audio, write_audio
from fieldasr.vad import VadOptions, detect_speech, read_blocks, reference_speech_regions

SENTENCES = (
    "All human beings are born free and equal in dignity and rights.",
    "They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood.",
    "Everyone has the right to life, liberty and security of person.",
    "No one shall be held in slavery or servitude.",
)


def espeak_speech(folder: Path, seconds: float, pause_seconds: float = 8.0) -> np.ndarray:
    """16 kHz espeak-ng sentences, each followed by a pause, repeated up to `seconds`."""
    spoken = []
    for number, sentence in enumerate(SENTENCES):
        path = folder / f"sentence{number}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), sentence], check=True)
        spoken += [load_audio(path), np.zeros(int(pause_seconds * 16000), dtype=np.float32)]
    block = np.concatenate(spoken)
    return np.tile(block, int(np.ceil(seconds * 16000 / len(block))))[: int(seconds * 16000)]


def recordings(folder: Path, seconds: float) -> dict[str, Path]:
    speech = espeak_speech(folder, seconds)
    noise = (np.random.default_rng(0).standard_normal(len(speech)) * 0.05).astype(np.float32)
    files = {"speech, 16 kHz": speech, "silence, 16 kHz": np.zeros_like(speech), "white noise, 16 kHz": noise}
    paths = {}
    for name, samples in files.items():
        paths[name] = folder / f"{name.split(',')[0].replace(' ', '_')}.wav"
        write_audio(paths[name], samples)
    paths["speech, 22.05 kHz"] = folder / "speech_22k.wav"
    subprocess.run(["sox", str(paths["speech, 16 kHz"]), "-r", "22050", str(paths["speech, 22.05 kHz"])], check=True)
    return paths


def timed(function, *arguments):
    start = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - start


def vad_row(name: str, path: Path) -> list[object]:
    options = VadOptions()
    _, read_seconds = timed(lambda: list(read_blocks(path, options.block_seconds)))
    samples, reference_read = timed(load_audio, path)
    seconds = len(samples) / 16000
    reference, reference_model = timed(reference_speech_regions, torch.from_numpy(samples), options)
    ours, ours_seconds = timed(detect_speech, path, options)
    worst = max((max(abs(a.start - b.start), abs(a.end - b.end)) for a, b in zip(ours, reference)), default=0.0)
    agreement = f"{len(ours)} / {len(reference)}, {worst * 1000:.0f} ms" if len(ours) == len(reference) else f"{len(ours)} / {len(reference)}"
    reference_total = reference_read + reference_model
    return [name, f"{seconds:.0f}", f"{seconds / reference_total:.1f}x", f"{seconds / ours_seconds:.1f}x",
            f"{reference_total / ours_seconds:.1f}", f"{read_seconds / ours_seconds:.0%}", agreement]


STARTUP_PROBE = """
import json, sys, time
start = time.perf_counter()
from fieldasr.cli import main
sys.argv = ["fieldasr", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps([name for name in ("torch", "transformers", "speechbrain") if name in sys.modules]), file=sys.stderr)
"""


def startup_row(arguments: tuple[str, ...], repeats: int = 3) -> list[object]:
    times, heavy = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", STARTUP_PROBE, json.dumps(arguments)], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        heavy = json.loads(result.stderr.strip().splitlines()[-1])
    return ["fieldasr " + " ".join(arguments), f"{statistics.median(times):.2f}", ", ".join(heavy) or "none"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="length of each test recording")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks/vad_speed.md"))
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    tables = []
    with tempfile.TemporaryDirectory() as temporary:
        paths = recordings(Path(temporary), arguments.minutes * 60)
        detect_speech(paths["speech, 16 kHz"])  # load the model and let TorchScript settle before timing
        rows = [vad_row(name, path) for name, path in paths.items()]
    tables.append(Table(
        "VAD on one core", ["audio", "seconds", "reference (read + silero get_speech_timestamps)", "fieldasr detect_speech",
                            "speed-up", "share of fieldasr's time spent reading + resampling", "regions fieldasr / reference, worst edge gap"],
        rows, note="Speeds are audio seconds per wall-clock second (× real time), one torch thread, default VadOptions."))
    write_benchmark_doc(arguments.output, "VAD speed and CLI start-up", tables)
    commands = [("--help",), ("transcribe", "--help"), ("vad-chunk", "--help"), ("pretrain", "--help"),
                ("validate", "--help"), ("g2p", "--spec", "mi", "kia ora")]
    tables.append(Table("CLI start-up", ["command", "wall seconds (median of 3)", "heavy packages loaded"],
                        [startup_row(command) for command in commands],
                        note="A fresh interpreter each time; heavy = torch, transformers, speechbrain."))
    print(write_benchmark_doc(arguments.output, "VAD speed and CLI start-up", tables).read_text())


if __name__ == "__main__":
    main()
