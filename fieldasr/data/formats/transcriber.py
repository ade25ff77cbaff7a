"""Transcriber `.trs` files (XML, trans-14.dtd): `Trans/Episode/Section/Turn`, with `Sync` time marks inside a turn.

Reading: each stretch between two Sync marks (or a Sync and the end of its turn) is one annotation; in a turn of
several speakers (`speaker="spk1 spk2"`), the text after `<Who nb="N"/>` belongs to the Nth, so overlapping speech
becomes overlapping segments. Speakers are named by their `name` in `<Speakers>` (else their id). `Event`, `Comment`
and `Background` marks are not transcription: their surrounding text is kept, the marks are not. The recording id is
the .trs file's name; the audio is `audio_filename` (+ .wav, .flac, ...) beside it or under `--media-dir`.

Writing: one `<recording id>.trs` per recording, each segment a turn with one Sync; gaps become empty turns, as
Transcriber covers the whole timeline. Turns cannot overlap, so a segment overlapping an earlier one is skipped and
counted (write such corpora as STM, Kaldi or Lhotse, which keep overlaps).
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from fieldasr.data.formats.base import ExportResult, key_of_times, parse_seconds, seconds_text, why_no_audio
from fieldasr.data.manifest import Corpus, Segment
from fieldasr.data.media import AmbiguousMediaError, MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile, tidy_text
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_directory, atomic_write_text


def _time(element: ElementTree.Element, name: str, path: Path) -> float:
    value = element.get(name)
    if value is None:
        raise AnnotationError(f"{path}: a <{element.tag}> has no {name}. Open and save the file in Transcriber, or add the attribute.")
    return parse_seconds(value, f"{path} <{element.tag} {name}={value!r}>", name)


def _parse(path: Path) -> ElementTree.Element:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        line, column = error.position
        raise AnnotationError(f"{path}: not well-formed XML at line {line}, column {column} ({error}). "
                              "Restore it from a backup or fix it in a text editor.") from None
    if root.tag != "Trans":
        raise AnnotationError(f"{path}: the root element is <{root.tag}>, not <Trans>: not a Transcriber file.")
    return root


def _who(element: ElementTree.Element, path: Path, turn: int) -> int:
    value = element.get("nb", "")
    if not value.isdigit():
        raise AnnotationError(f"{path}: turn {turn} has <Who nb={value!r}>; nb must be the speaker's position (1, 2, ...) "
                              "in the turn's speaker list. Fix it in Transcriber.")
    return int(value)


class _TurnReader:
    """Walks one Turn's children, closing an annotation at each Sync, Who and the turn's end."""

    def __init__(self, path: Path, turn: ElementTree.Element, names: dict[str, str], number: int, language: str | None):
        self.path, self.number, self.language = path, number, language
        self.speakers = [names.get(identifier, identifier) for identifier in (turn.get("speaker") or "").split()]
        self.end = _time(turn, "endTime", path)
        self.start = _time(turn, "startTime", path)
        self.pieces: dict[int, list[str]] = {}
        self.who = 0
        self.annotations: list[SourceAnnotation] = []
        self.add(turn.text)
        for child in turn:
            if child.tag == "Sync":
                self.close(_time(child, "time", path))
            elif child.tag == "Who":
                self.who = _who(child, path, number)
            self.add(child.tail)
        self.close(self.end)

    def add(self, text: str | None) -> None:
        if text and text.strip():
            self.pieces.setdefault(self.who, []).append(text)

    def close(self, end: float) -> None:
        if end > self.start:
            for who, pieces in sorted(self.pieces.items()):
                speaker = self.speakers[who - 1] if 0 < who <= len(self.speakers) else (self.speakers[0] if len(self.speakers) == 1 else None)
                key = key_of_times(self.start, end) + (f"-{who}" if who else "")
                where = f"turn {self.number} ({seconds_text(self.start)}-{seconds_text(end)} s)"
                self.annotations.append(SourceAnnotation(self.start, end, tidy_text(" ".join(pieces)), key, where, speaker, self.language))
        self.start, self.pieces, self.who = max(self.start, end), {}, 0


def _audio(path: Path, audio_filename: str, media: MediaSearch) -> Path | None:
    for stand_in in ([path.parent / f"{Path(audio_filename).stem}.trs"] if audio_filename else []) + [path]:
        try:
            return media.find(stand_in).path  # <name>.wav, .flac, ... beside the .trs and under --media-dir
        except AmbiguousMediaError:
            raise  # two candidates under --media-dir: the fieldworker must choose
        except AnnotationError:
            continue
    return None


def read_trs(source: Path, language: str | None = None, media: MediaSearch | None = None) -> Iterator[SourceFile | SkippedItem]:
    """One SourceFile per .trs file (`source` or every .trs under the folder)."""
    source, media = Path(source), media or MediaSearch()
    files = [source] if source.is_file() else sorted(path for path in source.rglob("*.trs") if path.is_file())
    if not files:
        raise AnnotationError(f"{source}: no .trs files in this folder or below. Check the path and --format.")
    for path in files:
        root = _parse(path)
        names = {speaker.get("id", ""): speaker.get("name") or speaker.get("id", "") for speaker in root.iter("Speaker")}
        annotations = [annotation for number, turn in enumerate(root.iter("Turn"), start=1)
                       for annotation in _TurnReader(path, turn, names, number, language).annotations]
        audio_filename = root.get("audio_filename", "")
        audio = _audio(path, audio_filename, media)
        if audio is None:
            reason = why_no_audio(path, Path(audio_filename).stem or path.stem, media)
            yield SkippedItem(str(path), "", f"{reason} ({len(annotations)} annotation(s) not used)", "unusable-audio")
            continue
        yield SourceFile(source=path, media=audio, annotations=tuple(annotations), recording_id=path.stem)


def _turn(start: float, end: float, speaker: str | None, text: str) -> str:
    speaker_attribute = f" speaker={quoteattr(speaker)}" if speaker else ""
    return (f'<Turn{speaker_attribute} startTime="{seconds_text(start)}" endTime="{seconds_text(end)}">\n'
            f'<Sync time="{seconds_text(start)}"/>\n{escape(text)}\n</Turn>\n')


def trs_document(audio_filename: str, duration: float, segments: list[Segment]) -> str:
    """A Transcriber document of non-overlapping `segments` (sorted), gaps filled with empty turns."""
    speaker_ids = {name: f"spk{number}" for number, name in enumerate(dict.fromkeys(s.speaker for s in segments if s.speaker), start=1)}
    speakers = "".join(f'<Speaker id="{identifier}" name={quoteattr(name)} check="no" dialect="native" accent="" scope="local"/>\n'
                       for name, identifier in speaker_ids.items())
    turns, time = [], 0.0
    for segment in segments:
        if segment.start > time:
            turns.append(_turn(time, segment.start, None, ""))
        turns.append(_turn(segment.start, segment.end, speaker_ids.get(segment.speaker or ""), segment.text or ""))
        time = segment.end
    end = max(duration, time)
    if end > time:
        turns.append(_turn(time, end, None, ""))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Trans SYSTEM "trans-14.dtd">\n'
            f'<Trans scribe="fieldasr" audio_filename={quoteattr(audio_filename)} version="1">\n'
            f'<Speakers>\n{speakers}</Speakers>\n<Episode>\n<Section type="report" startTime="0" endTime="{seconds_text(end)}">\n'
            f'{"".join(turns)}</Section>\n</Episode>\n</Trans>\n')


def write_trs(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """`out/<recording id>.trs` for every recording with segments; overlapping segments are skipped and counted."""
    by_recording: dict[str, list[Segment]] = {}
    for segment in sorted(corpus.segments, key=lambda s: (s.recording_id, s.start, s.end, s.id)):
        by_recording.setdefault(segment.recording_id, []).append(segment)
    skipped, files, written = [], [], 0
    with atomic_directory(out, overwrite=overwrite) as staging:
        for recording_id, segments in by_recording.items():
            if "/" in recording_id or recording_id.startswith("."):
                skipped += [SkippedItem("segment", s.id, f"recording id {recording_id!r} cannot be a file name; rename it", "bad-id") for s in segments]
                continue
            kept: list[Segment] = []
            for segment in segments:
                if kept and round(segment.start * 1000) < round(kept[-1].end * 1000):
                    skipped.append(SkippedItem("segment", segment.id, f"overlaps segment {kept[-1].id} (Transcriber turns cannot overlap; "
                                               "export to STM, Kaldi or Lhotse to keep overlaps)", "overlapping"))
                    continue
                kept.append(segment)
            recording = corpus.recordings.get(recording_id)
            audio_filename = Path(recording.path).stem if recording else recording_id
            duration = recording.duration if recording else kept[-1].end
            atomic_write_text(staging / f"{recording_id}.trs", trs_document(audio_filename, duration, kept))
            files.append(out / f"{recording_id}.trs")
            written += len(kept)
    return ExportResult(out, tuple(files), written, tuple(skipped))
