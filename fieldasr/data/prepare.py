"""`prepare`: fieldwork files (ELAN, TextGrid, Common Voice, CSV, audio + .txt) -> checked manifests on disk.

Importers parse; this module opens each audio file once, turns annotations into segments, and records
everything it could not use (empty annotations, annotations past the end of the audio, unreadable files)
with the reason, in the result and in `skipped.tsv`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.audio import AUDIO_EXTENSIONS
from fieldasr.data.elan import read_eaf
from fieldasr.data.export import atomic_write_text
from fieldasr.data.manifest import DURATION_TOLERANCE, Corpus, Recording, Segment
from fieldasr.data.source import SkippedItem, SourceFile, TierSelection, tidy_text
from fieldasr.data.tabular import common_voice_table, read_audio_folder, read_common_voice, read_csv
from fieldasr.data.textgrid import read_textgrid
from fieldasr.errors import AnnotationError, AudioError, FieldasrError, ManifestError

FORMATS = ("eaf", "textgrid", "cv", "csv", "folder")
ANNOTATION_SUFFIXES = {"eaf": ".eaf", "textgrid": ".textgrid"}
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class PrepareResult:
    corpus_name: str
    corpus: Corpus
    output: Path  # the folder holding recordings.jsonl.gz, segments.jsonl.gz and skipped.tsv
    skipped: tuple[SkippedItem, ...]
    counts: Mapping[str, int]


@dataclass(frozen=True)
class Share:
    segments: int
    hours: float


def _annotation_files(source: Path, format: str) -> list[Path]:
    suffix = ANNOTATION_SUFFIXES[format]
    if source.is_file():
        return [source]
    files = sorted(path for path in source.rglob("*") if path.is_file() and path.suffix.lower() == suffix)
    if not files:
        raise AnnotationError(f"{source}: no {suffix} files in this folder or below. Check the path and --format.")
    return files


def _read_sources(source: Path, format: str, selection: TierSelection, language: str | None,
                  strict: bool, progress: bool) -> Iterator[SourceFile | SkippedItem]:
    if format in ANNOTATION_SUFFIXES:
        reader = read_eaf if format == "eaf" else read_textgrid
        for path in tqdm(_annotation_files(source, format), desc=f"reading {format}", unit="file", disable=not progress):
            try:
                yield reader(path, selection, language)
            except FieldasrError as error:
                if strict:
                    raise
                reason = str(error)
                yield SkippedItem(str(path), "", reason.removeprefix(f"{path}: "), "unusable-file")
        return
    if not selection.is_empty:
        raise AnnotationError(f"{source}: --tier, --linguistic-type and --participant apply to eaf and textgrid sources only.")
    readers = {"cv": read_common_voice, "csv": read_csv, "folder": read_audio_folder}
    yield from tqdm(readers[format](source, language), desc=f"reading {format}", unit="item", disable=not progress)


def _media_root(source: Path, format: str) -> Path:
    if format == "cv":
        return common_voice_table(source).parent / "clips"
    return source if source.is_dir() else source.parent


class _CorpusBuilder:
    """Collects recordings (one per audio file) and segments, and counts what it leaves out."""

    def __init__(self, media_root: Path, strict: bool) -> None:
        self.media_root, self.strict = media_root.resolve(), strict
        self.recordings: dict[Path, Recording | AudioError] = {}
        self.paths_by_id: dict[str, Path] = {}
        self.segments: dict[str, tuple[Segment, str]] = {}
        self.skipped: list[SkippedItem] = []

    def skip(self, item: SkippedItem) -> None:
        self.skipped.append(item)

    def _recording_id(self, media: Path) -> str:
        try:
            relative = media.relative_to(self.media_root)
        except ValueError:
            relative = Path(media.name)
        identifier = "__".join(relative.with_suffix("").parts)
        other = self.paths_by_id.setdefault(identifier, media)
        if other != media:
            raise ManifestError(f"two audio files would get the recording id {identifier!r}: {other} and {media}. Rename one of them.")
        return identifier

    def _recording(self, media: Path) -> Recording:
        media = media.resolve()
        if media not in self.recordings:
            try:
                if media.suffix.lower() not in AUDIO_EXTENSIONS:
                    raise AudioError(f"{media}: unsupported audio format {media.suffix!r}. Convert it to WAV or FLAC, e.g. `ffmpeg -i {media.name} -ac 1 {media.stem}.wav`.")
                self.recordings[media] = Recording.from_audio(self._recording_id(media), media)
            except AudioError as error:
                self.recordings[media] = error
        found = self.recordings[media]
        if isinstance(found, AudioError):
            raise found
        return found

    def add(self, source: SourceFile) -> None:
        self.skipped.extend(source.skipped)
        try:
            recording = self._recording(source.media)
        except AudioError as error:
            if self.strict:
                raise
            lost = f" ({len(source.annotations)} annotation(s) not used)" if len(source.annotations) > 1 else ""
            self.skip(SkippedItem(str(source.source), "", f"{error}{lost}", "unusable-audio"))
            return
        for annotation in source.annotations:
            text = tidy_text(annotation.text)
            end = recording.duration if annotation.end is None else annotation.end
            where = f"{annotation.where} ({annotation.start:.3f}-{end:.3f} s)"
            if not text:
                self.skip(SkippedItem(str(source.source), where, "empty annotation (no text)", "empty-text"))
                continue
            if annotation.start >= recording.duration or end > recording.duration + DURATION_TOLERANCE:
                self.skip(SkippedItem(str(source.source), where, f"reaches past the end of the audio ({recording.duration:.3f} s, "
                                      f"{recording.path}); check that the right recording is linked", "beyond-audio"))
                continue
            end = min(end, recording.duration)
            segment_id = f"{recording.id}-{annotation.key}" if annotation.key else recording.id
            segment = Segment(segment_id, recording.id, annotation.start, round(end - annotation.start, 6), text,
                              annotation.speaker, annotation.language, custom=dict(annotation.custom))
            if segment_id in self.segments:
                raise ManifestError(f"segment id {segment_id!r} occurs twice: {self.segments[segment_id][1]} and {source.source} {where}. "
                                    "The same audio is annotated twice; remove the duplicate row or file.")
            self.segments[segment_id] = (segment, f"{source.source} {where}")

    def corpus(self) -> Corpus:
        recordings = sorted((item for item in self.recordings.values() if isinstance(item, Recording)), key=lambda recording: recording.id)
        segments = sorted((segment for segment, _ in self.segments.values()), key=lambda segment: (segment.recording_id, segment.start, segment.id))
        return Corpus(recordings={recording.id: recording for recording in recordings}, segments=tuple(segments))


def count_overlapping(segments: Iterable[Segment]) -> int:
    """How many segments overlap at least one other segment of the same recording (e.g. two speakers at once)."""
    by_recording: dict[str, list[Segment]] = defaultdict(list)
    for segment in segments:
        by_recording[segment.recording_id].append(segment)
    overlapping: set[str] = set()
    for group in by_recording.values():
        group.sort(key=lambda segment: segment.start)
        for index, segment in enumerate(group):
            for later in group[index + 1:]:
                if later.start >= segment.end:
                    break
                overlapping.update((segment.id, later.id))
    return len(overlapping)


def write_skipped(path: Path, skipped: Iterable[SkippedItem]) -> None:
    def cell(value: str) -> str:
        return " ".join(value.split())

    lines = ["source\titem\tkind\treason"] + [f"{cell(item.source)}\t{cell(item.item)}\t{item.kind}\t{cell(item.reason)}" for item in skipped]
    atomic_write_text(path, "\n".join(lines) + "\n")


def prepare_corpus(
    source: str | Path,
    format: str,
    corpus_name: str,
    *,
    out_dir: str | Path = "corpora_manifests",
    selection: TierSelection = TierSelection(),
    language: str | None = None,
    strict: bool = False,
    progress: bool = True,
) -> PrepareResult:
    """Read `source` in `format`, write `out_dir/corpus_name/{recordings,segments}.jsonl.gz` and `skipped.tsv`.

    `language` fills in segments whose source names no language (ELAN LANG_REF, Common Voice locale and a CSV
    language column win). With `strict`, an unusable file raises instead of being skipped.
    """
    source = Path(source)
    if format not in FORMATS:
        raise AnnotationError(f"unsupported format {format!r}; choose one of {', '.join(FORMATS)}.")
    if not source.exists():
        raise AnnotationError(f"{source}: no such file or folder.")
    if not corpus_name or "/" in corpus_name or corpus_name.startswith("."):
        raise AnnotationError(f"corpus name {corpus_name!r} must be a plain folder name, e.g. 'ainu-2024'.")
    builder = _CorpusBuilder(_media_root(source, format), strict)
    for item in _read_sources(source, format, selection, language, strict, progress):
        if isinstance(item, SkippedItem):
            builder.skip(item)
        else:
            builder.add(item)
    corpus = builder.corpus()
    corpus.validate()
    output = Path(out_dir) / corpus_name
    output.mkdir(parents=True, exist_ok=True)
    write_skipped(output / "skipped.tsv", builder.skipped)
    if not corpus.segments:
        reasons = "; ".join(item.describe() for item in builder.skipped[:5])
        raise AnnotationError(f"{source}: no usable segment was found ({len(builder.skipped)} item(s) skipped, listed in "
                              f"{output / 'skipped.tsv'}). First reasons: {reasons or 'none'}")
    corpus.save(output)
    kinds = Counter(item.kind for item in builder.skipped)
    counts = {"recordings": len(corpus.recordings), "segments": len(corpus.segments), "skipped": len(builder.skipped),
              "overlapping_segments": count_overlapping(corpus.segments), **{f"skipped_{kind}": n for kind, n in sorted(kinds.items())}}
    return PrepareResult(corpus_name, corpus, output, tuple(builder.skipped), counts)


def shares_by(corpus: Corpus, attribute: str) -> dict[str, Share]:
    """Segments and hours per value of a segment attribute ("language", "speaker"), largest first."""
    segments: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for segment in corpus.segments:
        key = getattr(segment, attribute) or UNKNOWN
        segments[key] += 1
        seconds[key] += segment.duration
    return {key: Share(segments[key], seconds[key] / 3600) for key, _ in seconds.most_common()}
