"""Bootstrap intervals and the paired test, checked against scipy's bootstrap."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from fieldasr.eval import score
from fieldasr.eval.stats import bootstrap_interval, paired_bootstrap


def _ratio(errors: np.ndarray, lengths: np.ndarray, axis: int = -1) -> np.ndarray:
    return errors.sum(axis=axis) / lengths.sum(axis=axis)


def test_interval_agrees_with_scipy_percentile_bootstrap() -> None:
    generator = np.random.default_rng(1)
    lengths = generator.integers(1, 20, size=400).astype(float)
    errors = generator.binomial(lengths.astype(int), 0.3).astype(float)
    ours = bootstrap_interval(errors, lengths, resamples=4000, seed=2)
    reference = scipy_stats.bootstrap((errors, lengths), _ratio, paired=True, vectorized=True, n_resamples=4000,
                                      method="percentile", random_state=3).confidence_interval
    assert ours is not None
    assert ours.low == pytest.approx(reference.low, abs=0.004)
    assert ours.high == pytest.approx(reference.high, abs=0.004)
    assert ours.low < errors.sum() / lengths.sum() < ours.high


def test_interval_is_none_without_reference_tokens() -> None:
    assert bootstrap_interval(np.array([2.0]), np.array([0.0])) is None
    assert bootstrap_interval(np.array([]), np.array([])) is None


def _systems(better_every: int) -> tuple:
    references = {f"u{i}": "a b c d e" for i in range(300)}
    noisy = {key: "a x c d y" if i % 2 else "a b c d e" for i, key in enumerate(references)}
    other = {key: ("a b c d e" if i % better_every == 0 else text) for i, (key, text) in enumerate(noisy.items())}
    return score(references, noisy), score(references, other)


def test_paired_test_finds_a_real_difference_and_not_an_absent_one() -> None:
    baseline, improved = _systems(better_every=3)
    test = paired_bootstrap(baseline, improved, ("baseline", "improved"), resamples=2000)
    assert test is not None and test.difference > 0 and test.p_value < 0.001
    assert test.interval.low > 0
    same = paired_bootstrap(baseline, baseline, resamples=500)
    assert same is not None and same.difference == 0 and same.p_value == 1.0


def test_paired_interval_agrees_with_scipy() -> None:
    baseline, improved = _systems(better_every=5)
    test = paired_bootstrap(baseline, improved, resamples=4000, seed=5)
    errors_a = np.array([u.errors for u in baseline.utterances], dtype=float)
    errors_b = np.array([u.errors for u in improved.utterances], dtype=float)
    lengths = np.array([len(u.reference) for u in baseline.utterances], dtype=float)
    reference = scipy_stats.bootstrap(
        (errors_a, errors_b, lengths), lambda a, b, n, axis=-1: (a.sum(axis) - b.sum(axis)) / n.sum(axis),
        paired=True, vectorized=True, n_resamples=4000, method="percentile", random_state=6,
    ).confidence_interval
    assert test is not None
    assert test.interval.low == pytest.approx(reference.low, abs=0.004)
    assert test.interval.high == pytest.approx(reference.high, abs=0.004)
