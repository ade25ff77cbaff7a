"""Readers for everything `fieldasr evaluate` accepts as a reference or a hypothesis.

- a manifest: a folder with segments.jsonl(.gz), or the segments file itself (text, phones, speaker,
  language and recording give the breakdowns);
- a `.trn` file (`text (id)` per line, sclite's format);
- an ELAN `.eaf` or Praat `.TextGrid` file: every annotation of the chosen tiers (all tiers if none is
  chosen) is an utterance with the id `<file stem>_<start ms>_<end ms>`, so a reference and a
  hypothesis of the same recording pair up when their intervals agree (the stem is cut at the first
  dot: `rec.eaf` and `rec.hyp.eaf` both give `rec`);
- a plain text file, one `id<TAB>text` or `id text` per line.

Text files may be UTF-8, UTF-8 with a BOM, or UTF-16 with a BOM; anything else is an error naming the file.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fieldasr.eval.errors import EvaluationError

_TRN_LINE = re.compile(r"^(?P<text>.*?)\s*\((?P<id>[^()\s]+)\)\s*$")


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    phones: tuple[str, ...] | None = None
    speaker: str | None = None
    language: str | None = None
    recording: str | None = None


@dataclass(frozen=True)
class Transcripts:
    """The utterances of one file, by id, in file order."""

    source: str
    utterances: dict[str, Utterance]
    skipped_blank: int = 0  # empty intervals/annotations in tier files (pauses), not utterances

    def texts(self) -> dict[str, str]:
        return {key: utterance.text for key, utterance in self.utterances.items()}

    def phones(self) -> dict[str, str | tuple[str, ...]]:
        """Phones where the file has them (manifests), otherwise the text as space-separated phones."""
        return {key: u.phones if u.phones is not None else u.text for key, u in self.utterances.items()}


def read_text(path: Path) -> str:
    """Decode a text file: UTF-8 (BOM optional) or UTF-16 with a BOM."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise EvaluationError(
            f"{path}: not valid {encoding.upper()} (byte {error.start}). Only UTF-8 (with or without BOM) and "
            "UTF-16 with a BOM are read; re-save the file as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8`."
        ) from error


def _collect(path: Path, utterances: Iterable[Utterance], skipped_blank: int = 0) -> Transcripts:
    by_id: dict[str, Utterance] = {}
    for utterance in utterances:
        if utterance.id in by_id:
            raise EvaluationError(f"{path}: id {utterance.id!r} appears twice. Ids must be unique within a file.")
        by_id[utterance.id] = utterance
    return Transcripts(str(path), by_id, skipped_blank)


def _read_manifest(path: Path) -> Transcripts:
    from fieldasr.data.manifest import read_segments

    if path.is_dir():
        candidates = [path / name for name in ("segments.jsonl.gz", "segments.jsonl") if (path / name).is_file()]
        if not candidates:
            raise EvaluationError(f"{path}: no segments.jsonl(.gz) in this folder. Give a manifest folder or file.")
        path = candidates[0]
    return _collect(
        path,
        (
            Utterance(s.id, s.text or "", s.phones, s.speaker, s.language, s.recording_id)
            for s in read_segments(path)
        ),
    )


def _read_trn(path: Path) -> Transcripts:
    utterances = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        match = _TRN_LINE.match(line)
        if match is None:
            raise EvaluationError(f"{path} line {number}: expected `text (id)` as in sclite's .trn format, got {line[:60]!r}.")
        utterances.append(Utterance(match["id"], match["text"]))
    return _collect(path, utterances)


def _read_plain(path: Path) -> Transcripts:
    utterances = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        key, _, text = line.partition("\t") if "\t" in line else line.strip().partition(" ")
        if not key.strip():
            raise EvaluationError(f"{path} line {number}: no id before the text. Each line is `id<TAB>text` or `id text`.")
        utterances.append(Utterance(key.strip(), text.strip()))
    return _collect(path, utterances)


def _interval_id(stem: str, start: float, end: float) -> str:
    return f"{stem}_{round(start * 1000):08d}_{round(end * 1000):08d}"


def _read_eaf(path: Path, tiers: tuple[str, ...]) -> Transcripts:
    from fieldasr.data.elan import open_eaf

    eaf = open_eaf(path)
    chosen = tiers or tuple(name for name, (_, _, attributes, _) in eaf.tiers.items() if "PARENT_REF" not in attributes)
    stem, utterances, blank = path.name.split(".")[0], [], 0
    for tier in chosen:
        if tier not in eaf.tiers:
            raise EvaluationError(f"{path}: no tier {tier!r}; tiers are {', '.join(eaf.tiers)}.")
        speaker = eaf.tiers[tier][2].get("PARTICIPANT") or tier
        for start, end, value, *_ in eaf.get_annotation_data_for_tier(tier):
            if not value.strip():
                blank += 1
                continue
            utterances.append(Utterance(_interval_id(stem, start / 1000, end / 1000), value, speaker=speaker, recording=stem))
    return _collect(path, utterances, blank)


def _read_textgrid(path: Path, tiers: tuple[str, ...]) -> Transcripts:
    from praatio.utilities import textgrid_io

    grid = textgrid_io.parseTextgridStr(read_text(path), includeEmptyIntervals=True)
    names = [tier["name"] for tier in grid["tiers"]]
    for tier in tiers:
        if tier not in names:
            raise EvaluationError(f"{path}: no tier {tier!r}; tiers are {', '.join(names)}.")
    stem, utterances, blank = path.name.split(".")[0], [], 0
    for tier in grid["tiers"]:
        if (tiers and tier["name"] not in tiers) or tier["class"] != "IntervalTier":
            continue
        for start, end, label in tier["entries"]:
            if not label.strip():
                blank += 1
                continue
            key = _interval_id(stem, float(start), float(end))  # praatio leaves the times as strings
            utterances.append(Utterance(key, label, speaker=tier["name"], recording=stem))
    return _collect(path, utterances, blank)


def read_transcripts(path: str | Path, tiers: tuple[str, ...] = ()) -> Transcripts:
    """Read any supported reference/hypothesis file (see the module docstring), chosen by its name."""
    path = Path(path)
    if not path.exists():
        raise EvaluationError(f"{path}: file not found.")
    name = path.name.lower()
    if path.is_dir() or name.endswith((".jsonl", ".jsonl.gz")):
        return _read_manifest(path)
    if name.endswith(".trn"):
        return _read_trn(path)
    if name.endswith(".eaf"):
        return _read_eaf(path, tiers)
    if name.endswith(".textgrid"):
        return _read_textgrid(path, tiers)
    return _read_plain(path)
