"""An evaluation written out as a folder: report.md, report.json, report.html and sclite .trn files per
system and unit (what `fieldasr evaluate --out` leaves behind)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldasr.eval.report import EvaluationReport, evaluate


@dataclass(frozen=True)
class ReportFolder:
    folder: Path
    report: EvaluationReport
    markdown: str  # the text of report.md


def write_report_folder(report: EvaluationReport, folder: Path) -> ReportFolder:
    from fieldasr.eval.html import write_html
    from fieldasr.eval.output import to_markdown, write_atomic, write_json, write_trn

    markdown = to_markdown(report)
    write_atomic(folder / "report.md", markdown)
    write_json(report, folder / "report.json")
    for system in report.systems:
        for unit, unit_report in system.units.items():
            write_trn(unit_report.result, folder / f"{system.name}.{unit}.ref.trn", folder / f"{system.name}.{unit}.hyp.trn")
    write_html(report, folder / "report.html")
    return ReportFolder(folder, report, markdown)


def evaluate_into(folder: Path, reference: str | Path, hypotheses: list[str | Path], **options: Any) -> ReportFolder:
    """`fieldasr.eval.report.evaluate(reference, hypotheses, **options)`, written into `folder`."""
    return write_report_folder(evaluate(reference, hypotheses, **options), folder)
