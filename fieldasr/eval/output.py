"""Plain outputs of an evaluation: a Markdown summary, JSON with every figure, sclite `.trn` files."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fieldasr.eval.align import OPERATION_NAMES
from fieldasr.eval.analysis import worst_utterances
from fieldasr.eval.metrics import ScoreResult
from fieldasr.eval.report import EvaluationReport
from fieldasr.eval.stats import Interval, PairedTest
from fieldasr.files import atomic_write_text

UNIT_LABELS = {"word": "WER", "char": "CER", "phone": "PER"}
_TRN_UNSAFE = re.compile(r"[\s()]")
# Alignment strings in JSON: C correct, S substitution, D deletion, I insertion (sclite's letters).
_OPERATION_LETTERS = bytes.maketrans(bytes(range(len(OPERATION_NAMES))), b"CSDI")


def write_atomic(path: str | Path, text: str) -> Path:
    return atomic_write_text(path, text, make_parents=True)


def percent(value: float | None) -> str:
    return "undefined" if value is None else f"{100 * value:.2f}"


def interval_text(interval: Interval | None) -> str:
    return "" if interval is None else f"[{100 * interval.low:.2f}, {100 * interval.high:.2f}]"


def p_value_text(test: PairedTest) -> str:
    """A p-value of 0 from resampling only means below one in `resamples`."""
    return f"< {1 / test.resamples:.2g}" if test.p_value == 0 else f"{test.p_value:.4f}"


def _summary_table(report: EvaluationReport) -> list[str]:
    lines = ["| system | metric | rate % | 95% CI | N | S | D | I | utterances | missing hyp | extra hyp | ins. on empty refs |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for system in report.systems:
        for unit, unit_report in system.units.items():
            r = unit_report.result
            lines.append(
                f"| {system.name} | {UNIT_LABELS[unit]} | {percent(r.rate)} | {interval_text(unit_report.interval)} | "
                f"{r.reference_length} | {r.substitutions} | {r.deletions} | {r.insertions} | {len(r.utterances)} | "
                f"{len(r.missing_in_hypothesis)} | {len(r.only_in_hypothesis)} | {r.empty_reference_insertions} |"
            )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _system_details(report: EvaluationReport, worst: int) -> list[str]:
    lines: list[str] = []
    for system in report.systems:
        for unit, unit_report in system.units.items():
            label = UNIT_LABELS[unit]
            lines += ["", f"## {system.name}: {label}"]
            for dimension, groups in unit_report.breakdowns.items():
                lines += ["", f"| {dimension} | {label} % | 95% CI | N | S | D | I |", "|---|---|---|---|---|---|---|"]
                lines += [f"| {_cell(g.name)} | {percent(g.rate)} | {interval_text(g.interval)} | {g.reference_length} | "
                          f"{g.substitutions} | {g.deletions} | {g.insertions} |" for g in groups]
            analysis = unit_report.analysis
            confusions = ", ".join(f"{_cell(a)}→{_cell(b)} ×{n}" for a, b, n in analysis.confusions[:10]) or "none"
            lines += ["", f"Top confusions: {confusions}",
                      f"Most deleted: {', '.join(f'{_cell(t)} ×{n}' for t, n in analysis.deleted[:10]) or 'none'}",
                      f"Most inserted: {', '.join(f'{_cell(t)} ×{n}' for t, n in analysis.inserted[:10]) or 'none'}"]
            lines += ["", f"| utterance | errors | {label} % | reference | hypothesis |", "|---|---|---|---|---|"]
            for u in worst_utterances(unit_report.result, worst):
                lines.append(f"| {_cell(u.id)} | {u.errors} | {percent(u.rate)} | {_cell(' '.join(u.reference))} | {_cell(' '.join(u.hypothesis))} |")
    return lines


def to_markdown(report: EvaluationReport, worst: int = 20) -> str:
    lines = [f"# Evaluation against {report.reference}", "",
             "Normalisation: " + ", ".join(f"{UNIT_LABELS[u]}: `{n}`" for u, n in report.normalisers.items()),
             "Rates are errors / reference tokens; `undefined` means there were no reference tokens.", ""]
    lines += _summary_table(report)
    if report.comparisons:
        lines += ["", "| A | B | metric | A − B (points) | 95% CI | p (paired bootstrap) |", "|---|---|---|---|---|---|"]
        lines += [f"| {t.system_a} | {t.system_b} | {UNIT_LABELS[t.unit]} | {100 * t.difference:+.2f} | "
                  f"{interval_text(t.interval)} | {p_value_text(t)} |" for t in report.comparisons]
    if report.warnings:
        lines += ["", "Warnings:"] + [f"- {warning}" for warning in report.warnings]
    lines += _system_details(report, worst)
    return "\n".join(lines) + "\n"


def _result_json(result: ScoreResult) -> dict[str, Any]:
    return {
        "unit": result.unit, "normaliser": result.normaliser, "rate": result.rate, "errors": result.errors,
        "hits": result.hits, "substitutions": result.substitutions, "deletions": result.deletions,
        "insertions": result.insertions, "reference_length": result.reference_length,
        "empty_reference_insertions": result.empty_reference_insertions,
        "missing_in_hypothesis": list(result.missing_in_hypothesis), "only_in_hypothesis": list(result.only_in_hypothesis),
        # Tokens joined by spaces (as in the .trn files) and one letter per operation keep 100k utterances compact.
        "utterances": [
            {"id": u.id, "reference": " ".join(u.reference), "hypothesis": " ".join(u.hypothesis), "hits": u.alignment.hits,
             "substitutions": u.alignment.substitutions, "deletions": u.alignment.deletions,
             "insertions": u.alignment.insertions, "rate": u.rate, "hypothesis_missing": u.hypothesis_missing,
             "alignment": u.alignment.operations.translate(_OPERATION_LETTERS).decode("ascii")}
            for u in result.utterances
        ],
    }


def to_json(report: EvaluationReport) -> dict[str, Any]:
    systems = []
    for system in report.systems:
        units = {}
        for unit, unit_report in system.units.items():
            analysis = unit_report.analysis
            units[unit] = {
                **_result_json(unit_report.result),
                "interval": vars(unit_report.interval) if unit_report.interval else None,
                "breakdowns": {dimension: [{**vars(g), "interval": vars(g.interval) if g.interval else None} for g in groups]
                               for dimension, groups in unit_report.breakdowns.items()},
                "confusions": [list(c) for c in analysis.confusions],
                "deleted": [list(d) for d in analysis.deleted], "inserted": [list(i) for i in analysis.inserted],
            }
        systems.append({"name": system.name, "source": system.source, "units": units})
    log = report.training_log
    return {
        "reference": report.reference, "normalisers": dict(report.normalisers), "systems": systems,
        "comparisons": [{**vars(t), "interval": vars(t.interval)} for t in report.comparisons],
        "training_log": None if log is None else {"source": log.source, "x": log.x_name, "columns": sorted(log.columns)},
        "warnings": list(report.warnings),
    }


def write_json(report: EvaluationReport, path: str | Path) -> Path:
    # NaN is not JSON: an undefined figure is null.
    return write_atomic(path, json.dumps(to_json(report), ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")


def trn_text(result: ScoreResult, side: str) -> str:
    """sclite `.trn` text of the scored tokens (after normalisation): word-level sclite on it reproduces our counts."""
    lines = []
    for u in result.utterances:
        tokens = u.reference if side == "ref" else u.hypothesis
        lines.append(f"{' '.join(tokens)} ({_TRN_UNSAFE.sub('_', u.id)})\n")
    return "".join(lines)


def write_trn(result: ScoreResult, reference_path: str | Path, hypothesis_path: str | Path) -> tuple[Path, Path]:
    return write_atomic(reference_path, trn_text(result, "ref")), write_atomic(hypothesis_path, trn_text(result, "hyp"))
