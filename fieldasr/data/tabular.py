"""Tables and folders: Common Voice TSV, a CSV of (path, text[, start, end, speaker, language]), and audio + .txt.

Each reader yields one `SourceFile` per table row or audio file, and a `SkippedItem` for a row or file it
cannot use, so nothing is dropped without a reason. Audio is not opened here; `prepare` does that once per file.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from fieldasr.audio import AUDIO_EXTENSIONS
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile
from fieldasr.errors import AnnotationError

COMMON_VOICE_TABLE = "validated.tsv"
COMMON_VOICE_COLUMNS = ("path", "sentence")
COMMON_VOICE_KEPT = ("sentence_id", "age", "gender", "accents", "variant", "segment")  # copied into `custom` when present
CSV_COLUMNS = ("path", "text")
CSV_OPTIONAL = ("start", "end", "speaker", "language")


def common_voice_table(source: Path) -> Path:
    """The TSV to read: `source` itself, or `validated.tsv` in a Common Voice language folder."""
    table = source / COMMON_VOICE_TABLE if source.is_dir() else source
    if not table.is_file():
        raise AnnotationError(f"{table}: not found. Give a Common Voice language folder (with {COMMON_VOICE_TABLE} and clips/) or a .tsv file.")
    return table


def _rows(table: Path, required: tuple[str, ...], dialect: dict) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with open(table, encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream, **dialect)
            missing = [column for column in required if column not in (reader.fieldnames or [])]
            if missing:
                raise AnnotationError(
                    f"{table}: missing column(s) {', '.join(missing)} (it has {', '.join(reader.fieldnames or []) or 'no header'}). "
                    f"The first line must name the columns, including {', '.join(required)}."
                )
            for line, row in enumerate(reader, start=2):
                yield line, row
    except UnicodeDecodeError as error:
        raise AnnotationError(f"{table}: not UTF-8 ({error.reason} at byte {error.start}). Save it as UTF-8 (e.g. `iconv -f WINDOWS-1252 -t UTF-8`).") from None


def read_common_voice(source: str | Path, language: str | None = None) -> Iterator[SourceFile | SkippedItem]:
    """Rows of a Common Voice TSV: clips/<path>, sentence, client_id -> speaker, locale -> language."""
    table = common_voice_table(Path(source))
    clips = table.parent / "clips"
    # Sentences contain quotation marks; Common Voice does not quote fields.
    for line, row in _rows(table, COMMON_VOICE_COLUMNS, {"delimiter": "\t", "quoting": csv.QUOTE_NONE}):
        if not (row.get("path") or "").strip():
            yield SkippedItem(str(table), f"line {line}", "no clip path in the 'path' column", "bad-row")
            continue
        custom = {key: row[key] for key in COMMON_VOICE_KEPT if row.get(key)}
        annotation = SourceAnnotation(0.0, None, row.get("sentence") or "", "", f"line {line}",
                                      row.get("client_id") or None, row.get("locale") or language, custom)
        yield SourceFile(source=table, media=clips / row["path"].strip(), annotations=(annotation,))


def _times(row: dict[str, str]) -> tuple[float, float | None] | str:
    """(start, end) of a CSV row, or the reason they are unusable."""
    start_text, end_text = (row.get("start") or "").strip(), (row.get("end") or "").strip()
    if not start_text and not end_text:
        return 0.0, None
    if not start_text or not end_text:
        return "give both start and end (seconds), or neither for a whole-file transcription"
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        return f"start/end {start_text!r}/{end_text!r} are not numbers of seconds"
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
        return f"times {start}-{end} s need 0 <= start < end"
    return start, end


def read_csv(source: str | Path, language: str | None = None) -> Iterator[SourceFile | SkippedItem]:
    """Rows of a CSV with columns path,text[,start,end,speaker,language]; paths relative to the CSV's folder."""
    table = Path(source)
    if not table.is_file():
        raise AnnotationError(f"{table}: CSV file not found.")
    for line, row in _rows(table, CSV_COLUMNS, {}):
        where = f"line {line}"
        times = _times(row)
        if isinstance(times, str) or not (row.get("path") or "").strip():
            yield SkippedItem(str(table), where, times if isinstance(times, str) else "no audio path in the 'path' column", "bad-row")
            continue
        start, end = times
        key = "" if end is None else f"{round(start * 1000):08d}-{round(end * 1000):08d}"
        custom = {name: value for name, value in row.items() if name not in CSV_COLUMNS + CSV_OPTIONAL and name and value}
        annotation = SourceAnnotation(start, end, row.get("text") or "", key, where, (row.get("speaker") or "").strip() or None,
                                      (row.get("language") or "").strip() or language, custom)
        yield SourceFile(source=table, media=table.parent / row["path"].strip(), annotations=(annotation,))


def read_audio_folder(source: str | Path, language: str | None = None) -> Iterator[SourceFile | SkippedItem]:
    """Every audio file under `source` with a same-name UTF-8 .txt beside it (one transcription per file)."""
    folder = Path(source)
    if not folder.is_dir():
        raise AnnotationError(f"{folder}: not a folder. The 'folder' format reads audio files with same-name .txt transcriptions.")
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    audio = [path for path in files if path.suffix.lower() in AUDIO_EXTENSIONS]
    audio_stems = {path.with_suffix("") for path in audio}
    for text_file in files:
        if text_file.suffix.lower() == ".txt" and text_file.with_suffix("") not in audio_stems:
            yield SkippedItem(str(text_file), "", "no audio file with the same name next to it", "no-audio")
    for path in audio:
        text_file = path.with_suffix(".txt")
        if not text_file.is_file():
            yield SkippedItem(str(path), "", f"no transcription {text_file.name} next to it", "no-transcription")
            continue
        try:
            text = text_file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            yield SkippedItem(str(text_file), "", f"not UTF-8 ({error.reason} at byte {error.start}); save it as UTF-8", "bad-encoding")
            continue
        annotation = SourceAnnotation(0.0, None, text, "", text_file.name, None, language)
        yield SourceFile(source=text_file, media=path, annotations=(annotation,))
