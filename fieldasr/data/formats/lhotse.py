"""Lhotse manifests: a RecordingSet and a SupervisionSet as JSONL(.gz), read and written without Lhotse installed.

A recording is `{"id", "sources": [{"type": "file", "channels": [0], "source": PATH}], "sampling_rate", "num_samples",
"duration", "channel_ids"}`; a supervision `{"id", "recording_id", "start", "duration", "channel", "text", "language",
"speaker", "gender", "custom", "alignment"}`. Lhotse recipes name the pair `<corpus>_recordings_<part>.jsonl.gz` and
`<corpus>_supervisions_<part>.jsonl.gz`; give the folder (every pair in it is read) or one supervisions file.

Recordings whose audio is not one plain file (a command, a URL, in memory, one file per channel) are skipped with
their supervisions, and counted. Supervision fields fieldasr has no place for (gender, alignment, a channel other
than 0) are kept in the segment's custom data; fieldasr's phones travel in Lhotse's `custom`.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fieldasr.data.formats.base import ExportResult, absolute_audio_path, parse_seconds, require_audio
from fieldasr.data.manifest import Corpus, Segment, open_text
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_directory

RECORDINGS_FILE = "recordings.jsonl.gz"
SUPERVISIONS_FILE = "supervisions.jsonl.gz"
_KEPT_IN_CUSTOM = ("gender", "alignment")


def _objects(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        with open_text(path, "r") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                where = f"{path} line {number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise AnnotationError(f"{where}: not valid JSON ({error.msg}). Each line must be one Lhotse manifest object.") from None
                if not isinstance(record, dict):
                    raise AnnotationError(f"{where}: expected a JSON object. Each line must be one Lhotse manifest object.")
                yield where, record
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise AnnotationError(f"{path}: cannot be read as (gzipped) UTF-8 JSONL ({error}). Write it again with Lhotse's to_file.") from None


def _field(record: dict[str, Any], name: str, where: str) -> Any:
    if name not in record:
        raise AnnotationError(f"{where}: no {name!r} field. A Lhotse {'supervision' if 'recording_id' in record else 'recording'} "
                              f"needs it; write the manifest with Lhotse's to_file.")
    return record[name]


def manifest_pairs(source: Path) -> list[tuple[Path, Path]]:
    """(recordings, supervisions) files of `source`: a supervisions file, or a folder of such pairs."""
    supervisions = [source] if source.is_file() else sorted(path for path in source.glob("*supervisions*.jsonl*") if path.is_file())
    if not supervisions:
        raise AnnotationError(f"{source}: no Lhotse supervisions manifest (*supervisions*.jsonl or .jsonl.gz) here. "
                              "Give the folder holding the recordings and supervisions manifests.")
    pairs = []
    for path in supervisions:
        recordings = path.with_name(path.name.replace("supervisions", "recordings"))
        if recordings == path or not recordings.is_file():
            raise AnnotationError(f"{path}: its recordings manifest {recordings.name} is not beside it. Lhotse writes both; "
                                  "put them in one folder with names that differ only in 'recordings'/'supervisions'.")
        pairs.append((recordings, path))
    return pairs


def _audio_file(record: dict[str, Any], where: str) -> Path | str:
    """The recording's one audio file, or the reason fieldasr cannot read it."""
    sources = _field(record, "sources", where)
    if not isinstance(sources, list) or not sources:
        raise AnnotationError(f"{where}: 'sources' must be a non-empty list. Write the manifest with Lhotse's to_file.")
    if len(sources) > 1:
        return f"audio in {len(sources)} sources (one per channel); fieldasr reads one file per recording: merge them into one file"
    kind, value = sources[0].get("type"), sources[0].get("source")
    if kind != "file":
        return f"audio of source type {kind!r} ({str(value)[:60]!r}); fieldasr reads audio files: write it to a file and list that"
    return Path(value)


