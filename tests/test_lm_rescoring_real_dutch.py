"""The real-Dutch rescoring benchmark's splits and report (no training: the run needs the Fish Fillets data)."""
from __future__ import annotations

import json
import random

from benchmarks.lm_rescoring_real_dutch import RESULTS_FILE, halves_by_level, held_out_levels, level, load_rescoring_tables
from fieldasr.data import Segment


def _segments(seed: int) -> list[Segment]:
    rng = random.Random(seed)
    return [Segment(f"{name}-line{index}", f"{name}-line{index}", 0.0, rng.uniform(0.5, 8.0), text="een twee")
            for name in (f"level{number}" for number in range(rng.randint(2, 12))) for index in range(rng.randint(1, 30))]


def test_dev_and_test_halves_hold_whole_levels_of_about_equal_length():
    for seed in range(50):
        segments = _segments(seed)
        dev, test = halves_by_level(segments)
        assert sorted(s.id for s in dev + test) == sorted(s.id for s in segments)
        assert not {level(s) for s in dev} & {level(s) for s in test}
        longest = max(sum(s.duration for s in segments if level(s) == name) for name in {level(s) for s in segments})
        # Each level goes to the shorter half, so the halves never differ by more than one level's length.
        assert abs(sum(s.duration for s in dev) - sum(s.duration for s in test)) <= longest + 1e-9
        assert halves_by_level(list(reversed(segments)))[0] == list(reversed(dev))  # the order of the input does not matter


def test_held_out_levels_are_whole_and_reach_the_fraction():
    segments = _segments(3)
    held = held_out_levels(segments, 0.1)
    lines = sum(level(s) in held for s in segments)
    assert held and lines >= 0.1 * len(segments)
    assert held_out_levels(segments, 0.1) == held


def test_tables_come_from_the_results_file_and_are_absent_without_it(tmp_path):
    assert load_rescoring_tables(tmp_path) == []
    setup = {"layers": 2, "width": 128, "batch_size": 16, "dutch_lines": 10, "udhr_lines": 2, "held_out_lines": 3,
             "held_out_levels": ["a"], "german_lines": 50, "source_vocab": 400, "target_vocab": 100, "bundle": "b", "beam": 50,
             "nbest": 20}
    split = {"lexicon_words": 9, "mean_nbest": 4.0, "dev_utterances": 2, "dev_minutes": 0.1, "dev_levels": ["x"],
             "test_utterances": 2, "test_minutes": 0.1, "test_levels": ["y"], "test_oov_rate": 0.2, "dev_oov_rate": 0.1}
    language_models = [{"lm": "scratch", "steps": 5, "text_lines": 10, "held_out_bpc": 3.0, "test_bpc": 3.1, "cpu_seconds": 1,
                        "held_out_curve": {"0": 5.0, "5": 3.0}}]
    asr = [{"system": "first pass", "dev_wer": 0.5, "test_wer": 0.6, "test_cer": 0.3, "lm_weight": 0.0, "word_score": -1.0},
           {"system": "oracle", "dev_wer": 0.2, "test_wer": 0.25}]
    command = "PYTHONPATH=. python benchmarks/lm_rescoring_real_dutch.py"
    (tmp_path / RESULTS_FILE).write_text(json.dumps({"generated": "now", "command": command, "cpu_seconds": 60, "setup": setup,
                                                     "split": split, "language_models": language_models, "asr": asr}))
    models, rates = load_rescoring_tables(tmp_path)
    assert models.rows[0][5] == "0: 5.000 5: 3.000"
    assert rates.rows[0][1:] == ("50.0", "60.0", "30.0", "lm weight 0, word score -1")
    assert rates.rows[1][3:] == ("–", "–")  # the oracle has no CER and no weights
