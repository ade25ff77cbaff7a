"""Uncertainty of error rates: bootstrap confidence intervals and a paired bootstrap test.

Utterances are the resampling unit (errors within one utterance are not independent). The rate of a
resample is total errors / total reference tokens, as for the full test set (Bisani & Ney 2004; the
paired test follows Koehn 2004). Resamples are drawn in chunks so 100k utterances fit in memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fieldasr.eval.metrics import ScoreResult

_CHUNK_CELLS = 5_000_000  # resamples x utterances drawn at once


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float
    resamples: int


@dataclass(frozen=True)
class PairedTest:
    """System A minus system B on the same utterances: negative differences mean A makes fewer errors."""

    system_a: str
    system_b: str
    unit: str
    difference: float
    interval: Interval
    p_value: float  # two-sided: how often resampling flips or erases the sign of the difference
    resamples: int


def error_arrays(result: ScoreResult) -> tuple[np.ndarray, np.ndarray]:
    errors = np.fromiter((u.errors for u in result.utterances), dtype=np.float64, count=len(result.utterances))
    lengths = np.fromiter((len(u.reference) for u in result.utterances), dtype=np.float64, count=len(result.utterances))
    return errors, lengths


def _resampled_sums(columns: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield, chunk by chunk, column sums of resampled rows: shape (chunk, columns)."""
    generator = np.random.default_rng(seed)
    count = columns.shape[0]
    chunk = max(1, _CHUNK_CELLS // max(count, 1))
    for start in range(0, resamples, chunk):
        indices = generator.integers(0, count, size=(min(chunk, resamples - start), count), dtype=np.int32)
        # One gather per column: cheaper than fancy-indexing the 2-D array.
        yield np.stack([np.take(column, indices).sum(axis=1) for column in columns.T], axis=1)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def bootstrap_interval(
    errors: np.ndarray, lengths: np.ndarray, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Interval | None:
    """Percentile interval of total errors / total reference tokens; None without any reference tokens."""
    if len(errors) == 0 or lengths.sum() == 0:
        return None
    columns = np.stack([errors, lengths], axis=1)
    rates = np.concatenate([_ratio(sums[:, 0], sums[:, 1]) for sums in _resampled_sums(columns, resamples, seed)])
    tail = (1 - confidence) / 2
    low, high = np.nanquantile(rates, [tail, 1 - tail])
    return Interval(float(low), float(high), confidence, resamples)


def result_interval(result: ScoreResult, resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> Interval | None:
    errors, lengths = error_arrays(result)
    return bootstrap_interval(errors, lengths, resamples, confidence, seed)


def paired_bootstrap(
    result_a: ScoreResult, result_b: ScoreResult, names: tuple[str, str] = ("A", "B"),
    resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
) -> PairedTest | None:
    """Paired bootstrap test of rate(A) - rate(B); both results must score the same utterances."""
    ids_a = [u.id for u in result_a.utterances]
    if ids_a != [u.id for u in result_b.utterances]:
        raise ValueError("paired test needs both systems scored on the same utterances in the same order.")
    errors_a, lengths = error_arrays(result_a)
    errors_b, _ = error_arrays(result_b)
    if lengths.sum() == 0:
        return None
    columns = np.stack([errors_a, errors_b, lengths], axis=1)
    differences = np.concatenate(
        [_ratio(sums[:, 0] - sums[:, 1], sums[:, 2]) for sums in _resampled_sums(columns, resamples, seed)]
    )
    differences = differences[~np.isnan(differences)]
    observed = float((errors_a.sum() - errors_b.sum()) / lengths.sum())
    if observed == 0:
        p_value = 1.0
    else:
        flipped = np.mean(differences >= 0) if observed < 0 else np.mean(differences <= 0)
        p_value = float(min(1.0, 2 * flipped))
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    interval = Interval(float(low), float(high), confidence, resamples)
    return PairedTest(names[0], names[1], result_a.unit, observed, interval, p_value, resamples)
