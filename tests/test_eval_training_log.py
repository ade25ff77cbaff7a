"""The trainer's CSV log: numeric columns become curves, text columns are listed as skipped."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.training_log import read_training_log


def test_numeric_columns_are_read_against_step(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("epoch,step,train_loss,valid_per,note\n0,10,4.5,,warmup\n1,20,3.5,0.8,\n", encoding="utf-8")
    log = read_training_log(path)
    assert log.x_name == "step" and log.x == (10.0, 20.0)
    assert set(log.columns) == {"train_loss", "valid_per"}
    assert math.isnan(log.columns["valid_per"][0]) and log.columns["valid_per"][1] == 0.8
    assert log.skipped_columns == ("note",)


def test_a_log_without_numbers_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("name\nfirst\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="no numeric column"):
        read_training_log(path)


def test_reads_the_trainers_own_log_one_value_per_row(tmp_path):
    from fieldasr.train.trainer import MetricLog

    log = MetricLog(tmp_path, ("csv",))
    for step in (1, 2, 3):
        log.write("train", 1, step, {"loss": 4.0 - step, "lr": 0.001})
    log.write("valid_epoch", 1, 3, {"loss": 2.5, "token_error_rate": 0.4})
    curves = read_training_log(tmp_path / "log.csv")
    assert curves.x_name == "step" and curves.x == (1.0, 2.0, 3.0)
    assert curves.columns["train_loss"] == (3.0, 2.0, 1.0)
    assert curves.columns["valid_token_error_rate"][2] == 0.4
    assert math.isnan(curves.columns["valid_loss"][0])
