"""Typed manifests: recordings and the segments annotated in them, stored as JSONL (optionally gzipped).

A `Recording` is one audio file; a `Segment` is one stretch of it with its transcription. Both are frozen:
change one with `dataclasses.replace` (or `Segment.with_`). Files are streamed line by line, so a
manifest of a million segments never has to fit in memory.
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fieldasr.errors import ManifestError

# Samples may disagree with a stored duration by rounding; one 10 ms frame is the tolerance.
DURATION_TOLERANCE = 0.01


@dataclass(frozen=True)
class Recording:
    id: str
    path: str
    sampling_rate: int
    num_samples: int
    channels: int = 1
    duration: float = -1.0  # filled from num_samples / sampling_rate when not given

    def __post_init__(self) -> None:
        if self.duration < 0 and self.sampling_rate > 0:
            object.__setattr__(self, "duration", self.num_samples / self.sampling_rate)

    @classmethod
    def from_audio(cls, identifier: str, path: str | Path) -> "Recording":
        """A recording described by its audio file's header (rate, length, channels); raises AudioError."""
        from fieldasr.audio import audio_info

        info = audio_info(path)
        return cls(id=identifier, path=str(path), sampling_rate=info.sampling_rate, num_samples=info.num_samples, channels=info.channels)

    def validate(self) -> None:
        where = f"recording {self.id!r} ({self.path})"
        if not self.id:
            raise ManifestError(f"{where}: empty id.")
        if self.sampling_rate <= 0 or self.num_samples <= 0 or self.channels <= 0:
            raise ManifestError(
                f"{where}: sampling_rate, num_samples and channels must be positive "
                f"(got {self.sampling_rate}, {self.num_samples}, {self.channels}). Re-run `fieldasr prepare`."
            )
        expected = self.num_samples / self.sampling_rate
        if abs(expected - self.duration) > DURATION_TOLERANCE:
            raise ManifestError(
                f"{where}: duration {self.duration:.3f} s disagrees with num_samples / sampling_rate = {expected:.3f} s. "
                "The audio file changed after the manifest was made; re-run `fieldasr prepare`."
            )


@dataclass(frozen=True)
class Segment:
    id: str
    recording_id: str
    start: float
    duration: float
    text: str | None = None
    speaker: str | None = None
    language: str | None = None
    phones: tuple[str, ...] | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.phones is not None and not isinstance(self.phones, tuple):
            object.__setattr__(self, "phones", tuple(self.phones))

    @classmethod
    def spanning(cls, recording: Recording, **fields: Any) -> "Segment":
        """One segment covering the whole of `recording`, with its id (an utterance-per-file corpus)."""
        return cls(id=recording.id, recording_id=recording.id, start=0.0, duration=recording.duration, **fields)

    @property
    def end(self) -> float:
        return self.start + self.duration

    def with_(self, **changes: Any) -> "Segment":
        return dataclasses.replace(self, **changes)

    def validate(self, recording: Recording | None = None, require_text: bool = False) -> None:
        where = f"segment {self.id!r} (recording {self.recording_id!r}, {self.start:.3f}-{self.end:.3f} s)"
        if not self.id:
            raise ManifestError(f"{where}: empty id.")
        if self.start < 0:
            raise ManifestError(f"{where}: negative start time. Fix the annotation's time stamps.")
        if self.duration <= 0:
            raise ManifestError(f"{where}: duration {self.duration:.3f} s is not positive. Fix or delete this annotation.")
        if require_text and not (self.text or "").strip():
            raise ManifestError(f"{where}: empty transcription, but this task needs text. Fill it in or filter empty segments.")
        if recording is not None:
            if recording.id != self.recording_id:
                raise ManifestError(f"{where}: checked against recording {recording.id!r}.")
            if self.end > recording.duration + DURATION_TOLERANCE:
                raise ManifestError(
                    f"{where}: ends after the audio ({recording.duration:.3f} s, {recording.path}). "
                    "The annotation belongs to a longer or different recording; check the media link."
                )


ManifestItem = TypeVar("ManifestItem", Recording, Segment)


