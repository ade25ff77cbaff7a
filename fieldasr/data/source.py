"""What an importer hands to `prepare`: annotation files read into times and text, not yet checked against audio.

Importers only parse; `fieldasr.data.prepare` opens the audio, drops what cannot be used (with a reason)
and turns the rest into `Recording` and `Segment` manifests.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SourceAnnotation:
    """One annotated stretch as found in a source file."""

    start: float
    end: float | None  # None: until the end of the audio (one transcription per file)
    text: str
    key: str  # unique within its media file; becomes part of the segment id ("" = the whole file)
    where: str  # for messages: "tier 'tx@A' annotation a3"
    speaker: str | None = None
    language: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    segment_id: str | None = None  # set by formats that name their segments (Kaldi, Lhotse); else made from the key


@dataclass(frozen=True)
class SourceFile:
    """An annotation file (or one table row) and the media file it describes."""

    source: Path
    media: Path | None  # None: not looked for (`prepare --text-only`)
    annotations: tuple[SourceAnnotation, ...]
    skipped: tuple["SkippedItem", ...] = ()  # parts the importer itself could not use
    substitution: "MediaSubstitution | None" = None  # set when the audio was found other than where the link points
    recording_id: str | None = None  # set by formats that name their recordings (Kaldi, Lhotse, STM, Transcriber)


@dataclass(frozen=True)
class MediaSubstitution:
    """Audio found other than where the annotation file links it (see `fieldasr.data.media`), for the report."""

    annotation: str  # the annotation file
    linked: str  # its link as written ("(no audio linked)" for a TextGrid)
    used: str  # the audio file taken instead
    how: str  # "linked name beside the annotation file", "annotation file's name under --media-dir", ...


@dataclass(frozen=True)
class SkippedItem:
    """Something that did not become a segment, and why."""

    source: str  # the file it came from
    item: str  # which part of it ("" = the whole file)
    reason: str
    kind: str  # short category for the counts: "empty-text", "beyond-audio", "unusable-file", ...

    def describe(self) -> str:
        where = f" {self.item}" if self.item else ""
        return f"{self.source}{where}: {self.reason}"


@dataclass(frozen=True)
class TierSelection:
    """Which tiers of an ELAN or TextGrid file hold the transcription (criteria combine with AND)."""

    names: tuple[str, ...] = ()
    linguistic_type: str | None = None
    participant: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.names and self.linguistic_type is None and self.participant is None

    def describe(self) -> str:
        parts = [f"name {' or '.join(repr(name) for name in self.names)}"] if self.names else []
        if self.linguistic_type is not None:
            parts.append(f"linguistic type {self.linguistic_type!r}")
        if self.participant is not None:
            parts.append(f"participant {self.participant!r}")
        return " and ".join(parts) or "any tier"


def tidy_text(text: str | None) -> str:
    """Collapse runs of whitespace (line breaks inside ELAN/Praat labels) into single spaces."""
    return " ".join((text or "").split())
