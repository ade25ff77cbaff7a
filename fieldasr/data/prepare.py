"""`prepare`: fieldwork files (ELAN, TextGrid, Common Voice, CSV, audio + .txt) and other tools' corpora (Kaldi,
Lhotse, Hugging Face audiofolder, STM, Transcriber: `fieldasr.data.formats`) -> checked manifests on disk.

Importers parse; this module opens each audio file once, turns annotations into segments, and records
everything it could not use (empty annotations, annotations past the end of the audio, unreadable files)
with the reason, in the result and in `skipped.tsv`. Audio found other than where an annotation file links it
(`fieldasr.data.media`) is listed in the result and in `media.tsv`. Nothing is written until everything has been
read and checked, so a run that fails leaves no output folder behind.

With `text_only`, annotations become segments without any audio being looked for or opened (times from the
annotation files); the corpus is saved as a text-only corpus (see `fieldasr.data.manifest`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.audio import AUDIO_EXTENSIONS, AudioInfo, check_audio_end
from fieldasr.data.elan import read_eaf
from fieldasr.data.formats import CORPUS_FORMATS, IMPORT_FORMATS
from fieldasr.data.manifest import DURATION_TOLERANCE, Corpus, Recording, Segment, count_overlapping_pairs
from fieldasr.data.media import AmbiguousMediaError, MediaSearch
from fieldasr.data.source import MediaSubstitution, SkippedItem, SourceAnnotation, SourceFile, TierSelection, tidy_text
from fieldasr.data.tabular import common_voice_table, read_audio_folder, read_common_voice, read_csv
from fieldasr.data.textgrid import read_textgrid
from fieldasr.errors import AnnotationError, AudioError, FieldasrError, ManifestError
from fieldasr.files import atomic_write_text

FORMATS = ("eaf", "textgrid", "cv", "csv", "folder", *IMPORT_FORMATS)
TEXT_ONLY_FORMATS = ("eaf", "textgrid", "csv")  # the others hold whole-file transcriptions, whose length is the audio's
ANNOTATION_SUFFIXES = {"eaf": ".eaf", "textgrid": ".textgrid"}
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class PrepareResult:
    corpus_name: str
    corpus: Corpus
    output: Path  # the folder holding recordings.jsonl.gz, segments.jsonl.gz, skipped.tsv and media.tsv
    skipped: tuple[SkippedItem, ...]
    counts: Mapping[str, int]
    substitutions: tuple[MediaSubstitution, ...] = ()  # audio found other than where its annotation file links it
    text_only: bool = False


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


def _read_sources(source: Path, format: str, selection: TierSelection, language: str | None, media: MediaSearch | None,
                  strict: bool, progress: bool) -> Iterator[SourceFile | SkippedItem]:
    if format in ANNOTATION_SUFFIXES:
        reader = read_eaf if format == "eaf" else read_textgrid
        for path in tqdm(_annotation_files(source, format), desc=f"reading {format}", unit="file", disable=not progress):
            try:
                yield reader(path, selection, language, media)
            except AmbiguousMediaError:
                raise  # the fieldworker must choose; skipping would hide it
            except FieldasrError as error:
                if strict:
                    raise
                reason = str(error)
                yield SkippedItem(str(path), "", reason.removeprefix(f"{path}: "), "unusable-file")
        return
    if not selection.is_empty:
        raise AnnotationError(f"{source}: --tier, --linguistic-type and --participant apply to eaf and textgrid sources only.")
    if format in CORPUS_FORMATS:
        entry = CORPUS_FORMATS[format]
        if media is not None and media.media_dir is not None and not entry.finds_audio_by_name:
            raise AnnotationError(f"{source}: --media-dir does not apply to {format} sources: they name their audio files themselves.")
        yield from tqdm(entry.read(source, language, media or MediaSearch()), desc=f"reading {format}", unit="item", disable=not progress)
        return
    if media is not None and media.media_dir is not None:
        raise AnnotationError(f"{source}: --media-dir applies to eaf and textgrid sources only; {format} sources name their audio files themselves.")
    readers = {"cv": read_common_voice, "csv": read_csv, "folder": read_audio_folder}
    yield from tqdm(readers[format](source, language), desc=f"reading {format}", unit="item", disable=not progress)


def _media_root(source: Path, format: str) -> Path:
    if format == "cv":
        return common_voice_table(source).parent / "clips"
    return source if source.is_dir() else source.parent


class _CorpusBuilder:
    """Collects recordings (one per audio file) and segments, and counts what it leaves out."""

    def __init__(self, media_root: Path, strict: bool, text_only: bool = False) -> None:
        self.media_root, self.strict, self.text_only = media_root.resolve(), strict, text_only
        self.recordings: dict[tuple[Path, str | None], Recording | AudioError] = {}
        self.paths_by_id: dict[str, Path] = {}
        self.segments: dict[str, tuple[Segment, str]] = {}
        self.skipped: list[SkippedItem] = []
        self.substitutions: list[MediaSubstitution] = []
        self.text_recordings: set[str] = set()

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

    def _named_recording_id(self, identifier: str, media: Path) -> str:
        other = self.paths_by_id.setdefault(identifier, media)
        if other != media:
            raise ManifestError(f"recording id {identifier!r} names two audio files: {other} and {media}. Each recording id "
                                "must name one file; fix the source's recording list.")
        return identifier

    def _recording(self, media: Path, identifier: str | None = None) -> Recording:
        media = media.resolve()
        key = (media, identifier)
        if key not in self.recordings:
            try:
                if media.suffix.lower() not in AUDIO_EXTENSIONS:
                    raise AudioError(f"{media}: unsupported audio format {media.suffix!r}. Convert it to WAV or FLAC, e.g. `ffmpeg -i {media.name} -ac 1 {media.stem}.wav`.")
                named = self._recording_id(media) if identifier is None else self._named_recording_id(identifier, media)
                recording = Recording.from_audio(named, media)
                check_audio_end(media, _header_of(recording))
                self.recordings[key] = recording
            except AudioError as error:
                self.recordings[key] = error
        found = self.recordings[key]
        if isinstance(found, AudioError):
            raise found
        return found

    def add(self, source: SourceFile) -> None:
        self.skipped.extend(source.skipped)
        if self.text_only:
            self._add_text_only(source)
            return
        if source.media is None:
            raise ManifestError(f"{source.source}: no audio was looked for; this happens only with --text-only.")
        try:
            recording = self._recording(source.media, source.recording_id)
        except AudioError as error:
            if self.strict:
                raise
            lost = f" ({len(source.annotations)} annotation(s) not used)" if len(source.annotations) > 1 else ""
            self.skip(SkippedItem(str(source.source), "", f"{error}{lost}", "unusable-audio"))
            return
        if source.substitution is not None:
            self.substitutions.append(source.substitution)
        for annotation in source.annotations:
            end = recording.duration if annotation.end is None else annotation.end
            where = f"{annotation.where} ({annotation.start:.3f}-{end:.3f} s)"
            beyond = annotation.start >= recording.duration or end > recording.duration + DURATION_TOLERANCE
            if beyond and tidy_text(annotation.text):  # an empty one is skipped as empty below
                self.skip(SkippedItem(str(source.source), where, f"reaches past the end of the audio ({recording.duration:.3f} s, "
                                      f"{recording.path}); check that the right recording is linked", "beyond-audio"))
                continue
            self._add_segment(source, annotation, recording.id, annotation.start, min(end, recording.duration), where)

    def _add_text_only(self, source: SourceFile) -> None:
        """Times from the annotation file; the recording id names the audio a row gives, else the annotation file."""
        named = source.media if source.media is not None else source.source
        try:
            relative = named.resolve().relative_to(self.media_root)
        except ValueError:
            relative = Path(named.name)
        recording_id = "__".join(relative.with_suffix("").parts)
        self.text_recordings.add(recording_id)
        for annotation in source.annotations:
            if annotation.end is None:
                self.skip(SkippedItem(str(source.source), annotation.where, "a whole-file transcription: its length is the "
                                      "audio's, which --text-only does not open; give start and end times", "needs-audio"))
                continue
            where = f"{annotation.where} ({annotation.start:.3f}-{annotation.end:.3f} s)"
            self._add_segment(source, annotation, recording_id, annotation.start, annotation.end, where)

    def _add_segment(self, source: SourceFile, annotation: SourceAnnotation, recording_id: str, start: float, end: float, where: str) -> None:
        text = tidy_text(annotation.text)
        if not text:
            self.skip(SkippedItem(str(source.source), where, "empty annotation (no text)", "empty-text"))
            return
        segment_id = annotation.segment_id or (f"{recording_id}-{annotation.key}" if annotation.key else recording_id)
        segment = Segment(segment_id, recording_id, start, round(end - start, 6), text,
                          annotation.speaker, annotation.language, custom=dict(annotation.custom))
        if segment_id in self.segments:
            raise ManifestError(f"segment id {segment_id!r} occurs twice: {self.segments[segment_id][1]} and {source.source} {where}. "
                                "The same audio is annotated twice; remove the duplicate row or file.")
        self.segments[segment_id] = (segment, f"{source.source} {where}")

    def corpus(self) -> Corpus:
        recordings = sorted((item for item in self.recordings.values() if isinstance(item, Recording)), key=lambda recording: recording.id)
        segments = sorted((segment for segment, _ in self.segments.values()), key=lambda segment: (segment.recording_id, segment.start, segment.id))
        return Corpus(recordings={recording.id: recording for recording in recordings}, segments=tuple(segments), text_only=self.text_only)


def _header_of(recording: Recording) -> AudioInfo:
    return AudioInfo(recording.sampling_rate, recording.num_samples, recording.channels)


def write_skipped(path: Path, skipped: Iterable[SkippedItem]) -> None:
    lines = ["source\titem\tkind\treason"] + [f"{_cell(item.source)}\t{_cell(item.item)}\t{item.kind}\t{_cell(item.reason)}" for item in skipped]
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_media_report(path: Path, substitutions: Iterable[MediaSubstitution]) -> None:
    """`media.tsv`: each annotation file whose audio was found other than where it links, and what was used."""
    lines = ["annotation_file\tlinked\tused\thow"] + [
        f"{_cell(item.annotation)}\t{_cell(item.linked)}\t{_cell(item.used)}\t{item.how}" for item in substitutions]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _cell(value: str) -> str:
    return " ".join(value.split())


def _check_arguments(source: Path, format: str, corpus_name: str, media_dir: str | Path | None, text_only: bool) -> MediaSearch | None:
    """Every mistake in the arguments, before anything is read; returns how to look for audio (None: --text-only)."""
    if format not in FORMATS:
        raise AnnotationError(f"unsupported format {format!r}; choose one of {', '.join(FORMATS)}.")
    if not source.exists():
        raise AnnotationError(f"{source}: no such file or folder.")
    if not corpus_name or "/" in corpus_name or corpus_name.startswith("."):
        raise AnnotationError(f"corpus name {corpus_name!r} must be a plain folder name, e.g. 'ainu-2024'.")
    if text_only and media_dir is not None:
        raise AnnotationError(f"{media_dir}: --media-dir and --text-only exclude each other (--text-only opens no audio). Drop one of them.")
    if text_only and format not in TEXT_ONLY_FORMATS:
        raise AnnotationError(f"{source}: --text-only works with {', '.join(TEXT_ONLY_FORMATS)} sources, which give times; "
                              f"a {format} source transcribes whole files, whose length only the audio knows.")
    return None if text_only else MediaSearch(media_dir)


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
    media_dir: str | Path | None = None,
    text_only: bool = False,
) -> PrepareResult:
    """Read `source` in `format`, write `out_dir/corpus_name/{recordings,segments}.jsonl.gz`, `skipped.tsv` and `media.tsv`.

    `language` fills in segments whose source names no language (ELAN LANG_REF, Common Voice locale and a CSV
    language column win). With `strict`, an unusable file raises instead of being skipped. `media_dir` is searched
    for audio that is not where an annotation file links it; `text_only` imports annotations without audio.
    """
    source = Path(source)
    media = _check_arguments(source, format, corpus_name, media_dir, text_only)
    builder = _CorpusBuilder(_media_root(source, format), strict, text_only)
    for item in _read_sources(source, format, selection, language, media, strict, progress):
        if isinstance(item, SkippedItem):
            builder.skip(item)
        else:
            builder.add(item)
    corpus = builder.corpus()
    corpus.validate()
    if not corpus.segments:
        reasons = "; ".join(item.describe() for item in builder.skipped[:5])
        raise AnnotationError(f"{source}: no usable segment was found ({len(builder.skipped)} item(s) skipped; nothing was written). "
                              f"First reasons: {reasons or 'none'}")
    output = Path(out_dir) / corpus_name
    output.mkdir(parents=True, exist_ok=True)
    write_skipped(output / "skipped.tsv", builder.skipped)
    if not text_only:  # no audio was looked for, so there is nothing to report
        write_media_report(output / "media.tsv", builder.substitutions)
    corpus.save(output)
    kinds = Counter(item.kind for item in builder.skipped)
    recordings = len(builder.text_recordings) if text_only else len(corpus.recordings)
    counts = {"recordings": recordings, "segments": len(corpus.segments), "skipped": len(builder.skipped),
              "overlapping_pairs": count_overlapping_pairs(corpus.segments), "media_substituted": len(builder.substitutions),
              **{f"skipped_{kind}": n for kind, n in sorted(kinds.items())}}
    return PrepareResult(corpus_name, corpus, output, tuple(builder.skipped), counts, tuple(builder.substitutions), text_only)


def shares_by(corpus: Corpus, attribute: str) -> dict[str, Share]:
    """Segments and hours per value of a segment attribute ("language", "speaker"), largest first."""
    segments: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for segment in corpus.segments:
        key = getattr(segment, attribute) or UNKNOWN
        segments[key] += 1
        seconds[key] += segment.duration
    return {key: Share(segments[key], seconds[key] / 3600) for key, _ in seconds.most_common()}
