"""Exceptions a fieldworker can act on: each message says what went wrong, where, and what to do."""


class FieldasrError(Exception):
    """Base class of every error fieldasr raises on purpose."""


class AudioError(FieldasrError):
    """An audio file cannot be read or is unusable."""


class ManifestError(FieldasrError):
    """A manifest (recordings/segments JSONL) is malformed or inconsistent."""


class AnnotationError(FieldasrError):
    """An ELAN, TextGrid, TSV or CSV annotation file cannot be used as asked."""
