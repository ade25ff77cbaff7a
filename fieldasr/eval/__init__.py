"""Evaluation: WER, CER and PER that agree with sclite, breakdowns, significance, and reports."""
import importlib

from fieldasr.eval.align import Alignment, align_batch
from fieldasr.eval.metrics import ScoreResult, UtteranceScore, score, score_pairs, tokenise
from fieldasr.eval.normalise import Normaliser, normaliser_from_spec

# Reports pull in matplotlib; they load only when asked for, so `score` stays light.
_LAZY = {"evaluate": "fieldasr.eval.report", "EvaluationReport": "fieldasr.eval.report", "write_html": "fieldasr.eval.html",
         "to_markdown": "fieldasr.eval.output", "write_json": "fieldasr.eval.output", "write_trn": "fieldasr.eval.output"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fieldasr.eval' has no attribute {name!r}")


__all__ = [
    "EvaluationReport",
    "evaluate",
    "to_markdown",
    "write_html",
    "write_json",
    "write_trn",
    "Alignment",
    "Normaliser",
    "ScoreResult",
    "UtteranceScore",
    "align_batch",
    "normaliser_from_spec",
    "score",
    "score_pairs",
    "tokenise",
]
