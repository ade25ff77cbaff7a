"""The formats of the speech-tool ecosystem, one module each, and the one table `prepare` and `export-corpus` read.

Each entry names the reader `prepare --format NAME` uses (yielding `SourceFile`s and `SkippedItem`s, like every
importer) and the writer `export-corpus --format NAME` uses (a `Corpus` to files, returning an `ExportResult`).
None of them needs the tool itself installed: Lhotse's and Hugging Face's files are plain JSONL/CSV.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.formats.audiofolder import read_audiofolder, write_audiofolder
from fieldasr.data.formats.base import ExportResult
from fieldasr.data.formats.kaldi import read_kaldi, write_kaldi
from fieldasr.data.formats.lhotse import read_lhotse, write_lhotse
from fieldasr.data.formats.sclite import CtmWord, StmLine, read_ctm, read_stm, write_corpus_ctm, write_corpus_stm, write_ctm, write_stm
from fieldasr.data.formats.transcriber import read_trs, write_trs
from fieldasr.data.manifest import Corpus
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SkippedItem, SourceFile
from fieldasr.errors import AnnotationError

Reader = Callable[[Path, str | None, MediaSearch], Iterator[SourceFile | SkippedItem]]
Writer = Callable[[Corpus, Path, bool], ExportResult]


@dataclass(frozen=True)
class CorpusFormat:
    name: str
    description: str  # for --help and the README table
    read: Reader | None  # None: export only
    write: Writer | None  # None: import only
    output_is_file: bool = False  # the export is one file (else a folder)
    finds_audio_by_name: bool = False  # audio looked up by name beside the files or under --media-dir


CORPUS_FORMATS: dict[str, CorpusFormat] = {
    format.name: format for format in (
        CorpusFormat("kaldi", "Kaldi data directory (wav.scp, text, segments, utt2spk, spk2utt)", read_kaldi, write_kaldi),
        CorpusFormat("lhotse", "Lhotse recordings + supervisions manifests (JSONL, gzipped or not)", read_lhotse, write_lhotse),
        CorpusFormat("hf-audiofolder", "Hugging Face audiofolder (audio + metadata.csv/.jsonl with file_name, transcription)",
                     read_audiofolder, write_audiofolder),
        CorpusFormat("stm", "sclite STM reference (file channel speaker start end text)", read_stm, write_corpus_stm,
                     output_is_file=True, finds_audio_by_name=True),
        CorpusFormat("ctm", "sclite CTM timed words (file channel start duration word)", None, write_corpus_ctm, output_is_file=True),
        CorpusFormat("trs", "Transcriber .trs files (XML: Speakers, Section, Turn, Sync)", read_trs, write_trs, finds_audio_by_name=True),
    )
}
IMPORT_FORMATS = tuple(name for name, format in CORPUS_FORMATS.items() if format.read is not None)
EXPORT_FORMATS = tuple(name for name, format in CORPUS_FORMATS.items() if format.write is not None)


def export_corpus(manifest_dir: str | Path, format_name: str, out: str | Path, overwrite: bool = False) -> ExportResult:
    """Write the corpus in `manifest_dir` to `out` in `format_name`; an existing `out` is replaced only with `overwrite`."""
    if format_name not in EXPORT_FORMATS:
        raise AnnotationError(f"unsupported export format {format_name!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    corpus = Corpus.load(manifest_dir, text_only_ok=True)
    return CORPUS_FORMATS[format_name].write(corpus, Path(out), overwrite)

__all__ = ["CORPUS_FORMATS", "EXPORT_FORMATS", "IMPORT_FORMATS", "CorpusFormat", "CtmWord", "ExportResult", "StmLine",
           "export_corpus", "read_ctm", "write_ctm", "write_stm"]
