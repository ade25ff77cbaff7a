"""Writing transcriptions out: SRT subtitles, JSON, and the helpers every exporter shares.

Every exporter takes annotations as `(start_seconds, end_seconds, text)` tuples, checks them first and
writes atomically (a temporary file in the same folder, then `os.replace`), so a crash or a full disk never
leaves a half-written file where the fieldworker's file was.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_write_text

TimedText = tuple[float, float, str]

JSON_FORMAT_VERSION = 1


def checked_annotations(annotations: Iterable[Sequence[Any]], where: str) -> list[TimedText]:
    """Annotations as sorted `(start, end, text)` floats/str; raises AnnotationError on impossible times."""
    checked = []
    for number, annotation in enumerate(annotations, start=1):
        if len(annotation) != 3:
            raise AnnotationError(f"{where}: annotation {number} is {annotation!r}; expected (start, end, text).")
        start, end, text = float(annotation[0]), float(annotation[1]), str(annotation[2])
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise AnnotationError(
                f"{where}: annotation {number} ({start}-{end} s, {text!r}) needs 0 <= start < end. Fix its times or drop it."
            )
        checked.append((start, end, text))
    return sorted(checked, key=lambda annotation: (annotation[0], annotation[1]))


# --- SRT -------------------------------------------------------------------------------------------

def _srt_time(seconds: float) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    secs, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{milliseconds:03d}"


def write_srt(path: str | Path, annotations: Sequence[TimedText]) -> Path:
    """Subtitles, numbered from 1 in time order; empty annotations are left out (SRT cannot show them)."""
    blocks = []
    for start, end, text in checked_annotations(annotations, str(path)):
        if text.strip():
            blocks.append(f"{len(blocks) + 1}\n{_srt_time(start)} --> {_srt_time(end)}\n{text.strip()}\n")
    return atomic_write_text(path, "\n".join(blocks))


_SRT_TIMING = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})")


def read_srt(path: str | Path) -> list[TimedText]:
    """Annotations of an SRT file (multi-line subtitles joined by a space)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    annotations = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        timing = _SRT_TIMING.search(lines[1] if len(lines) > 1 else "")
        if timing is None:
            raise AnnotationError(f"{path}: subtitle block {lines[0]!r} has no 'HH:MM:SS,mmm --> HH:MM:SS,mmm' line.")
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(group) for group in timing.groups())
        annotations.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, " ".join(lines[2:])))
    return annotations


# --- JSON ------------------------------------------------------------------------------------------

def write_json(
    path: str | Path,
    tiers: Mapping[str, Sequence[TimedText]],
    *,
    media_path: str | Path | None = None,
    duration: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """`{"format_version", "media", "duration", "metadata", "tiers": {name: [{"start", "end", "text"}]}}`, UTF-8."""
    document = {
        "format_version": JSON_FORMAT_VERSION,
        "media": None if media_path is None else str(media_path),
        "duration": duration,
        "metadata": dict(metadata or {}),
        "tiers": {
            name: [{"start": start, "end": end, "text": text} for start, end, text in checked_annotations(annotations, f"{path} tier {name!r}")]
            for name, annotations in tiers.items()
        },
    }
    return atomic_write_text(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def read_json(path: str | Path) -> dict[str, list[TimedText]]:
    """The tiers of a file written by `write_json`."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: [(float(item["start"]), float(item["end"]), str(item["text"])) for item in items]
            for name, items in document["tiers"].items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise AnnotationError(f"{path}: not a fieldasr transcription JSON ({error!r}); write it with `write_json`.") from error
