"""`transcribe --segments-from-tier`: transcribe inside the annotations of an existing segmentation tier.

The segmentation comes from an ELAN .eaf or a Praat TextGrid. A segment that already holds text counts as
transcribed by hand and is left alone (unless `redo_transcribed`); an empty one is transcribed when VAD finds
speech in it (`fieldasr.transcribe.spans`). In a TextGrid every interval of the tier is a segment, since Praat
fills the gaps between labelled intervals with empty ones.

A name chooses the tier of that name or, when there is none, every tier named `NAME@SOMEONE` (the usual
per-speaker convention). One output tier pair is written per segmentation tier: with several, `asr@A`,
`asr-words@A` for `Phrase@A` (the part after `@`, else the tier's PARTICIPANT, else its name); into an .eaf,
each goes under its top-level segmentation tier as a dependent tier (Included_In) with its participant.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fieldasr.data.eaf_text import EafText
from fieldasr.data.elan import read_eaf
from fieldasr.data.elan_provenance import summarise_tiers
from fieldasr.data.elan_write import write_tiers_into_eaf
from fieldasr.data.export import TimedText
from fieldasr.data.source import TierSelection
from fieldasr.data.textgrid import INTERVAL_TIER, TEXTGRID_SUFFIXES, parse_textgrid
from fieldasr.errors import AnnotationError
from fieldasr.transcribe.engine import Transcript, TranscriptionError
from fieldasr.transcribe.outputs import write_transcript
from fieldasr.transcribe.spans import TimeSpan

if TYPE_CHECKING:
    from fieldasr.transcribe.runner import FileJob

SEGMENT_FILE_SUFFIXES = (".eaf", *TEXTGRID_SUFFIXES)
# New files that can hold one tier pair per speaker (SRT and plain text hold one list of lines).
SEGMENT_OUTPUT_FORMATS = ("eaf", "textgrid", "json")


@dataclass(frozen=True)
class SegmentRequest:
    """What `--segments-from-tier` asks: the tiers, the file they are in (else the --into .eaf), and whether
    segments that already hold text are transcribed too."""

    tiers: tuple[str, ...]
    file: Path | None = None
    redo_transcribed: bool = False

    def source_file(self, into: Path | None, output_format: str) -> Path:
        """The file the segments are read from; raises when it is not given or clashes with the output."""
        if into is not None:
            if self.file is not None and self.file.resolve() != into.resolve():
                raise TranscriptionError(f"{self.file}: with --into the segments come from {into} itself; leave out --segments-file.")
            return into
        if self.file is None:
            raise TranscriptionError(f"--segments-from-tier {' '.join(self.tiers)}: name the file that holds the tier, with "
                                     "--into FILE.eaf (the tiers are added to it) or --segments-file FILE (.eaf or .TextGrid).")
        if output_format not in SEGMENT_OUTPUT_FORMATS:
            raise TranscriptionError(f"--format {output_format} holds one list of lines, not a tier per speaker; with "
                                     f"--segments-from-tier choose --format {', '.join(SEGMENT_OUTPUT_FORMATS)}.")
        return self.file


@dataclass(frozen=True)
class SegmentationTier:
    name: str
    participant: str
    top_level: bool  # an ELAN tier without a parent: the output can be its dependent tier
    segments: tuple[TimedText, ...]  # (start, end, text) of every annotation or interval


@dataclass(frozen=True)
class SegmentGroup:
    """One segmentation tier and the tiers its transcription goes to."""

    source: SegmentationTier
    tier: str
    word_tier: str | None
    spans: tuple[TimeSpan, ...]  # the segments to transcribe
    left_alone: int  # segments that already hold text

    @property
    def names(self) -> list[str]:
        return [self.tier] + ([self.word_tier] if self.word_tier else [])


def _eaf_tiers(path: Path, names: Sequence[str] | None) -> dict[str, SegmentationTier]:
    """The file's tiers (`names` None: without their segments, only to choose by name)."""
    summaries = summarise_tiers(EafText.read(path))
    segments: dict[str, list[TimedText]] = {}
    if names:
        for annotation in read_eaf(path, TierSelection(names=tuple(names)), media=None).annotations:
            segments.setdefault(annotation.custom["tier"], []).append((annotation.start, annotation.end, annotation.text))
    return {summary.name: SegmentationTier(summary.name, summary.participant, not summary.parent, tuple(segments.get(summary.name, ())))
            for summary in summaries}


def _textgrid_tiers(path: Path) -> dict[str, SegmentationTier]:
    tiers = {}
    for tier in parse_textgrid(path)["tiers"]:
        if tier["class"] == INTERVAL_TIER:
            segments = tuple((float(start), float(end), label.strip()) for start, end, label in tier["entries"])
            tiers[tier["name"]] = SegmentationTier(tier["name"], "", False, segments)
    return tiers


