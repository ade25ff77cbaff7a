"""Manifests, importers and exporters: everything between a fieldworker's files and training data."""
from fieldasr.data.manifest import Corpus, Recording, Segment, read_recordings, read_segments, write_manifest

__all__ = ["Corpus", "Recording", "Segment", "read_recordings", "read_segments", "write_manifest"]
