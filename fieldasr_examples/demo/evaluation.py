"""Stage 6 of the demo: score the test-set hypotheses before and after transfer and write the HTML report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldasr.eval import evaluate, write_html, write_json


@dataclass(frozen=True)
class EvaluationResult:
    report_html: Path
    report_json: Path
    rates: dict[str, dict[str, float | None]]  # system → unit → error rate


def evaluate_systems(reference: Path, hypotheses: list[Path], training_log: Path, folder: Path, resamples: int) -> EvaluationResult:
    """PER, WER and CER of every system (its hypothesis folder's name) on the reference, with the training curves."""
    report = evaluate(reference, hypotheses, units=("phone", "word", "char"), training_log=training_log,
                      resamples=resamples)
    folder.mkdir(parents=True, exist_ok=True)
    html = write_html(report, folder / "report.html")
    json_path = write_json(report, folder / "report.json")
    rates = {system.name: {unit: unit_report.result.rate for unit, unit_report in system.units.items()} for system in report.systems}
    return EvaluationResult(Path(html), Path(json_path), rates)
