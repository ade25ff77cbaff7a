"""Guard rails: a long run of out-of-range gradient norms or a collapsed codebook is reported, once per episode."""
from __future__ import annotations

import logging

from fieldasr.ssl.guard import GradientGuard


def test_healthy_run_raises_nothing():
    guard = GradientGuard(codebook_size=640, patience=5)
    for step in range(50):
        assert guard.observe(step, gradient_norm=1.0 + 0.5 * (step % 2), codebook_perplexity=300.0) == []


def test_long_high_gradient_norm_warns_once_per_episode(caplog):
    guard = GradientGuard(codebook_size=640, patience=5)
    with caplog.at_level(logging.WARNING, logger="fieldasr.ssl.guard"):
        raised = [w for step in range(20) for w in guard.observe(step, 3.0, 300.0)]
    assert [(w.step, w.kind) for w in raised] == [(4, "gradient_norm_high")]
    assert "lower the learning rate" in caplog.text
    guard.observe(20, 1.0, 300.0)  # back in range ends the episode
    again = [w for step in range(21, 30) for w in guard.observe(step, float("nan"), 300.0)]
    assert [(w.step, w.kind) for w in again] == [(25, "gradient_norm_high")]


def test_short_excursions_are_not_reported():
    guard = GradientGuard(codebook_size=640, patience=5)
    for step in range(40):
        norm = 0.1 if step % 4 == 0 else 1.0  # isolated low steps
        assert guard.observe(step, norm, 300.0) == []


def test_low_gradient_norm_and_codebook_collapse_are_told_apart():
    guard = GradientGuard(codebook_size=640, patience=3, min_perplexity_fraction=0.05)
    raised = [w for step in range(3) for w in guard.observe(step, 0.1, 10.0)]
    assert sorted(w.kind for w in raised) == ["codebook_collapse", "gradient_norm_low"]
    assert guard.warnings == raised
