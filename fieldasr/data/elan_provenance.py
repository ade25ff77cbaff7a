"""Which tiers of an .eaf fieldasr wrote, whether a person has edited them since, and what may be replaced.

The mark (kept by ELAN when it saves: both are part of the EAF 3.0 schema):
- the tier's `ANNOTATOR` attribute is "fieldasr";
- a header `<PROPERTY NAME="fieldasr-tier:TIER_ID">` holds JSON:
  `{"format": 1, "digest": "<sha256 of the tier>", "annotations": "<12 hex> <12 hex> ...",
    "audio": "rec.wav", "audio_sha256": "<sha256 of the audio file>"}`.
  Each annotation's short digest is sha256 of "start_ms TAB end_ms TAB value" (first 12 hex digits), in time
  order; the tier digest is sha256 of those lines joined by newlines.

A tier is fieldasr's unedited output only while its ANNOTATOR is still "fieldasr" and its current annotations
give the stored digest. Anything else (no mark, a changed annotation, an added or removed one, another
annotator) makes it the fieldworker's tier, which fieldasr replaces only when named explicitly. A correction
loop finds the annotations a person changed as those whose short digest is not in `annotations`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.eaf_text import EafText, Element

ANNOTATOR = "fieldasr"
PROPERTY_PREFIX = "fieldasr-tier:"
MARK_FORMAT = 1

Row = tuple[int | None, int | None, str]  # start ms, end ms (None: unaligned or a reference annotation), value


def _line(row: Row) -> str:
    start, end, value = row
    return f"{'' if start is None else start}\t{'' if end is None else end}\t{value}"


def _short_digest(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:12]


def annotation_digest(row: Row) -> str:
    """The short digest of one annotation, as a tier's mark lists those it was written with."""
    return _short_digest(_line(row))


@dataclass(frozen=True)
class AudioIdentity:
    """The recording a tier transcribes: its file name (for people) and content digest (for reruns)."""

    name: str
    sha256: str

    @classmethod
    def of(cls, path: Path) -> AudioIdentity:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return cls(path.name, digest.hexdigest())


@dataclass(frozen=True)
class TierMark:
    """What the header property of a fieldasr tier records."""

    digest: str
    annotations: tuple[str, ...]
    audio: AudioIdentity | None

    @classmethod
    def of(cls, rows: Sequence[Row], audio: AudioIdentity | None) -> TierMark:
        lines = [_line(row) for row in sorted(rows, key=_time_order)]
        short = tuple(_short_digest(line) for line in lines)
        return cls(hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(), short, audio)

    def to_text(self) -> str:
        audio = {"audio": self.audio.name, "audio_sha256": self.audio.sha256} if self.audio else {}
        return json.dumps({"format": MARK_FORMAT, "digest": self.digest, "annotations": " ".join(self.annotations), **audio},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> TierMark | None:
        """The mark in a property's text, or None when it is not one this version understands."""
        try:
            data = json.loads(text)
            audio = AudioIdentity(data["audio"], data["audio_sha256"]) if "audio_sha256" in data else None
            return cls(str(data["digest"]), tuple(str(data["annotations"]).split()), audio)
        except (ValueError, KeyError, TypeError):
            return None


def _time_order(row: Row) -> tuple[int, int]:
    return (-1 if row[0] is None else row[0], -1 if row[1] is None else row[1])


def _aligned_times(document: EafText, times: dict[str, int | None]) -> dict[str, tuple[int | None, int | None]]:
    """Annotation id → (start ms, end ms); a reference annotation takes the times of the aligned one it refers to."""
    spans: dict[str, tuple[int | None, int | None]] = {}
    references: dict[str, str] = {}
    for element in document.elements:
        identifier = element.attributes.get("ANNOTATION_ID", "")
        if element.name == "ALIGNABLE_ANNOTATION":
            spans[identifier] = (times.get(element.attributes.get("TIME_SLOT_REF1", "")), times.get(element.attributes.get("TIME_SLOT_REF2", "")))
        elif element.name == "REF_ANNOTATION":
            references[identifier] = element.attributes.get("ANNOTATION_REF", "")
    for identifier in references:
        target, seen = references[identifier], {identifier}
        while target in references and target not in seen:  # a chain of references ends at an aligned annotation
            seen.add(target)
            target = references[target]
        spans[identifier] = spans.get(target, (None, None))
    return spans


def tier_rows(document: EafText, tier: Element, spans: dict[str, tuple[int | None, int | None]]) -> list[Row]:
    rows: list[Row] = []
    for element in document.within(tier, "ALIGNABLE_ANNOTATION") + document.within(tier, "REF_ANNOTATION"):
        values = document.within(element, "ANNOTATION_VALUE")
        start, end = spans.get(element.attributes.get("ANNOTATION_ID", ""), (None, None))
        rows.append((start, end, values[0].text if values else ""))
    return rows


def annotation_rows(document: EafText, tier_name: str) -> list[Row] | None:
    """The (start ms, end ms, value) of each annotation of tier `tier_name`, in time order; None without such a tier."""
    for tier in document.top("TIER"):
        if tier.attributes.get("TIER_ID") == tier_name:
            return sorted(tier_rows(document, tier, _aligned_times(document, document.slot_times())), key=_time_order)
    return None


@dataclass(frozen=True)
class TierSummary:
    """One tier of an .eaf as `fieldasr tiers` lists it and as the writer judges it."""

    name: str
    linguistic_type: str
    participant: str
    parent: str
    children: tuple[str, ...]
    annotations: int
    start_ms: int | None
    end_ms: int | None
    provenance: str  # "unedited" (fieldasr's output as written), "edited" (marked, changed since), "" (no mark)
    mark: TierMark | None

    @property
    def in_hierarchy(self) -> bool:
        return bool(self.parent or self.children)

    @property
    def is_fieldasr_output(self) -> bool:
        return self.provenance == "unedited"


def tier_marks(document: EafText) -> dict[str, tuple[Element, TierMark | None]]:
    """Tier name → its fieldasr header property and the mark it holds."""
    return {element.attributes["NAME"][len(PROPERTY_PREFIX):]: (element, TierMark.from_text(element.text))
            for element in document.header_properties() if element.attributes.get("NAME", "").startswith(PROPERTY_PREFIX)}


def _provenance(tier: Element, rows: Sequence[Row], mark: TierMark | None, has_property: bool) -> str:
    marked = tier.attributes.get("ANNOTATOR") == ANNOTATOR
    if not marked and not has_property:
        return ""
    if marked and mark is not None and TierMark.of(rows, None).digest == mark.digest:
        return "unedited"
    return "edited"


def summarise_tiers(document: EafText) -> list[TierSummary]:
    spans, marks = _aligned_times(document, document.slot_times()), tier_marks(document)
    tiers = document.top("TIER")
    summaries = []
    for tier in tiers:
        name = tier.attributes.get("TIER_ID", "")
        rows = tier_rows(document, tier, spans)
        timed = [time for start, end, _ in rows for time in (start, end) if time is not None]
        _, mark = marks.get(name, (None, None))
        summaries.append(TierSummary(
            name=name, linguistic_type=tier.attributes.get("LINGUISTIC_TYPE_REF", ""),
            participant=tier.attributes.get("PARTICIPANT", ""), parent=tier.attributes.get("PARENT_REF", ""),
            children=tuple(t.attributes.get("TIER_ID", "") for t in tiers if t.attributes.get("PARENT_REF") == name),
            annotations=len(rows), start_ms=min(timed, default=None), end_ms=max(timed, default=None),
            provenance=_provenance(tier, rows, mark, name in marks), mark=mark,
        ))
    return summaries
