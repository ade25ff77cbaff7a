"""Scoring's view of the one text normaliser (`fieldasr.text.normalise`): its presets, by name, for `--normalise`.

References and hypotheses get the same normaliser; its name goes into every report so two scores are only
compared when they were normalised the same way. The rules (apostrophes and hyphens inside words kept,
digits never rewritten) are documented and decided in `fieldasr.text.normalise`.
"""
from __future__ import annotations

from fieldasr.eval.errors import EvaluationError
from fieldasr.text import normalise as text_normalise
from fieldasr.text.normalise import PRESETS, Normaliser

__all__ = ["PRESETS", "Normaliser", "normaliser_from_spec"]


def normaliser_from_spec(spec: str) -> Normaliser:
    """`default`, `nfc+lowercase`, `unicode+punctuation`...: presets expand to their steps, order is kept."""
    try:
        return text_normalise.normaliser_from_spec(spec)
    except text_normalise.NormalisationError as error:
        raise EvaluationError(str(error)) from error
