"""Evaluation: WER, CER and PER that agree with sclite, breakdowns, significance, and reports."""
from fieldasr.eval.align import Alignment, align_batch
from fieldasr.eval.metrics import ScoreResult, UtteranceScore, score, tokenise
from fieldasr.eval.normalise import Normaliser, normaliser_from_spec

__all__ = [
    "Alignment",
    "Normaliser",
    "ScoreResult",
    "UtteranceScore",
    "align_batch",
    "normaliser_from_spec",
    "score",
    "tokenise",
]
