"""What every format module shares: the export result, exact time text, and line-by-line reading with file:line errors.

Times are written as decimal seconds rounded to the microsecond (the precision `prepare` keeps), without trailing
zeros, so writing and reading back gives the same milliseconds: no float drift through `repr`.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.manifest import Corpus, Recording
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SkippedItem
from fieldasr.errors import AnnotationError


@dataclass(frozen=True)
class ExportResult:
    """What an exporter wrote, what it could not write (with reasons), and what the reader should know."""

    output: Path
    files: tuple[Path, ...]
    segments_written: int
    skipped: tuple[SkippedItem, ...] = ()
    notes: tuple[str, ...] = ()


def seconds_text(seconds: float) -> str:
    """`seconds` as exact decimal text: 1.5 -> "1.5", 2 -> "2", 0.1 + 0.2 -> "0.3" (rounded to the microsecond)."""
    text = f"{round(seconds, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def parse_seconds(text: str, where: str, what: str) -> float:
    """A non-negative, finite number of seconds, or AnnotationError naming `where` (file and line)."""
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(f"{where}: {what} {text!r} is not a number of seconds. Fix the line.") from None
    if not math.isfinite(value) or value < 0:
        raise AnnotationError(f"{where}: {what} {text!r} must be a finite, non-negative number of seconds. Fix the line.")
    return value


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) of a UTF-8 text file, skipping blank lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise AnnotationError(f"{path}: not UTF-8 ({error.reason} at byte {error.start}). Save it as UTF-8, "
                              "e.g. `iconv -f LATIN1 -t UTF-8`.") from None
    # Lines end at \n only: str.splitlines would also split at characters a transcription may hold (U+2028, U+0085).
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def key_of_times(start: float, end: float) -> str:
    """A segment key from its times in whole milliseconds, as the CSV importer makes them."""
    return f"{round(start * 1000):08d}-{round(end * 1000):08d}"


def require_audio(corpus: Corpus, format_name: str, folder: Path) -> None:
    """Refuse a text-only corpus for a format that points at audio files."""
    if corpus.text_only:
        raise AnnotationError(f"{folder}: a text-only corpus (prepared with --text-only) has no audio files, and {format_name} "
                              "needs them. Prepare the corpus with its audio first.")


def absolute_audio_path(recording: Recording) -> str:
    return str(Path(recording.path).resolve())


def why_no_audio(annotation: Path, name: str, media: MediaSearch) -> str:
    """Why no audio called `name` was found for `annotation`: a same-name file fieldasr cannot read (TED-LIUM's and
    Transcriber's .sph), else where it was looked for."""
    other = sorted(path for path in annotation.parent.glob(f"{name}.*") if path != annotation and path.suffix.lower() not in (".stm", ".trs"))
    if other:
        return f"{other[0]} is not in a format fieldasr reads; convert it, e.g. `sox {other[0].name} {name}.wav`"
    searched = f" and under {media.media_dir}" if media.media_dir else ""
    return f"audio not found: no {name}.wav (or .flac, ...) beside {annotation.name}{searched}; give its folder with --media-dir"
