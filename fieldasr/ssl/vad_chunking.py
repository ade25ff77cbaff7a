"""Untranscribed long recordings → speech chunks of 2-20 s for self-supervised pretraining.

Speech is found with silero-vad (`fieldasr.vad`: its TorchScript model ships inside the `silero-vad` wheel, so
this works offline). Recordings are read block by block, so hours of audio cost one block of memory; neighbouring
speech regions are joined into chunks across short pauses and regions longer than the maximum are cut evenly. What is left out is counted with its reason, never dropped
silently. Chunks are written as a segment manifest (text None) pointing into the original recordings.
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.audio import AUDIO_EXTENSIONS
from fieldasr.data.manifest import Recording, Segment, read_recordings, write_manifest
from fieldasr.errors import FieldasrError
from fieldasr.vad import VadOptions, detect_speech

DISCARD_TOO_SHORT = "speech chunk shorter than the minimum"
DISCARD_NO_SPEECH = "no speech found in recording"


class ChunkingError(FieldasrError):
    """VAD chunking cannot be done as asked."""


# Fine regions (short pauses kept as gaps, little padding, no length limit): chunks are made from them.
CHUNKING_VAD = VadOptions(min_silence_seconds=0.1, speech_pad_seconds=0.03, max_segment_seconds=math.inf)


@dataclass(frozen=True)
class ChunkingOptions:
    min_seconds: float = 2.0
    max_seconds: float = 20.0
    max_pause_seconds: float = 1.0  # pauses up to this long stay inside a chunk
    # The detector's own settings (one set, `fieldasr.vad.VadOptions`); the chunker joins and cuts regions itself.
    vad: VadOptions = CHUNKING_VAD

    def validate(self) -> None:
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ChunkingError(f"need 0 < min_seconds <= max_seconds (got {self.min_seconds}, {self.max_seconds}).")
        self.vad.validate()


@dataclass(frozen=True)
class Discarded:
    recording_id: str
    start: float
    duration: float
    reason: str


@dataclass(frozen=True)
class ChunkingResult:
    segments: tuple[Segment, ...]
    discarded: tuple[Discarded, ...]
    speech_seconds: float  # all speech the VAD found, kept or not

    @property
    def kept_seconds(self) -> float:
        return sum(segment.duration for segment in self.segments)

    def discarded_by_reason(self) -> dict[str, tuple[int, float]]:
        """reason → (how many, seconds)."""
        counts: Counter[str] = Counter()
        seconds: Counter[str] = Counter()
        for item in self.discarded:
            counts[item.reason] += 1
            seconds[item.reason] += item.duration
        return {reason: (counts[reason], seconds[reason]) for reason in counts}


def speech_regions(recording: Recording, options: ChunkingOptions = ChunkingOptions()) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in `recording`, read block by block."""
    return [(region.start, region.end) for region in detect_speech(recording.path, options.vad)]


