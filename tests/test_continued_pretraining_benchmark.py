"""benchmarks/continued_pretraining.py's bookkeeping: one cached result per condition, fine-tuning variant, size and
seed; the report pairs each variant with its own control and with the recipe."""
from __future__ import annotations

from benchmarks.continued_pretraining import ConditionResult, comparisons, load, result_file, result_tables, save
from benchmarks.real_speech import RunResult


def result(condition: str, fine_tuning: str, size: str, seed: int, per: float) -> ConditionResult:
    minutes = 10.0 if size == "10" else 80.4
    run = RunResult("scratch", size, seed, minutes, 900, 900, 60.0, 30.0, False, 1, (), per, 0.9, 0.7, 0.25)
    return ConditionResult(condition, run, "this benchmark", fine_tuning)


def test_each_variant_is_cached_apart_and_read_back(tmp_path):
    results = [result("a", "recipe", "10", 1, 0.74), result("a", "linear_probe", "10", 1, 0.97), result("c", "linear_probe", "10", 1, 0.81)]
    for each in results:
        save(each, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-10-seed1.json", "a-linear_probe-10-seed1.json", "c-linear_probe-10-seed1.json"]
    assert result_file("c", "recipe", "full", 2) == "c-full-seed2.json"
    assert sorted(load(tmp_path), key=lambda r: r.name) == sorted(results, key=lambda r: r.name)


def test_comparisons_pair_a_variant_with_its_own_control_and_with_the_recipe():
    names = ["(a)", "(c)", "(d)", "(a) linear_probe", "(c) linear_probe", "(d) linear_probe"]
    pairs = comparisons(names)
    assert ("(c)", "(d)") in pairs and ("(c)", "(a)") in pairs
    assert ("(c) linear_probe", "(d) linear_probe") in pairs and ("(c) linear_probe", "(a) linear_probe") in pairs
    assert ("(c) linear_probe", "(c)") in pairs
    assert all(first in names and second in names for first, second in pairs)  # (b) was not run: never compared


def test_report_has_a_table_per_label_set_and_paired_tests_with_two_seeds():
    results = [result(condition, "recipe", size, seed, per + 0.01 * seed * (2 if condition == "c" else 1))
               for condition, per in (("a", 0.74), ("c", 0.70)) for size in ("10", "full") for seed in (1, 2)]
    titles = [table.heading for table in result_tables(results)]
    assert titles == ["Test PER of each run", "10 min of labels: mean test PER (± half the range over seeds)",
                      "10 min of labels: paired comparisons over seeds", "All 80 min of labels: mean test PER (± half the range over seeds)",
                      "All 80 min of labels: paired comparisons over seeds"]
    paired = result_tables(results)[2]
    (row,) = [row for row in paired.rows if row[0] == "(c) vs (a)"]
    assert row[2] == "-3.0 -2.0" and row[3] == "+3.3 %"
