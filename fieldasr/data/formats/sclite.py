"""sclite's reference and hypothesis files: STM (`file channel speaker start end [<labels>] text`) and CTM
(`file channel start duration word [confidence]`), as `sclite -r ref.stm stm -h hyp.ctm ctm` scores them.

STM is read by `prepare` and written from a corpus or a transcript; its `file` field is the recording id, whose audio
is `<file>.wav` (or .flac, ...) beside the STM file or under `--media-dir`. Lines sclite does not score (text
`ignore_time_segment_in_scoring`, speaker `inter_segment_gap`) are skipped and counted. The speaker `unknown` (what
fieldasr writes for a segment without one) reads as no speaker. CTM holds timed words: a transcript has them; a corpus
(e.g. `fieldasr decode` hypotheses) has none, so its words are spread evenly over each segment, which puts every word
in the right segment for sclite's scoring, and the export says so.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.formats.base import ExportResult, key_of_times, parse_seconds, read_lines, seconds_text, why_no_audio
from fieldasr.data.manifest import Corpus, count_overlapping_pairs
from fieldasr.data.media import AmbiguousMediaError, MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile
from fieldasr.errors import AnnotationError
from fieldasr.files import OutputExistsError, atomic_write_text

UNKNOWN_SPEAKER = "unknown"
NOT_SCORED_TEXT = "ignore_time_segment_in_scoring"
GAP_SPEAKER = "inter_segment_gap"


@dataclass(frozen=True)
class StmLine:
    file: str
    channel: str
    speaker: str | None
    start: float
    end: float
    text: str
    labels: str = ""  # "<O,F0,male>", as read

    def format(self) -> str:
        labels = f" {self.labels}" if self.labels else ""
        speaker = "_".join((self.speaker or UNKNOWN_SPEAKER).split())
        return f"{self.file} {self.channel} {speaker} {seconds_text(self.start)} {seconds_text(self.end)}{labels} {self.text}".rstrip()


@dataclass(frozen=True)
class CtmWord:
    file: str
    channel: str
    start: float
    duration: float
    word: str
    confidence: float | None = None

    def format(self) -> str:
        confidence = "" if self.confidence is None else f" {self.confidence:.4f}"
        return f"{self.file} {self.channel} {seconds_text(self.start)} {seconds_text(self.duration)} {self.word}{confidence}"


def _write_new(path: Path, lines: Iterable[str], overwrite: bool) -> Path:
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; nothing was written. Choose another file or pass --overwrite to replace it.")
    return atomic_write_text(path, "".join(line + "\n" for line in lines), make_parents=True)


def write_stm(path: str | Path, lines: Iterable[StmLine], overwrite: bool = True) -> Path:
    """An STM file sorted as sclite wants it (by file, channel, start time)."""
    ordered = sorted(lines, key=lambda line: (line.file, line.channel, line.start, line.end))
    return _write_new(Path(path), [";; fieldasr reference (file channel speaker start end text)"] + [line.format() for line in ordered],
                      overwrite)


def write_ctm(path: str | Path, words: Iterable[CtmWord], overwrite: bool = True) -> Path:
    """A CTM file sorted by file, channel and start time."""
    ordered = sorted(words, key=lambda word: (word.file, word.channel, word.start))
    return _write_new(Path(path), [word.format() for word in ordered], overwrite)


def parse_stm(path: Path) -> Iterator[StmLine]:
    for number, line in read_lines(path):
        if line.startswith(";;"):
            continue
        where = f"{path} line {number}"
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise AnnotationError(f"{where}: {line.strip()!r} has {len(fields)} fields; an STM line is "
                                  "'file channel speaker start end [<labels>] text'. Fix the line.")
        start, end = parse_seconds(fields[3], where, "start"), parse_seconds(fields[4], where, "end")
        if end < start:
            raise AnnotationError(f"{where}: end {fields[4]} is before start {fields[3]}. Fix the times.")
        rest = fields[5] if len(fields) > 5 else ""
        labels = ""
        if rest.startswith("<") and ">" in rest:
            labels, rest = rest[:rest.index(">") + 1], rest[rest.index(">") + 1:]
        speaker = None if fields[2] == UNKNOWN_SPEAKER else fields[2]
        yield StmLine(fields[0], fields[1], speaker, start, end, rest.strip(), labels)


def read_ctm(path: str | Path) -> list[CtmWord]:
    """The words of a CTM file; raises AnnotationError naming the line of a malformed one."""
    path = Path(path)
    words = []
    for number, line in read_lines(path):
        if line.startswith(";;"):
            continue
        where = f"{path} line {number}"
        fields = line.split()
        if len(fields) not in (5, 6):
            raise AnnotationError(f"{where}: {line.strip()!r} has {len(fields)} fields; a CTM line is "
                                  "'file channel start duration word [confidence]'. Fix the line.")
        try:
            confidence = None if len(fields) == 5 else float(fields[5])
        except ValueError:
            raise AnnotationError(f"{where}: confidence {fields[5]!r} is not a number. Fix or drop it.") from None
        words.append(CtmWord(fields[0], fields[1], parse_seconds(fields[2], where, "start"),
                             parse_seconds(fields[3], where, "duration"), fields[4], confidence))
    return words


def _audio(stm: Path, file: str, media: MediaSearch) -> Path | None:
    try:
        return media.find(stm.parent / f"{file}.stm").path  # looks for <file>.wav, .flac, ... beside it and under --media-dir
    except AmbiguousMediaError:
        raise  # two candidates under --media-dir: the fieldworker must choose
    except AnnotationError:
        return None


def read_stm(source: Path, language: str | None = None, media: MediaSearch | None = None) -> Iterator[SourceFile | SkippedItem]:
    """One SourceFile per recording (STM `file` field) of an STM file, or of each .stm under a folder."""
    source = Path(source)
    media = media or MediaSearch()
    files = [source] if source.is_file() else sorted(path for path in source.rglob("*.stm") if path.is_file())
    if not files:
        raise AnnotationError(f"{source}: no .stm files in this folder or below. Check the path and --format.")
    for stm in files:
        by_file: dict[str, list[SourceAnnotation]] = defaultdict(list)
        for number, line in enumerate(parse_stm(stm), start=1):
            where = f"segment {number} ({line.file} {seconds_text(line.start)}-{seconds_text(line.end)} s)"
            if line.text == NOT_SCORED_TEXT or line.speaker == GAP_SPEAKER:
                yield SkippedItem(str(stm), where, "marked as not scored (sclite skips it too)", "not-scored")
                continue
            if line.end == line.start:
                yield SkippedItem(str(stm), where, "ends where it starts (no audio to train on)", "zero-length")
                continue
            custom = {"stm_labels": line.labels} if line.labels else {}
            if line.channel not in ("1", "A"):
                custom["channel"] = line.channel
            key = key_of_times(line.start, line.end) + (f"-{line.speaker}" if line.speaker else "")  # overlapping speakers
            by_file[line.file].append(SourceAnnotation(line.start, line.end, line.text, key, where,
                                                       line.speaker, language, custom))
        for file, annotations in by_file.items():
            audio = _audio(stm, file, media)
            if audio is None:
                yield SkippedItem(str(stm), f"file {file}", f"{why_no_audio(stm, file, media)} ({len(annotations)} segment(s) not used)",
                                  "unusable-audio")
                continue
            yield SourceFile(source=stm, media=audio, annotations=tuple(annotations), recording_id=file)


def stm_lines(corpus: Corpus) -> tuple[list[StmLine], list[SkippedItem]]:
    lines, skipped = [], []
    for segment in corpus.segments:
        if len(segment.recording_id.split()) != 1:
            skipped.append(SkippedItem("segment", segment.id, "a recording id with spaces, which STM cannot hold; rename it", "bad-id"))
            continue
        lines.append(StmLine(segment.recording_id, "1", segment.speaker, segment.start, segment.end, segment.text or ""))
    return lines, skipped


def _overlap_note(corpus: Corpus) -> tuple[str, ...]:
    pairs = count_overlapping_pairs(corpus.segments)
    return (f"{pairs} pair(s) of segments of one recording overlap (kept): sclite gives each CTM word to the segment its "
            "time falls in, so words where speakers overlap may be scored against the other speaker's segment.",) if pairs else ()


def write_corpus_stm(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """Every segment as an STM line of file `out` (the recording id as `file`, channel 1)."""
    lines, skipped = stm_lines(corpus)
    renamed = sum(len((line.speaker or "").split()) > 1 for line in lines)
    notes = (f"{renamed} speaker name(s) with spaces written with '_' (STM fields cannot hold spaces).",) if renamed else ()
    write_stm(out, lines, overwrite)
    return ExportResult(out, (out,), len(lines), tuple(skipped), notes + _overlap_note(corpus))


def spread_words(file: str, start: float, end: float, text: str) -> list[CtmWord]:
    """The words of `text` spread evenly over `start`-`end` (for text without word times), in whole milliseconds."""
    words = text.split()
    start_ms, end_ms = round(start * 1000), round(end * 1000)
    bounds = [start_ms + (end_ms - start_ms) * index // len(words) for index in range(len(words) + 1)] if words else []
    return [CtmWord(file, "1", bounds[index] / 1000, (bounds[index + 1] - bounds[index]) / 1000, word) for index, word in enumerate(words)]


def write_corpus_ctm(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """Every segment's words as CTM lines of file `out`, spread evenly over the segment (a manifest has no word times)."""
    lines, skipped = stm_lines(corpus)
    words = [word for line in lines for word in spread_words(line.file, line.start, line.end, line.text)]
    write_ctm(out, words, overwrite)
    notes = (f"a manifest has no word times: the {len(words)} word(s) are spread evenly over their segments "
             "(right for scoring with sclite against an STM; for aligned times use `fieldasr transcribe --format ctm`).",)
    notes += _overlap_note(corpus)
    return ExportResult(out, (out,), len(lines), tuple(skipped), notes)