def read_segmentation(path: Path, names: Sequence[str]) -> list[SegmentationTier]:
    """The tiers `names` choose (see the module docstring), in the file's order; raises naming the file's tiers."""
    if path.suffix.lower() not in SEGMENT_FILE_SUFFIXES:
        raise AnnotationError(f"{path}: segments are read from an ELAN .eaf or a Praat .TextGrid; this is neither.")
    if not path.is_file():
        raise AnnotationError(f"{path}: segmentation file not found. Check the path given with --segments-file (or --into).")
    is_eaf = path.suffix.lower() == ".eaf"
    available = _eaf_tiers(path, None) if is_eaf else _textgrid_tiers(path)
    chosen: list[str] = []
    for name in names:
        matches = [tier for tier in available if tier == name] or [tier for tier in available if tier.startswith(f"{name}@")]
        if not matches:
            kind = "" if is_eaf else "interval "
            raise AnnotationError(f"{path}: no {kind}tier named {name!r} or {name + '@...'!r}. Its {kind}tiers are: "
                                  f"{', '.join(map(repr, available)) or 'none'}. Name one with --segments-from-tier.")
        chosen += [match for match in matches if match not in chosen]
    if is_eaf:
        available = _eaf_tiers(path, chosen)
    empty = [name for name in chosen if not available[name].segments]
    if empty:
        raise AnnotationError(f"{path}: tier {', '.join(map(repr, empty))} has no annotations, so there is nothing to transcribe "
                              "inside. Segment it first (in ELAN, e.g. Tier > Create Annotations from Gaps), or leave out "
                              "--segments-from-tier to let voice activity detection find the speech.")
    return [tier for name, tier in available.items() if name in chosen]


def _suffixes(tiers: Sequence[SegmentationTier]) -> list[str | None]:
    if len(tiers) == 1 and "@" not in tiers[0].name:
        return [None]
    suffixes = [tier.name.split("@", 1)[1] if "@" in tier.name else (tier.participant or tier.name) for tier in tiers]
    if len(set(suffixes)) < len(suffixes):
        raise TranscriptionError(f"segmentation tiers {', '.join(tier.name for tier in tiers)} do not give one output tier each "
                                 f"(the part after '@', else the participant, else the name: {', '.join(map(str, suffixes))}). "
                                 "Choose fewer tiers with --segments-from-tier.")
    return suffixes


def segment_groups(tiers: Sequence[SegmentationTier], tier: str, word_tier: bool, redo_transcribed: bool = False) -> list[SegmentGroup]:
    """The output tiers of each segmentation tier and the segments left to transcribe."""
    groups = []
    for source, suffix in zip(tiers, _suffixes(tiers)):
        at = "" if suffix is None else f"@{suffix}"
        todo = [TimeSpan(start, end) for start, end, text in source.segments if redo_transcribed or not text.strip()]
        groups.append(SegmentGroup(source, f"{tier}{at}", f"{tier}-words{at}" if word_tier else None, tuple(todo),
                                   len(source.segments) - len(todo)))
    clash = sorted({name for group in groups for name in group.names} & {source.name for source in tiers})
    if clash:
        raise TranscriptionError(f"--tier {tier} would write onto the segmentation tier {', '.join(clash)} it reads; choose "
                                 f"another --tier, e.g. --tier {tier}-asr.")
    return groups


def all_spans(groups: Sequence[SegmentGroup]) -> tuple[TimeSpan, ...]:
    """Every span to transcribe once, in time order (coinciding segments of two speakers are decoded once)."""
    return tuple(sorted({span for group in groups for span in group.spans}, key=lambda span: (span.start, span.end)))


def group_tiers(transcript: Transcript, groups: Sequence[SegmentGroup]) -> dict[str, list[TimedText]]:
    """Output tier name → (start, end, text): each group's segments with speech, and their timed words."""
    by_times = {(segment.start, segment.end): segment for segment in transcript.segments}
    tiers: dict[str, list[TimedText]] = {}
    for group in groups:
        found = [by_times[key] for key in sorted({(s.clipped(transcript.duration).start, s.clipped(transcript.duration).end)
                                                   for s in group.spans}) if key in by_times]
        tiers[group.tier] = [(segment.start, segment.end, segment.text) for segment in found]
        if group.word_tier:
            tiers[group.word_tier] = [(word.start, word.end, word.word) for segment in found for word in segment.words]
    return tiers


def dependent_tier_placement(groups: Sequence[SegmentGroup]) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """(output tier → parent segmentation tier, output tier → participant) for writing into the .eaf."""
    parents = {name: group.source.name for group in groups if group.source.top_level for name in group.names}
    participants = {name: group.source.participant for group in groups if group.source.participant for name in group.names}
    return parents, participants


def _note(transcript: Transcript, groups: Sequence[SegmentGroup], tiers: Mapping[str, Sequence[TimedText]]) -> str:
    """What the summary reports besides the written tiers: segments left alone and segments without speech."""
    left_alone = sum(group.left_alone for group in groups)
    silent = sum(len(group.spans) - len(tiers[group.tier]) for group in groups)
    parts = [f"{sum(len(tiers[group.tier]) for group in groups)} segments transcribed"]
    if left_alone:
        parts.append(f"{left_alone} already holding text left alone (--redo-transcribed to include them)")
    if silent:
        parts.append(f"{silent} without speech (or past the end of the recording) left empty")
    return "; ".join(parts)


def write_groups_into_eaf(transcript: Transcript, job: FileJob, *, groups: Sequence[SegmentGroup], replace: Sequence[str]) -> str:
    """Add each group's tiers to the .eaf the segmentation came from, as dependent tiers of their segmentation tier."""
    tiers = group_tiers(transcript, groups)
    parents, participants = dependent_tier_placement(groups)
    write_tiers_into_eaf(job.output, tiers, audio=job.identity, replace=replace, parents=parents, participants=participants)
    return _note(transcript, groups, tiers)


def write_groups_to_new_file(transcript: Transcript, job: FileJob, *, groups: Sequence[SegmentGroup], output_format: str) -> str:
    tiers = group_tiers(transcript, groups)
    write_transcript(transcript, job.output, output_format, tiers=tiers)
    return _note(transcript, groups, tiers)
