"""The measured curves of benchmarks/lm_transfer.py: one JSON per (method, seed) run, and steps-to-match read from them.

Kept apart from the training script so the report can be re-rendered (and this logic tested) without torch training.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fieldasr.files import atomic_write_text


@dataclass(frozen=True)
class RunCurve:
    method: str
    seed: int
    bpc: dict[int, float]  # steps -> bits per character on the whole test split (the table's columns)
    curve: dict[int, float]  # steps -> bits per character on the fixed sample of test lines (the steps-to-match curve)
    counts: dict[str, int]  # InitialisedEmbeddings.origin -> target tokens (empty for models trained from scratch)
    cpu_seconds: float


def curve_file(folder: Path, method: str, seed: int) -> Path:
    return folder / f"{method}-seed{seed}.json"


def write_curve(folder: Path, run: RunCurve) -> Path:
    return atomic_write_text(curve_file(folder, run.method, run.seed), json.dumps(asdict(run), indent=1), make_parents=True)


def load_curves(paths: Iterable[Path]) -> list[RunCurve]:
    runs = []
    for path in paths:
        fields = json.loads(path.read_text(encoding="utf-8"))
        for key in ("bpc", "curve"):  # JSON object keys are strings
            fields[key] = {int(step): float(value) for step, value in fields[key].items()}
        runs.append(RunCurve(**fields))
    return runs


def first_step_at_or_below(curve: dict[int, float], target: float) -> int | None:
    """The first evaluated step whose bpc is at or below `target` (no interpolation); None if none is."""
    return next((step for step in sorted(curve) if curve[step] <= target), None)


@dataclass(frozen=True)
class StepsToMatch:
    per_seed: tuple[int | None, ...]  # None: not reached by the last evaluated step
    last_step: int  # scratch's step count: the reference for the fraction

    @property
    def mean(self) -> float | None:
        """Mean over seeds, only when every seed reached the target (a mean over the reached ones would flatter)."""
        return None if any(step is None for step in self.per_seed) else float(np.mean(self.per_seed))

    @property
    def fraction(self) -> float | None:
        return None if self.mean is None else self.mean / self.last_step


def steps_to_match(curves: Sequence[dict[int, float]], target: float, last_step: int) -> StepsToMatch:
    return StepsToMatch(tuple(first_step_at_or_below(curve, target) for curve in curves), last_step)
