"""The real-speech benchmark's bookkeeping (no training: the runs themselves need the Fish Fillets data and an hour):
runs with --set settings are cached apart, old cached results still load, and the dev-curve table reads log.csv."""
from __future__ import annotations

import json

import pytest

from benchmarks.real_speech import dev_curves, load_results, parse_arguments, read_dev_curve, result_name


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
              "oov_rate": 0.25, "dev_curve": curve, "commit": "abc1234"}
    (tmp_path / "scratch-10-seed1.json").write_text(json.dumps(fields))
    results = load_results(tmp_path)
    assert results[0].dev_curve == curve
    (name, *_, best, last), = dev_curves(results, tmp_path / "runs", marks=(100,)).rows  # the folder is not listed twice
    assert (name, best, last) == ("scratch-10-seed1", "50.0 @ 100", "200")
