"""Steps-to-match of benchmarks/lm_transfer.py: the first evaluated step at or below the target, read from the curves."""
from __future__ import annotations

from benchmarks.lm_transfer_curves import RunCurve, first_step_at_or_below, load_curves, steps_to_match, write_curve


def test_first_crossing_is_the_first_evaluated_step_at_or_below_the_target_without_interpolation():
    curve = {0: 4.0, 100: 3.2, 200: 2.9, 300: 3.05, 400: 2.8}  # dips under 3.0 at 200, back above, under again at 400
    assert first_step_at_or_below(curve, 3.0) == 200
    assert first_step_at_or_below(curve, 2.9) == 200  # at the target counts
    assert first_step_at_or_below(curve, 2.85) == 400
    assert first_step_at_or_below({400: 2.8, 0: 4.0, 200: 2.9}, 2.95) == 200  # step order, not insertion order


def test_not_reached_gives_no_step_and_no_mean():
    match = steps_to_match([{0: 4.0, 100: 2.5}, {0: 4.0, 100: 2.7, 200: 2.6}], 2.6, last_step=1000)
    assert match.per_seed == (100, 200)
    assert match.mean == 150.0 and match.fraction == 0.15
    partly = steps_to_match([{0: 4.0, 100: 2.5}, {0: 4.0, 100: 2.7, 200: 2.65}], 2.6, last_step=1000)
    assert partly.per_seed == (100, None)
    assert partly.mean is None and partly.fraction is None


def test_curves_survive_the_json_round_trip(tmp_path):
    run = RunCurve("focus", 2, {0: 3.5, 1000: 2.7}, {0: 3.6, 25: 3.4, 1000: 2.75}, {"copied": 5}, 12.5)
    loaded = load_curves([write_curve(tmp_path, run)])
    assert loaded == [run]
    assert first_step_at_or_below(loaded[0].curve, 3.45) == 25