def _open_text(path: Path, mode: str) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _to_json(item: Recording | Segment) -> dict[str, Any]:
    record = dataclasses.asdict(item)
    if isinstance(item, Segment):
        if item.phones is not None:
            record["phones"] = list(item.phones)
        record["custom"] = dict(item.custom)
    return record


def write_manifest(path: str | Path, items: Iterable[Recording | Segment]) -> int:
    """Write items as JSONL(.gz) atomically (temporary file, then rename); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(handle)
    count = 0
    try:
        with _open_text(Path(temporary), "w") as stream:
            for item in items:
                stream.write(json.dumps(_to_json(item), ensure_ascii=False) + "\n")
                count += 1
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _field_names(cls: type) -> tuple[set[str], set[str]]:
    fields = dataclasses.fields(cls)
    required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return required, {f.name for f in fields}


def _read(path: str | Path, cls: type[ManifestItem]) -> Iterator[ManifestItem]:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found. Create it with `fieldasr prepare`.")
    required, known = _field_names(cls)
    kind = cls.__name__.lower()
    with _open_text(path, "r") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ManifestError(f"{path} line {number}: not valid JSON ({error.msg}). Each line must be one {kind} object.") from error
            if not isinstance(record, dict):
                raise ManifestError(f"{path} line {number}: expected a JSON object describing a {kind}.")
            missing = sorted(required - record.keys())
            if missing:
                raise ManifestError(
                    f"{path} line {number}: {kind} is missing field(s) {', '.join(missing)}; "
                    f"every {kind} needs {', '.join(sorted(required))}."
                )
            unknown = sorted(record.keys() - known)
            if unknown:
                raise ManifestError(f"{path} line {number}: unknown field(s) {', '.join(unknown)} for a {kind}; put extra data under 'custom'.")
            try:
                yield cls(**record)
            except (TypeError, ValueError) as error:
                raise ManifestError(f"{path} line {number}: {error}") from error


def read_recordings(path: str | Path) -> Iterator[Recording]:
    """Stream recordings from a JSONL(.gz) file."""
    return _read(path, Recording)


def read_segments(path: str | Path) -> Iterator[Segment]:
    """Stream segments from a JSONL(.gz) file."""
    return _read(path, Segment)


@dataclass(frozen=True)
class Corpus:
    """Recordings by id and their segments; the unit `prepare` writes and training reads."""

    recordings: Mapping[str, Recording]
    segments: tuple[Segment, ...]

    @classmethod
    def load(cls, folder: str | Path) -> "Corpus":
        folder = Path(folder)
        recordings = {}
        for recording in read_recordings(_find(folder, "recordings")):
            if recording.id in recordings:
                raise ManifestError(f"{folder}: recording id {recording.id!r} appears twice. Ids must be unique.")
            recordings[recording.id] = recording
        return cls(recordings=recordings, segments=tuple(read_segments(_find(folder, "segments"))))

    def save(self, folder: str | Path, compress: bool = True) -> None:
        folder = Path(folder)
        suffix = ".jsonl.gz" if compress else ".jsonl"
        write_manifest(folder / f"recordings{suffix}", self.recordings.values())
        write_manifest(folder / f"segments{suffix}", self.segments)

    def validate(self, require_text: bool = False) -> None:
        """Raise ManifestError at the first inconsistency (ids, times, text, links to recordings)."""
        for recording in self.recordings.values():
            recording.validate()
        seen: set[str] = set()
        for segment in self.segments:
            if segment.id in seen:
                raise ManifestError(f"segment id {segment.id!r} appears twice. Ids must be unique; re-run `fieldasr prepare`.")
            seen.add(segment.id)
            recording = self.recordings.get(segment.recording_id)
            if recording is None:
                raise ManifestError(f"segment {segment.id!r} refers to unknown recording {segment.recording_id!r}.")
            segment.validate(recording, require_text=require_text)

    @property
    def hours(self) -> float:
        return sum(segment.duration for segment in self.segments) / 3600


def _find(folder: Path, stem: str) -> Path:
    for suffix in (".jsonl.gz", ".jsonl"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise ManifestError(f"{folder}: no {stem}.jsonl(.gz) here. Create the manifests with `fieldasr prepare`.")
