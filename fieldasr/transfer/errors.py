"""Errors of the text-side transfer: each names the file, token or resource and what to do."""
from __future__ import annotations

from fieldasr.errors import FieldasrError


class TransferError(FieldasrError):
    """Base class of the errors raised by fieldasr.transfer."""


class TargetTextError(TransferError):
    """A target-language text file is missing, empty or not UTF-8."""


class TokenizerMismatchError(TransferError):
    """A tokenizer does not fit the model or the other tokenizer it is combined with."""


class UnsupportedModelError(TransferError):
    """A source model of a family text-side transfer does not handle, or used as the wrong kind of LM."""


class MissingResourceError(TransferError):
    """An initialisation method was asked for without a resource it needs."""


class DictionaryError(TransferError):
    """A bilingual dictionary is malformed or too small to align embeddings."""
