"""Hugging Face `audiofolder`: audio files with a `metadata.csv` or `metadata.jsonl` naming them in `file_name`.

Reading: every metadata file in the folder and its subfolders (`train/`, `test/`, ... splits); `file_name` is relative
to the metadata file's folder; the transcription is the `transcription` column (else `text`, else `sentence`);
`speaker_id`/`speaker` and `language` fill those fields and any other column goes into the segment's custom data.
Each row is one whole-file transcription; the recording id is the file's path under the folder, as for `folder`.

Writing: one WAV per segment, named by the segment id (cut from its recording, keeping its rate, channels and sample
format where WAV has it, else 16-bit), and `metadata.csv` with `file_name`, `transcription`, `speaker_id`, `language`
and the segment's source recording and times, which `datasets.load_dataset("audiofolder", data_dir=OUT)` loads.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fieldasr.data.formats.base import ExportResult, read_lines, require_audio, seconds_text
from fieldasr.data.manifest import Corpus
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_directory, atomic_write_text

METADATA_NAMES = ("metadata.csv", "metadata.jsonl")
TEXT_COLUMNS = ("transcription", "text", "sentence")
SPEAKER_COLUMNS = ("speaker_id", "speaker")


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise AnnotationError(f"{path}: not UTF-8 ({error.reason} at byte {error.start}). Save it as UTF-8.") from None
        for number, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
            yield f"{path} line {number}", row
        return
    for number, line in read_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise AnnotationError(f"{path} line {number}: not valid JSON ({error.msg}). Each line must be one object with file_name.") from None
        if not isinstance(row, dict):
            raise AnnotationError(f"{path} line {number}: expected a JSON object with file_name.")
        yield f"{path} line {number}", row


def _text_column(path: Path, columns: set[str]) -> str:
    if "file_name" not in columns:
        raise AnnotationError(f"{path}: no 'file_name' column (it has {', '.join(sorted(columns)) or 'none'}). "
                              "An audiofolder's metadata names each audio file in file_name.")
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
    raise AnnotationError(f"{path}: no transcription column (one of {', '.join(TEXT_COLUMNS)}; it has {', '.join(sorted(columns))}). "
                          "Rename the column holding the text to 'transcription'.")


def read_audiofolder(source: Path, language: str | None = None, media: MediaSearch | None = None) -> Iterator[SourceFile | SkippedItem]:
    """One SourceFile per metadata row (a whole-file transcription)."""
    folder = Path(source)
    tables = sorted(path for path in folder.rglob("metadata.*") if path.name in METADATA_NAMES) if folder.is_dir() else []
    if not tables:
        raise AnnotationError(f"{folder}: no metadata.csv or metadata.jsonl in this folder or below. Give the audiofolder's top folder.")
    for table in tables:
        rows = list(_rows(table))
        text_column = _text_column(table, set().union(*(row.keys() for _, row in rows)) if rows else set())
        for where, row in rows:
            name = str(row.get("file_name") or "").strip()
            if not name:
                yield SkippedItem(str(table), where.removeprefix(f"{table} "), "no audio file in the file_name column", "bad-row")
                continue
            speaker = next((str(row[column]) for column in SPEAKER_COLUMNS if row.get(column) not in (None, "")), None)
            custom = {key: value for key, value in row.items()
                      if key not in ("file_name", text_column, "language", *SPEAKER_COLUMNS) and value not in (None, "")}
            annotation = SourceAnnotation(0.0, None, str(row.get(text_column) or ""), "", where.removeprefix(f"{table} "),
                                          speaker, row.get("language") or language, custom)
            yield SourceFile(source=table, media=table.parent / name, annotations=(annotation,))


def write_audiofolder(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """`out/metadata.csv` and `out/<segment id>.wav`, one audio file per segment."""
    import soundfile

    require_audio(corpus, "an audiofolder", out)
    skipped, rows = [], []
    with atomic_directory(out, overwrite=overwrite) as staging:
        for segment in corpus.segments:
            if "/" in segment.id or "\\" in segment.id or segment.id.startswith("."):
                skipped.append(SkippedItem("segment", segment.id, "the id cannot be a file name; rename the segment", "bad-id"))
                continue
            recording = corpus.recordings[segment.recording_id]
            first = round(segment.start * recording.sampling_rate)
            frames = round(segment.end * recording.sampling_rate) - first
            samples, rate = soundfile.read(recording.path, start=first, frames=frames, always_2d=True, dtype="float64")
            subtype = soundfile.info(recording.path).subtype
            name = f"{segment.id}.wav"
            soundfile.write(staging / name, samples, rate, subtype=subtype if soundfile.check_format("WAV", subtype) else "PCM_16")
            rows.append({"file_name": name, "transcription": segment.text or "", "speaker_id": segment.speaker or "",
                         "language": segment.language or "", "source_recording": segment.recording_id,
                         "source_start": seconds_text(segment.start), "source_end": seconds_text(segment.end)})
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=["file_name", "transcription", "speaker_id", "language",
                                                   "source_recording", "source_start", "source_end"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(staging / "metadata.csv", table.getvalue())
    notes = ("each segment is a WAV file of its own, cut from its recording; metadata.csv names its source recording and times.",)
    return ExportResult(out, (out / "metadata.csv",), len(rows), tuple(skipped), notes)
