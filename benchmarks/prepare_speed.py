"""How long `prepare` takes for 1,000 segments in each layout (target: a few seconds).

Builds, in a temporary folder, 10 recordings x 100 annotations as TextGrids and as ELAN files, and 1,000 short
WAV files with same-name .txt, then times `prepare_corpus` on each; writes docs/benchmarks/prepare_speed.md.

    PYTHONPATH=. python benchmarks/prepare_speed.py
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr.audio import write_audio
from fieldasr.data.elan_write import write_new_eaf
from fieldasr.data.prepare import prepare_corpus
from fieldasr.data.source import TierSelection
from fieldasr.data.textgrid import write_textgrid

RECORDINGS, PER_RECORDING, RATE = 10, 100, 16_000


def noise(seconds: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 0.05).astype(np.float32)


def long_recordings(folder: Path, kind: str) -> None:
    folder.mkdir()
    duration = PER_RECORDING * 2.0
    for number in range(RECORDINGS):
        audio = folder / f"rec{number:02d}.wav"
        write_audio(audio, noise(duration, number), RATE)
        annotations = [(2.0 * index + 0.1, 2.0 * index + 1.6, f"word{index} word{number}") for index in range(PER_RECORDING)]
        if kind == "textgrid":
            write_textgrid(audio.with_suffix(".TextGrid"), duration, {"words": annotations})
        else:
            write_new_eaf(audio.with_suffix(".eaf"), audio, {"words": annotations})


def short_files(folder: Path) -> None:
    folder.mkdir()
    for number in range(RECORDINGS * PER_RECORDING):
        write_audio(folder / f"utt{number:04d}.wav", noise(1.5, number), RATE)
        (folder / f"utt{number:04d}.txt").write_text(f"utterance {number}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_option(parser, "prepare_speed")
    arguments = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        long_recordings(root / "textgrid", "textgrid")
        long_recordings(root / "eaf", "eaf")
        short_files(root / "folder")
        for format in ("textgrid", "eaf", "folder"):
            selection = TierSelection(names=("words",)) if format != "folder" else TierSelection()
            started = time.perf_counter()
            result = prepare_corpus(root / format, format, format, out_dir=root / "manifests", selection=selection, progress=False)
            rows.append((format, result.counts["recordings"], result.counts["segments"], f"{time.perf_counter() - started:.2f}"))
    note = (f"{RECORDINGS * PER_RECORDING:,} segments in each layout: {RECORDINGS} recordings x {PER_RECORDING} annotations "
            "(TextGrid, ELAN), or one short wav + same-name .txt per segment (folder). Wall-clock seconds of `prepare_corpus`.")
    publish(arguments.output, "Data preparation speed", [Table("Seconds per layout", ("format", "recordings", "segments", "seconds"), rows, note)])


if __name__ == "__main__":
    main()
