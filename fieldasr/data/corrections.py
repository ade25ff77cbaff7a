"""The annotations of an .eaf tier that a fieldworker corrected: the training data of `fieldasr adapt`.

An annotation counts as corrected when it is not fieldasr's output as written: its short digest
(`elan_provenance.annotation_digest`) is not among those the tier's fieldasr mark lists. So a changed text or
changed times, an added annotation and a tier made by hand (no mark) are corrections; fieldasr's unchanged
output is not (training on it would teach the model its own mistakes). Unchanged, empty and unaligned
annotations are counted, never dropped silently.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.eaf_text import EafText
from fieldasr.data.elan import read_eaf
from fieldasr.data.elan_provenance import annotation_digest, annotation_rows, summarise_tiers, tier_marks
from fieldasr.data.source import TierSelection, tidy_text
from fieldasr.errors import AnnotationError

UNCHANGED = "fieldasr's output, unchanged since it was written (not a correction)"
EMPTY = "empty"
UNALIGNED = "no times of its own (unaligned)"


@dataclass(frozen=True)
class CorrectedAnnotation:
    source: Path  # the .eaf
    audio: Path
    start: float  # seconds
    end: float
    text: str


@dataclass(frozen=True)
class Corrections:
    annotations: tuple[CorrectedAnnotation, ...]
    skipped: Mapping[str, int]  # why -> how many annotations
    files: int

    def describe_skipped(self) -> str:
        return ", ".join(f"{count} {why}" for why, count in self.skipped.items()) or "none"


def _tier_rows(document: EafText, path: Path, tier: str):
    rows = annotation_rows(document, tier)
    if rows is None:
        names = ", ".join(repr(summary.name) for summary in summarise_tiers(document)) or "none"
        raise AnnotationError(f"{path}: has no tier {tier!r} (its tiers: {names}). Name the tier holding your corrections with --tier.")
    return rows


def read_corrections(paths: Sequence[str | Path], tier: str) -> Corrections:
    """The corrected annotations of tier `tier` in each .eaf of `paths`, with the audio each one links."""
    annotations: list[CorrectedAnnotation] = []
    skipped: Counter[str] = Counter()
    for path in map(Path, paths):
        if path.suffix.lower() != ".eaf":
            raise AnnotationError(f"{path}: adapt reads ELAN .eaf files, whose fieldasr mark tells your corrections from "
                                  "fieldasr's unchanged output; this file cannot carry it. Open it in ELAN and save it as .eaf.")
        document = EafText.read(path)
        rows = _tier_rows(document, path, tier)
        _, mark = tier_marks(document).get(tier, (None, None))
        unchanged = set(mark.annotations) if mark is not None else set()
        audio = read_eaf(path, TierSelection(names=(tier,))).media  # raises, naming the places tried, when missing
        for row in rows:
            start, end, value = row
            text = tidy_text(value)
            if start is None or end is None:
                skipped[UNALIGNED] += 1
            elif annotation_digest(row) in unchanged:
                skipped[UNCHANGED] += 1
            elif not text:
                skipped[EMPTY] += 1
            else:
                annotations.append(CorrectedAnnotation(path, audio, start / 1000, end / 1000, text))
    return Corrections(tuple(annotations), dict(skipped), len(paths))
