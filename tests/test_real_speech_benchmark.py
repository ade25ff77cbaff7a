"""The real-speech benchmark's bookkeeping (no training: the runs themselves need the Fish Fillets data and an hour):
runs with --set settings are cached apart, old cached results still load, results of an earlier preset are kept
apart and labelled, and the dev-curve table reads log.csv."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

import yaml

import benchmarks.real_speech as real_speech
from benchmarks.real_speech import (RunResult, add_larger_text_scores, budget, dev_curves, earlier_preset, load_results, parse_arguments,
                                    read_dev_curve, recipe_settings, result_name, set_aside_earlier_result, set_aside_earlier_run_folder)


def test_runs_with_settings_are_cached_apart_and_subsets_are_checked():
    default = result_name("scratch", "10", 1, [])
    assert default == "scratch-10-seed1"
    changed = {result_name("scratch", "10", 1, [setting]) for setting in ("trainer.max_steps=1100", "model.config=null")}
    assert len(changed) == 2 and default not in changed
    with pytest.raises(SystemExit):
        parse_arguments(["--sizes", "10,60"])
    assert parse_arguments(["--seeds", "3"]).all_seeds == [1, 2, 3]  # the report lists seeds 1 and 2 as missing


def test_results_written_before_overrides_existed_still_load(tmp_path):
    fields = {"condition": "scratch", "size": "10", "seed": 1, "label_minutes": 10.0, "steps": 816, "stopped_early_at_step": 816,
              "wall_seconds": 60.0, "cpu_seconds": 30.0, "resumed": False, "threads": 1, "per": 0.7, "wer": 0.9, "cer": 0.7,
              "oov_rate": 0.25}
    (tmp_path / "scratch-10-seed1.json").write_text(json.dumps(fields))
    (result,) = load_results(tmp_path)
    assert result.overrides == () and result.steps == 816


def test_dev_curve_reads_the_last_validation_at_or_before_each_step(tmp_path):
    run = tmp_path / "scratch-10-seed1"
    run.mkdir()
    lines = ["time,stage,epoch,step,name,value", "0,train,1,10,loss,3.0"]
    lines += [f"{60 * step},valid_epoch,1,{step},token_error_rate,{1 - step / 1000}" for step in (90, 180, 390)]
    (run / "log.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "alias").symlink_to(run)  # a second name for the same run is not listed twice
    table = dev_curves([], tmp_path, marks=(100, 200, 400))
    assert len(table.rows) == 1
    name, at_100, at_200, at_400, best, last = table.rows[0]
    assert (name, at_100, at_200, last) == ("scratch-10-seed1 (unfinished)", "91.0 (90 min)", "82.0 (180 min)", "390")
    assert at_400 == "–"  # never validated at or past step 400
    assert best == "61.0 @ 390"


def test_a_finished_run_keeps_its_dev_curve_in_its_result(tmp_path):
    """The result JSON carries the curve, so the report needs no run folder (results live in the repository)."""
    run = tmp_path / "runs" / "scratch-10-seed1"
    run.mkdir(parents=True)
    lines = ["time,stage,epoch,step,name,value"] + [f"{60 * step},valid_epoch,1,{step},token_error_rate,0.5" for step in (100, 200)]
    (run / "log.csv").write_text("\n".join(lines) + "\n")
    curve = read_dev_curve(run / "log.csv")
    assert curve == ((100, 0.5, 0.0), (200, 0.5, 100.0))
    fields = {"condition": "scratch", "size": "10", "seed": 1, "label_minutes": 10.0, "steps": 200, "stopped_early_at_step": None,
              "wall_seconds": 60.0, "cpu_seconds": 30.0, "resumed": False, "threads": 1, "per": 0.7, "wer": 0.9, "cer": 0.7,
              "oov_rate": 0.25, "dev_curve": curve, "commit": "abc1234", "recipe_settings": recipe_settings("scratch", ())}
    (tmp_path / "scratch-10-seed1.json").write_text(json.dumps(fields))
    results = load_results(tmp_path)
    assert results[0].dev_curve == curve
    (name, *_, best, last), = dev_curves(results, tmp_path / "runs", marks=(100,)).rows  # the folder is not listed twice
    assert (name, best, last) == ("scratch-10-seed1", "50.0 @ 100", "200")


def result_with(settings: dict) -> RunResult:
    return RunResult("scratch", "10", 1, 10.0, 900, 900, 60.0, 30.0, False, 1, (), 0.7, 0.9, 0.7, 0.25, recipe_settings=settings)


def test_a_result_of_an_earlier_preset_is_labelled_with_what_changed_and_does_not_count_as_the_default():
    today = recipe_settings("scratch", ())
    assert budget(result_with(today)) == "recipe default" and not earlier_preset(result_with(today))
    older = {**today, "trainer.max_steps": today["trainer.max_steps"] + 1}
    older.pop("model.init_from")  # a setting added since is no difference: its default keeps the old behaviour
    assert earlier_preset(result_with(older)) == {"trainer.max_steps": today["trainer.max_steps"] + 1}
    assert budget(result_with(older)) == f"recipe default, earlier preset (trainer.max_steps: {today['trainer.max_steps'] + 1})"
    assert earlier_preset(result_with({})) == {"settings": "not recorded"}


def test_a_probe_whose_settings_the_preset_has_adopted_counts_as_the_default():
    today = recipe_settings("scratch", ())
    adopted = f"trainer.max_steps={today['trainer.max_steps']}"  # what the recipe says already
    probe = replace(result_with(today), overrides=(adopted,))
    assert budget(probe) == "recipe default"
    other = f"trainer.max_steps={today['trainer.max_steps'] + 1}"
    assert budget(replace(result_with({**today, "trainer.max_steps": today["trainer.max_steps"] + 1}), overrides=(other,))) == other


def test_an_earlier_presets_result_and_run_folder_are_set_aside_never_overwritten(tmp_path):
    today = recipe_settings("scratch", ())
    older = {**today, "trainer.lr": 1.0}
    results, runs = tmp_path / "results", tmp_path / "runs"
    results.mkdir()
    (results / "scratch-10-seed1.json").write_text(json.dumps({**result_with(older).__dict__, "overrides": []}))
    set_aside_earlier_result("scratch-10-seed1", results)
    (kept,) = results.glob("*.json")
    assert kept.name.startswith("scratch-10-seed1-preset-") and load_results(results)[0].recipe_settings == older
    for name, settings in (("scratch-10-seed1", older), ("scratch-10-seed2", today)):
        (runs / name).mkdir(parents=True)
        (runs / name / "config.yaml").write_text(yaml.safe_dump({"trainer": {"lr": settings["trainer.lr"]}, "experiment_dir": "x"}))
        set_aside_earlier_run_folder("scratch", name, (), runs)
    set_aside, left = sorted(path.name for path in runs.iterdir())
    assert set_aside.startswith("scratch-10-seed1-preset-") and left == "scratch-10-seed2"  # seed 2's is today's: kept to resume
    (runs / "scratch-10-seed1").mkdir()
    (runs / "scratch-10-seed1" / "config.yaml").write_text(yaml.safe_dump({"trainer": {"lr": 1.0}}))
    with pytest.raises(SystemExit, match="exists already"):
        set_aside_earlier_run_folder("scratch", "scratch-10-seed1", (), runs)


def test_larger_text_scores_are_added_only_from_the_bundle_that_gives_the_results_per(tmp_path, monkeypatch):
    today = recipe_settings("scratch", ())
    results, work = tmp_path / "results", tmp_path / "work"
    results.mkdir()
    for seed in (1, 2, 3):
        fields = {**result_with(today).__dict__, "seed": seed, "overrides": []}
        (results / f"scratch-10-seed{seed}.json").write_text(json.dumps(fields))
        if seed != 3:  # seed 3 has no run folder
            (work / "runs" / f"scratch-10-seed{seed}" / "bundle").mkdir(parents=True)
            (work / "runs" / f"scratch-10-seed{seed}" / "bundle" / "bundle.json").write_text("{}")
    given_per = {"scratch-10-seed1": 0.7, "scratch-10-seed2": 0.65}  # seed 2's bundle is another model

    def fake_score_bundle(bundle, corpora, size, work_dir, lm_weight, word_score):
        return {"per": given_per[bundle.parent.name], "wer": 0.9, "cer": 0.7, "oov_rate": 0.25,
                "wer_larger_text": 0.85, "cer_larger_text": 0.68, "oov_rate_larger_text": 0.2}

    monkeypatch.setattr(real_speech, "score_bundle", fake_score_bundle)
    add_larger_text_scores(results, {}, work, 1.0, 0.0)
    scored = {result.seed: result for result in load_results(results)}
    assert (scored[1].wer_larger_text, scored[1].oov_rate_larger_text, scored[1].wer) == (0.85, 0.2, 0.9)
    assert scored[2].wer_larger_text is None and scored[3].wer_larger_text is None
