"""The trainer's CSV log (step, epoch, train_loss, valid_loss, valid_per, ...) as numeric columns to plot."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.inputs import read_text

X_AXIS_PREFERENCE = ("step", "global_step", "epoch")


@dataclass(frozen=True)
class TrainingLog:
    source: str
    x_name: str  # the column plotted along x: step, else epoch, else the row number
    x: tuple[float, ...]
    columns: dict[str, tuple[float, ...]]  # every numeric column but step/epoch; NaN where a row left it empty
    skipped_columns: tuple[str, ...]  # columns with text in them


def _number(value: str) -> float | None:
    if value.strip() == "":
        return math.nan
    try:
        return float(value)
    except ValueError:
        return None


# fieldasr's Trainer writes one value per row (stage, epoch, step, name, value): spread to one row per step.
LONG_FORMAT_COLUMNS = {"stage", "step", "name", "value"}


def _one_row_per_step(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    by_step: dict[str, dict[str, str]] = {}
    for row in rows:
        stage = row["stage"].removesuffix("_epoch")  # "valid_epoch" rows are the validation curves
        by_step.setdefault(row["step"], {"step": row["step"]})[f"{stage}_{row['name']}"] = row["value"]
    columns = sorted({name for values in by_step.values() for name in values} - {"step"})
    ordered = sorted(by_step.values(), key=lambda values: float(values["step"]))
    return [{"step": values["step"], **{name: values.get(name, "") for name in columns}} for values in ordered]


def read_training_log(path: str | Path) -> TrainingLog:
    path = Path(path)
    rows = list(csv.DictReader(io.StringIO(read_text(path))))
    if not rows:
        raise EvaluationError(f"{path}: no rows under the header. Give the CSV log the trainer writes.")
    if LONG_FORMAT_COLUMNS <= set(rows[0]):
        rows = _one_row_per_step(rows)
    numeric: dict[str, list[float]] = {}
    skipped = []
    for name in rows[0].keys():
        values = [_number(row.get(name) or "") for row in rows]
        if any(value is None for value in values):
            skipped.append(name)
        else:
            numeric[name] = [float(value) for value in values if value is not None]
    if not numeric:
        raise EvaluationError(f"{path}: no numeric column. Expected columns like step, epoch, train_loss, valid_loss.")
    x_name = next((name for name in X_AXIS_PREFERENCE if name in numeric), "row")
    x = numeric[x_name] if x_name != "row" else [float(index) for index in range(len(rows))]
    curves = {name: tuple(values) for name, values in numeric.items() if name not in X_AXIS_PREFERENCE}
    return TrainingLog(str(path), x_name, tuple(x), curves, tuple(skipped))
