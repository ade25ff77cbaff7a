"""Praat TextGrids: read interval tiers (long and short text formats, UTF-8 or UTF-16) and write them with praatio.

Praat saves a TextGrid as UTF-16 (with a byte-order mark) as soon as one label is not ASCII, and as ASCII
otherwise. Files from other tools may be in a legacy 8-bit encoding, which cannot be told apart reliably
(Latin-1? Windows-1252? Mac Roman?), so those are refused with instructions rather than guessed.
"""
from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldasr.data.export import TimedText, checked_annotations
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SourceAnnotation, SourceFile, TierSelection, tidy_text
from fieldasr.files import atomic_path
from fieldasr.errors import AnnotationError

INTERVAL_TIER = "IntervalTier"
TEXTGRID_SUFFIXES = (".textgrid",)


def decode_textgrid(path: Path) -> str:
    """The text of a TextGrid file: UTF-16 (BOM or Praat's header in either byte order) or UTF-8."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)):
        return data.decode("utf-16")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    for encoding in ("utf-16-le", "utf-16-be"):
        if data.startswith("File type".encode(encoding)):
            return data.decode(encoding)
    if data.startswith(b"ooBinaryFile"):
        raise AnnotationError(f"{path}: a binary TextGrid. Open it in Praat and use 'Save as text file...'.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AnnotationError(
            f"{path}: not UTF-8 or UTF-16 (byte 0x{data[error.start]:02x} at offset {error.start}); it was probably saved in a "
            "legacy encoding such as Windows-1252. Open it in Praat and 'Save as text file...' (Praat writes UTF-16), "
            "or convert it, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.TextGrid > out.TextGrid`."
        ) from None


def parse_textgrid(path: str | Path) -> dict[str, Any]:
    """praatio's dictionary form of a TextGrid: {"xmin", "xmax", "tiers": [{"class", "name", "entries", ...}]}."""
    from praatio.utilities import textgrid_io

    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: TextGrid file not found.")
    text = decode_textgrid(path)
    if "TextGrid" not in text[:200]:
        raise AnnotationError(f"{path}: not a Praat TextGrid (no 'Object class = \"TextGrid\"' header).")
    try:
        return textgrid_io.parseTextgridStr(text, includeEmptyIntervals=True)
    except Exception as error:  # praatio raises assorted errors on truncated files
        raise AnnotationError(f"{path}: cannot parse this TextGrid ({error!r}); it may be truncated. Open it in Praat and save it again.") from error


def _describe(tiers: Sequence[Mapping[str, Any]]) -> str:
    kinds = {INTERVAL_TIER: "interval tier", "TextTier": "point tier"}
    return "; ".join(f"{tier['name']!r} ({kinds.get(tier['class'], tier['class'])})" for tier in tiers) or "none"


def _select(path: Path, tiers: Sequence[Mapping[str, Any]], selection: TierSelection) -> list[Mapping[str, Any]]:
    if selection.linguistic_type is not None or selection.participant is not None:
        raise AnnotationError(f"{path}: TextGrids have no linguistic types or participants; choose tiers by name with --tier.")
    intervals = [tier for tier in tiers if tier["class"] == INTERVAL_TIER]
    if not selection.names:
        if len(intervals) == 1:
            return intervals
        raise AnnotationError(f"{path}: no tier was chosen and it has {len(intervals)} interval tiers: {_describe(tiers)}. Choose with --tier NAME.")
    chosen = [tier for tier in tiers if tier["name"] in selection.names]
    if not chosen:
        raise AnnotationError(f"{path}: no tier named {' or '.join(map(repr, selection.names))}. Its tiers are: {_describe(tiers)}.")
    points = [tier["name"] for tier in chosen if tier["class"] != INTERVAL_TIER]
    if points:
        raise AnnotationError(f"{path}: tier(s) {points} are point tiers, which mark instants, not stretches of speech. Choose an interval tier.")
    return chosen


def read_textgrid(path: str | Path, selection: TierSelection = TierSelection(), language: str | None = None,
                  media: MediaSearch | None = MediaSearch()) -> SourceFile:
    """The labelled intervals of the chosen interval tiers, and the same-name audio file next to the TextGrid (or
    under `media`'s folder; `media` None: the audio is not looked for, for `--text-only`).

    Empty labels are Praat's way of saying "nothing here" and are not annotations; praatio strips labels, so
    whitespace-only labels count as empty too.
    """
    path = Path(path)
    parsed = parse_textgrid(path)
    tiers = _select(path, parsed["tiers"], selection)
    found = None if media is None else media.find(path)
    annotations = []
    for tier in tiers:
        slug = "_".join(tier["name"].replace("/", "_").split()) or "tier"
        for number, (start, end, label) in enumerate(tier["entries"], start=1):
            if label == "":
                continue
            where = f"tier {tier['name']!r} interval {number}"
            annotations.append(SourceAnnotation(float(start), float(end), tidy_text(label), f"{slug}-{number:04d}", where,
                                                None, language, {"tier": tier["name"]}))
    annotations.sort(key=lambda annotation: (annotation.start, annotation.end))
    return SourceFile(source=path, media=None if found is None else found.path, annotations=tuple(annotations),
                      substitution=None if found is None else found.substitution)


def write_textgrid(path: str | Path, duration: float, tiers: Mapping[str, Sequence[TimedText]], *, short: bool = False) -> Path:
    """Write interval tiers as a Praat text TextGrid (UTF-8, gaps filled with empty intervals), atomically."""
    from praatio import textgrid

    path = Path(path)
    grid = textgrid.Textgrid()
    for name, annotations in tiers.items():
        entries = checked_annotations(annotations, f"{path} tier {name!r}")
        for previous, current in zip(entries, entries[1:]):
            if current[0] < previous[1]:
                raise AnnotationError(f"{path} tier {name!r}: intervals {previous} and {current} overlap; a Praat interval tier cannot hold both.")
        if entries and entries[-1][1] > duration:
            raise AnnotationError(f"{path} tier {name!r}: interval {entries[-1]} ends after the duration {duration} s.")
        grid.addTier(textgrid.IntervalTier(name, entries, 0.0, duration))
    grid.minTimestamp, grid.maxTimestamp = 0.0, duration
    with atomic_path(path) as temporary:
        grid.save(str(temporary), format="short_textgrid" if short else "long_textgrid", includeBlankSpaces=True, minimumIntervalLength=None)
    return path
