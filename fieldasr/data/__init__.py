"""Manifests, importers and exporters: everything between a fieldworker's files and training data."""
from fieldasr.data.elan import read_eaf
from fieldasr.data.elan_write import write_new_eaf, write_tier_into_eaf
from fieldasr.data.export import read_json, read_srt, write_json, write_srt
from fieldasr.data.formats import CORPUS_FORMATS, export_corpus
from fieldasr.data.manifest import Corpus, Recording, Segment, read_recordings, read_segments, write_manifest
from fieldasr.data.prepare import FORMATS, PrepareResult, prepare_corpus
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile, TierSelection
from fieldasr.data.tabular import read_audio_folder, read_common_voice, read_csv
from fieldasr.data.textgrid import read_textgrid, write_textgrid

__all__ = [
    "CORPUS_FORMATS", "FORMATS", "Corpus", "PrepareResult", "Recording", "Segment", "SkippedItem", "SourceAnnotation", "SourceFile",
    "TierSelection", "export_corpus", "prepare_corpus", "read_audio_folder", "read_common_voice", "read_csv", "read_eaf", "read_json",
    "read_recordings", "read_segments", "read_srt", "read_textgrid", "write_json", "write_manifest", "write_new_eaf",
    "write_srt", "write_textgrid", "write_tier_into_eaf",
]