def _annotation(record: dict[str, Any], where: str, language: str | None) -> SourceAnnotation:
    identifier = str(_field(record, "id", where))
    start = parse_seconds(str(_field(record, "start", where)), where, "start")
    duration = parse_seconds(str(_field(record, "duration", where)), where, "duration")
    if duration == 0:
        raise AnnotationError(f"{where}: supervision {identifier!r} has duration 0. Fix its times or delete the line.")
    custom = dict(record.get("custom") or {})
    custom.update({name: record[name] for name in _KEPT_IN_CUSTOM if record.get(name) is not None})
    if record.get("channel", 0) not in (0, [0]):
        custom["channel"] = record["channel"]
    return SourceAnnotation(start, round(start + duration, 6), record.get("text") or "", identifier, f"supervision {identifier}",
                            record.get("speaker"), record.get("language") or language, custom, segment_id=identifier)


def read_lhotse(source: Path, language: str | None = None, media: MediaSearch | None = None) -> Iterator[SourceFile | SkippedItem]:
    """One SourceFile per recording that has supervisions; recordings fieldasr cannot read are skipped with a reason."""
    for recordings_path, supervisions_path in manifest_pairs(Path(source)):
        recordings: dict[str, tuple[Path | str, str]] = {}
        for where, record in _objects(recordings_path):
            recordings[str(_field(record, "id", where))] = (_audio_file(record, where), where)
        annotations: dict[str, list[SourceAnnotation]] = defaultdict(list)
        for where, record in _objects(supervisions_path):
            recording_id = str(_field(record, "recording_id", where))
            if recording_id not in recordings:
                raise AnnotationError(f"{where}: recording {recording_id!r} is not in {recordings_path}. Add it there or delete this line.")
            annotations[recording_id].append(_annotation(record, where, language))
        for recording_id, (audio, where) in recordings.items():
            listed = annotations.get(recording_id, [])
            if isinstance(audio, str):
                yield SkippedItem(where, f"recording {recording_id}", f"{audio} ({len(listed)} supervision(s) not used)", "piped-audio")
            elif not listed:
                yield SkippedItem(where, f"recording {recording_id}", "no supervision refers to this recording", "no-transcription")
            else:
                yield SourceFile(source=supervisions_path, media=audio, annotations=tuple(listed), recording_id=recording_id)


def _supervision(segment: Segment, channels: int) -> dict[str, Any]:
    custom = dict(segment.custom)
    if segment.phones is not None:
        custom["phones"] = list(segment.phones)
    record: dict[str, Any] = {"id": segment.id, "recording_id": segment.recording_id, "start": segment.start,
                              "duration": segment.duration, "channel": 0 if channels == 1 else list(range(channels))}
    for name in ("text", "language", "speaker"):
        if getattr(segment, name) is not None:
            record[name] = getattr(segment, name)
    if custom:
        record["custom"] = custom
    return record


def write_lhotse(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """`out/recordings.jsonl.gz` and `out/supervisions.jsonl.gz`, as Lhotse's RecordingSet/SupervisionSet.to_file write them."""
    require_audio(corpus, "a Lhotse recordings manifest", out)
    used = sorted({segment.recording_id for segment in corpus.segments})
    recordings = []
    for recording_id in used:
        recording = corpus.recordings[recording_id]
        channels = list(range(recording.channels))
        recordings.append({"id": recording.id, "sources": [{"type": "file", "channels": channels, "source": absolute_audio_path(recording)}],
                           "sampling_rate": recording.sampling_rate, "num_samples": recording.num_samples,
                           "duration": recording.duration, "channel_ids": channels})
    supervisions = [_supervision(segment, corpus.recordings[segment.recording_id].channels) for segment in corpus.segments]
    with atomic_directory(out, overwrite=overwrite) as staging:
        for name, records in ((RECORDINGS_FILE, recordings), (SUPERVISIONS_FILE, supervisions)):
            with open_text(staging / name, "w") as stream:
                for record in records:
                    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ExportResult(out, (out / RECORDINGS_FILE, out / SUPERVISIONS_FILE), len(supervisions))