def group_into_chunks(
    regions: Sequence[tuple[float, float]], options: ChunkingOptions = ChunkingOptions()
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Join speech regions across short pauses into chunks of at most max_seconds; cut longer regions evenly.

    Returns (chunks, too_short): chunks within [min_seconds, max_seconds] and the ones below the minimum.
    """
    pieces = []
    for start, end in regions:
        parts = max(1, math.ceil((end - start) / options.max_seconds - 1e-9))
        width = (end - start) / parts
        pieces.extend((start + k * width, start + (k + 1) * width) for k in range(parts))
    chunks: list[tuple[float, float]] = []
    for start, end in pieces:
        if chunks and start - chunks[-1][1] <= options.max_pause_seconds and end - chunks[-1][0] <= options.max_seconds:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    kept = [chunk for chunk in chunks if chunk[1] - chunk[0] >= options.min_seconds]
    too_short = [chunk for chunk in chunks if chunk[1] - chunk[0] < options.min_seconds]
    return kept, too_short


def chunk_recordings(
    recordings: Iterable[Recording],
    out_dir: str | Path | None = None,
    min_s: float = 2.0,
    max_s: float = 20.0,
    language: str | None = None,
    options: ChunkingOptions | None = None,
) -> ChunkingResult:
    """VAD-chunk each recording; with `out_dir`, write `recordings.jsonl.gz`, `segments.jsonl.gz` and
    `discarded.tsv` there.

    With `out_dir`, the speech found in each recording is also logged to `vad_regions.jsonl` as soon as it is
    known: a run that was killed resumes where it stopped, and re-chunking with other lengths skips the VAD.
    """
    options = options or ChunkingOptions(min_seconds=min_s, max_seconds=max_s)
    options.validate()
    recordings = list(recordings)
    cache = RegionCache(Path(out_dir) / "vad_regions.jsonl", options) if out_dir is not None else None
    segments: list[Segment] = []
    discarded: list[Discarded] = []
    speech_seconds = 0.0
    for recording in tqdm(recordings, desc="VAD chunking", unit="recording"):
        regions = cache.get(recording) if cache is not None else None
        if regions is None:
            regions = speech_regions(recording, options)
            if cache is not None:
                cache.add(recording, regions)
        speech_seconds += sum(end - start for start, end in regions)
        if not regions:
            discarded.append(Discarded(recording.id, 0.0, recording.duration, DISCARD_NO_SPEECH))
            continue
        kept, too_short = group_into_chunks(regions, options)
        discarded.extend(Discarded(recording.id, start, end - start, DISCARD_TOO_SHORT) for start, end in too_short)
        segments.extend(_segment(recording, start, end, language) for start, end in kept)
    result = ChunkingResult(segments=tuple(segments), discarded=tuple(discarded), speech_seconds=speech_seconds)
    if out_dir is not None:
        write_manifest(Path(out_dir) / "recordings.jsonl.gz", recordings)
        write_manifest(Path(out_dir) / "segments.jsonl.gz", segments)
        write_discarded(Path(out_dir) / "discarded.tsv", result.discarded)
    return result


def _segment(recording: Recording, start: float, end: float, language: str | None) -> Segment:
    return Segment(
        id=f"{recording.id}-{round(start * 1000):09d}-{round(end * 1000):09d}",
        recording_id=recording.id,
        start=round(start, 3),
        duration=round(end - start, 3),
        text=None,
        language=language,
    )


class RegionCache:
    """Speech regions per recording, one JSON line each, appended as they are found.

    An entry is reused only for the same file (path and number of samples) and the same VAD settings;
    a torn last line from a kill is ignored.
    """

    def __init__(self, path: Path, options: ChunkingOptions) -> None:
        self.path = path
        # Regions do not depend on the block size; "vad" names the detector, so logs of the old windowed one are redone.
        vad = options.vad
        self.settings = {"vad": "silero-sequence", "threshold": vad.threshold, "min_speech_seconds": vad.min_speech_seconds,
                         "min_silence_seconds": vad.min_silence_seconds, "speech_pad_seconds": vad.speech_pad_seconds}
        self.entries: dict[str, dict] = {}
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                with open(path, "a", encoding="utf-8") as stream:
                    stream.write("\n")  # end a line torn by a kill, so the next entry starts cleanly
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and entry.get("settings") == self.settings:
                    self.entries[entry.get("recording_id")] = entry

    def get(self, recording: Recording) -> list[tuple[float, float]] | None:
        entry = self.entries.get(recording.id)
        if entry is None or entry.get("path") != recording.path or entry.get("num_samples") != recording.num_samples:
            return None
        return [(float(start), float(end)) for start, end in entry["regions"]]

    def add(self, recording: Recording, regions: list[tuple[float, float]]) -> None:
        entry = {
            "recording_id": recording.id, "path": recording.path, "num_samples": recording.num_samples,
            "settings": self.settings, "regions": [list(region) for region in regions],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(entry) + "\n")
        self.entries[recording.id] = entry


def write_discarded(path: Path, discarded: Iterable[Discarded]) -> None:
    """Tab-separated list of what was left out and why, written atomically."""
    lines = ["recording_id\tstart\tduration\treason"]
    lines += [f"{d.recording_id}\t{d.start:.3f}\t{d.duration:.3f}\t{d.reason}" for d in discarded]
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def find_recordings(paths: Iterable[str | Path]) -> list[Recording]:
    """Recordings from audio files, folders searched recursively for audio, and recordings manifests (.jsonl[.gz]).

    Ids are file names without extension; two files with the same name are refused, naming both.
    """
    found: dict[str, Recording] = {}
    for path in map(Path, paths):
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            candidates = list(read_recordings(path))
        elif path.is_dir():
            candidates = [_recording_of(file) for file in sorted(path.rglob("*")) if file.suffix.lower() in AUDIO_EXTENSIONS]
        else:
            candidates = [_recording_of(path)]
        for recording in candidates:
            earlier = found.get(recording.id)
            if earlier is not None and earlier.path != recording.path:
                raise ChunkingError(
                    f"two recordings share the id {recording.id!r}: {earlier.path} and {recording.path}. "
                    "Rename one of the files, or chunk the folders separately into different output folders."
                )
            found[recording.id] = recording
    if not found:
        raise ChunkingError("no audio found in the given paths; give audio files, folders holding them, or a recordings manifest.")
    return list(found.values())


def _recording_of(path: Path) -> Recording:
    return Recording.from_audio(path.stem, path)


@dataclass(frozen=True)
class ChunkedSources:
    recordings: int
    audio_seconds: float  # of all the recordings found
    result: ChunkingResult


def chunk_sources(sources: Iterable[str | Path], out_dir: str | Path, language: str | None = None,
                  options: ChunkingOptions | None = None) -> ChunkedSources:
    """The recordings found in `sources` (see `find_recordings`), chunked into `out_dir` (see `chunk_recordings`)."""
    recordings = find_recordings(sources)
    result = chunk_recordings(recordings, out_dir, language=language, options=options)
    return ChunkedSources(len(recordings), sum(recording.duration for recording in recordings), result)
