"""What the demo hands back: each stage's time and key numbers, and where every output is."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from fieldasr.files import atomic_write_text


@dataclass(frozen=True)
class StageResult:
    name: str
    seconds: float  # wall clock
    cpu_seconds: float  # CPU time of the demo's own process (on a shared machine, wall clock says little)
    skipped: bool  # already done by an earlier run
    numbers: Mapping[str, float | int | str | None]  # the stage's key figures, e.g. {"dev PER": 0.21}


@dataclass(frozen=True)
class DemoSummary:
    output: Path
    stages: tuple[StageResult, ...]
    per_before_transfer: float | None  # target test PER of the multilingual model, output layer mapped, no target training
    per_after_transfer: float | None  # ... after fine-tuning on the few minutes of target labels
    wer_after_transfer: float | None  # lexicon + LM beam search, lexicon and LM from the target training text only
    per_without_ssl: float | None  # after transfer, the chain without the SSL stages (same CTC steps)
    per_without_ssl_matched_steps: float | None  # ... its multilingual CTC given the SSL stages' steps too
    outputs: Mapping[str, Path]  # what → where

    @property
    def total_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    def table(self) -> str:
        width = max(len(stage.name) for stage in self.stages)
        lines = [f"{'stage':<{width}}  {'time':>7}  {'CPU':>6}  key numbers"]
        for stage in self.stages:
            numbers = ", ".join(f"{key} {_number(value)}" for key, value in stage.numbers.items())
            time = "skipped" if stage.skipped else f"{stage.seconds:6.0f}s"
            lines.append(f"{stage.name:<{width}}  {time:>7}  {stage.cpu_seconds:5.0f}s  {numbers}")
        lines.append(f"{'total':<{width}}  {self.total_seconds:6.0f}s  {sum(s.cpu_seconds for s in self.stages):5.0f}s")
        lines += ["", "Target test set (held out): phone error rate before transfer "
                  f"{_number(self.per_before_transfer)}, after {_number(self.per_after_transfer)} "
                  f"(without the SSL stages: {_number(self.per_without_ssl)} with the same CTC steps, "
                  f"{_number(self.per_without_ssl_matched_steps)} with the SSL stages' steps given to CTC); "
                  f"word error rate after (lexicon + LM beam) {_number(self.wer_after_transfer)}", "", "Outputs:"]
        label_width = max(len(what) for what in self.outputs)
        lines += [f"  {what:<{label_width}}  {path}" for what, path in self.outputs.items()]
        return "\n".join(lines)

    def write_json(self, path: Path) -> Path:
        data = asdict(self)
        data["total_seconds"] = self.total_seconds
        return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _number(value: float | int | str | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
