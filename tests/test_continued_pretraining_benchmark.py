"""benchmarks/continued_pretraining.py's bookkeeping: one cached result per condition, fine-tuning variant, size and
seed; the report pairs each variant with its own control and with the recipe."""
from __future__ import annotations

from dataclasses import replace

from benchmarks.continued_pretraining import (FINE_TUNING, SYNTHETIC_TEST_PASSAGES, ConditionResult, comparisons, load, result_file,
                                              result_tables, save, split_synthetic_target)
from benchmarks.real_speech import RunResult, preset_changes, recipe_settings
from fieldasr.data import Corpus, Recording, Segment


def result(condition: str, fine_tuning: str, size: str, seed: int, per: float, settings: dict | None = None) -> ConditionResult:
    """A run as train_condition records it: its overrides are where the encoder started and the variant's settings."""
    minutes = 10.0 if size == "10" else 80.4
    overrides = (*(() if condition == "a" else (f"model.init_from=exp/ssl/{condition}",)), *FINE_TUNING[fine_tuning])
    settings = recipe_settings("scratch", overrides) if settings is None else settings
    run = RunResult("scratch", size, seed, minutes, 900, 900, 60.0, 30.0, False, 1, overrides, per, 0.9, 0.7, 0.25, recipe_settings=settings)
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


def synthetic_corpus(passages: int, voices: int) -> Corpus:
    """build_synthetic_corpus's numbering: utterance i speaks passage i mod `passages`, 8 s each."""
    recordings, segments = {}, []
    for index in range(passages * voices):
        identifier = f"nld-{index:05d}"
        recordings[identifier] = Recording(id=identifier, path=f"{identifier}.wav", sampling_rate=16_000, num_samples=128_000)
        segments.append(Segment(id=identifier, recording_id=identifier, start=0.0, duration=8.0, text=f"passage {index % passages}",
                                phones=("a",), speaker=f"voice{index // passages}"))
    return Corpus(recordings, tuple(segments))


def test_synthetic_target_never_trains_on_a_test_passage():
    passages = 113
    corpora = split_synthetic_target(synthetic_corpus(passages, 4), passages)
    texts = {name: {segment.text for segment in corpus.segments} for name, corpus in corpora.items()}
    assert len(texts["test"]) == SYNTHETIC_TEST_PASSAGES and len(corpora["test"].segments) == 4 * SYNTHETIC_TEST_PASSAGES
    assert not texts["test"] & texts["train_10"]
    test_ids = {segment.id for segment in corpora["test"].segments}
    assert not test_ids & {segment.id for segment in corpora["unlabelled"].segments}
    assert len(corpora["unlabelled"].segments) == 4 * (passages - SYNTHETIC_TEST_PASSAGES)
    assert texts["unlabelled"] == {None} and all(segment.phones is None for segment in corpora["unlabelled"].segments)
    assert 10 * 60 <= sum(segment.duration for segment in corpora["train_10"].segments) < 10 * 60 + 8
    assert len(texts["train_10"]) == len(corpora["train_10"].segments)  # enough passages: each spoken once
    few = split_synthetic_target(synthetic_corpus(80, 4), 80)["train_10"]  # 60 training passages, 8 min: some twice, by another voice
    assert 10 * 60 <= sum(segment.duration for segment in few.segments) and len({segment.text for segment in few.segments}) == 60
    assert len({(segment.text, segment.speaker) for segment in few.segments}) == len(few.segments)


def test_synthetic_target_results_are_cached_and_reported_apart(tmp_path):
    dutch, synthetic = result("c", "recipe", "10", 1, 0.74), replace(result("c", "recipe", "10", 1, 0.30), target="synthetic")
    for each in (dutch, synthetic):
        save(each, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c-10-seed1.json", "synthetic-c-10-seed1.json"]
    assert sorted(load(tmp_path), key=lambda r: r.target) == [dutch, synthetic]
    titles = [table.heading for table in result_tables(load(tmp_path))]
    assert "10 min of labels: mean test PER (± half the range over seeds)" in titles
    assert "Synthetic target, 10 min of labels: mean test PER (± half the range over seeds)" in titles


def test_a_run_of_an_earlier_recipe_says_what_has_changed_since():
    today = recipe_settings("scratch", ("model.init_from=exp/ssl/c", *FINE_TUNING["linear_probe"]))
    assert preset_changes(result("c", "linear_probe", "10", 1, 0.8).run) == ""  # the start and the variant's setting are no change
    then = {**today, "trainer.warmup_steps": today["trainer.warmup_steps"] + 1}
    assert preset_changes(result("c", "linear_probe", "10", 1, 0.8, then).run) == f"trainer.warmup_steps: {today['trainer.warmup_steps'] + 1}"
