"""Typed manifests: recordings and the segments annotated in them, stored as JSONL (optionally gzipped).

A `Recording` is one audio file; a `Segment` is one stretch of it with its transcription. Both are frozen:
change one with `dataclasses.replace` (or `Segment.with_`). Files are streamed line by line, so a
manifest of a million segments never has to fit in memory.

A corpus folder holds `recordings.jsonl(.gz)` and `segments.jsonl(.gz)`. A *text-only* corpus (`fieldasr prepare
--text-only`: annotations imported for language models, lexicons or G2P checks, no audio opened) holds
`segments.jsonl(.gz)` and `text_only.json` instead of a recordings manifest: nothing is known about its audio
(rate, length, even whether it exists), so nothing is claimed. Its segments are ordinary segments: times come
from the annotation files, and `recording_id` names the annotation file (or the audio a table row names).
`Corpus.load` refuses such a folder unless the caller asks for text (`text_only_ok=True`), so a command that
needs audio stops with an error saying how to prepare the corpus with audio.
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fieldasr.errors import ManifestError
from fieldasr.files import atomic_path

TEXT_ONLY_MARKER = "text_only.json"

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


def open_text(path: Path, mode: str) -> io.TextIOBase:
    """A UTF-8 text stream of `path`, gzipped when its name ends in .gz."""
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
    """Write items as JSONL(.gz) atomically, with ordinary file permissions; returns how many were written."""
    path = Path(path)
    count = 0
    with atomic_path(path, make_parents=True) as temporary:
        with open_text(temporary, "w") as stream:
            for item in items:
                stream.write(json.dumps(_to_json(item), ensure_ascii=False) + "\n")
                count += 1
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
    with open_text(path, "r") as stream:
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
    text_only: bool = False  # prepared with --text-only: no recordings, times from the annotation files

    @classmethod
    def load(cls, folder: str | Path, *, text_only_ok: bool = False) -> "Corpus":
        """The corpus in `folder`; a text-only corpus raises ManifestError unless `text_only_ok`."""
        folder = Path(folder)
        if is_text_only(folder):
            if not text_only_ok:
                refuse_text_only(folder)
            return cls(recordings={}, segments=tuple(read_segments(manifest_file(folder, "segments"))), text_only=True)
        recordings = {}
        for recording in read_recordings(manifest_file(folder, "recordings")):
            if recording.id in recordings:
                raise ManifestError(f"{folder}: recording id {recording.id!r} appears twice. Ids must be unique.")
            recordings[recording.id] = recording
        return cls(recordings=recordings, segments=tuple(read_segments(manifest_file(folder, "segments"))))

    def save(self, folder: str | Path, compress: bool = True) -> None:
        folder = Path(folder)
        suffix = ".jsonl.gz" if compress else ".jsonl"
        if self.text_only:
            write_manifest(folder / f"segments{suffix}", self.segments)
            for stale in (folder / "recordings.jsonl.gz", folder / "recordings.jsonl"):
                stale.unlink(missing_ok=True)  # from an earlier run with audio; it would contradict the marker
            note = {"text_only": True, "note": "prepared with `fieldasr prepare --text-only`: times come from the annotation files; "
                    "no audio was opened, so there is no recordings manifest."}
            with atomic_path(folder / TEXT_ONLY_MARKER, make_parents=True) as temporary:
                temporary.write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")
            return
        write_manifest(folder / f"recordings{suffix}", self.recordings.values())
        write_manifest(folder / f"segments{suffix}", self.segments)
        (folder / TEXT_ONLY_MARKER).unlink(missing_ok=True)  # from an earlier --text-only run

    def validate(self, require_text: bool = False) -> None:
        """Raise ManifestError at the first inconsistency (ids, times, text, links to recordings; a text-only
        corpus has no recordings to link to)."""
        for recording in self.recordings.values():
            recording.validate()
        seen: set[str] = set()
        for segment in self.segments:
            if segment.id in seen:
                raise ManifestError(f"segment id {segment.id!r} appears twice. Ids must be unique; re-run `fieldasr prepare`.")
            seen.add(segment.id)
            if self.text_only:
                segment.validate(require_text=require_text)
                continue
            recording = self.recordings.get(segment.recording_id)
            if recording is None:
                raise ManifestError(f"segment {segment.id!r} refers to unknown recording {segment.recording_id!r}.")
            segment.validate(recording, require_text=require_text)

    @property
    def hours(self) -> float:
        return sum(segment.duration for segment in self.segments) / 3600


def _milliseconds(seconds: float) -> int:
    return int(round(seconds * 1000))


def count_overlapping_pairs(segments: Iterable[Segment]) -> int:
    """How many pairs of segments of the same recording overlap (e.g. two speakers at once).

    Times are compared in whole milliseconds, ELAN's own unit: two annotations sharing a time slot meet but do not
    overlap, even where start + duration comes out as 84.61800000000001 against 84.618.
    """
    by_recording: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for segment in segments:
        by_recording[segment.recording_id].append((_milliseconds(segment.start), _milliseconds(segment.end)))
    pairs = 0
    for spans in by_recording.values():
        spans.sort()
        for index, (start, end) in enumerate(spans):
            for later_start, later_end in spans[index + 1:]:
                if later_start >= end:
                    break
                pairs += later_end > start
    return pairs


def manifest_file(folder: Path, stem: str) -> Path:
    """`stem`.jsonl.gz or `stem`.jsonl in a manifest folder; raises naming the folder when neither is there."""
    for suffix in (".jsonl.gz", ".jsonl"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise ManifestError(f"{folder}: no {stem}.jsonl(.gz) here. Create the manifests with `fieldasr prepare`.")


@dataclass(frozen=True)
class AudioProblem:
    recording_id: str
    path: str
    problem: str  # one of fieldasr.audio.AUDIO_PROBLEMS, or "changed" (the file no longer matches the manifest)
    message: str


def audio_problems(recordings: Iterable[Recording]) -> list[AudioProblem]:
    """Every recording whose audio file is missing, empty, truncated, not audio, unreadable or changed since `prepare`.

    Reads headers (and the last few samples, which show a cut-off FLAC or Ogg file), never whole files.
    """
    from fieldasr.audio import AudioFileError, audio_info, check_audio_end

    problems = []
    for recording in recordings:
        try:
            info = audio_info(recording.path)
            check_audio_end(recording.path, info)
        except AudioFileError as error:
            problems.append(AudioProblem(recording.id, recording.path, error.problem, str(error)))
            continue
        if (info.sampling_rate, info.num_samples) != (recording.sampling_rate, recording.num_samples):
            problems.append(AudioProblem(recording.id, recording.path, "changed", (
                f"{recording.path}: the file has {info.num_samples} samples at {info.sampling_rate} Hz, the manifest says "
                f"{recording.num_samples} at {recording.sampling_rate} Hz: it changed after `fieldasr prepare`; run prepare again.")))
    return problems


def is_text_only(folder: str | Path) -> bool:
    """Whether `folder` holds a corpus prepared with `prepare --text-only` (see the module docstring)."""
    return (Path(folder) / TEXT_ONLY_MARKER).is_file()


def refuse_text_only(*folders: str | Path | None) -> None:
    """Raise ManifestError when one of `folders` (None: not given) is a text-only corpus: for commands that need audio."""
    for folder in folders:
        if folder and is_text_only(folder):
            raise ManifestError(
                f"{folder}: this corpus was prepared with --text-only, so it has no audio to train or decode on. Prepare it with "
                "audio: run `fieldasr prepare` again without --text-only (with --media-dir DIR if the recordings are in another folder)."
            )
