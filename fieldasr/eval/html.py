"""One self-contained HTML report: tables plus matplotlib plots embedded as base64 PNG, no external URL."""
from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in batch jobs
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fieldasr.eval.output import UNIT_LABELS, interval_text, percent, write_atomic  # noqa: E402
from fieldasr.eval.report import EvaluationReport, SystemReport, UnitReport  # noqa: E402

HEATMAP_TOKENS = 25  # most frequent reference tokens shown in a confusion heat map
_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}td.t{text-align:left}img{max-width:100%}"""


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode("ascii")}">'


def _rates_with_intervals(unit_report: UnitReport, dimension: str) -> str:
    groups = [g for g in unit_report.breakdowns[dimension] if g.rate is not None]
    if not groups:
        return ""
    figure, axes = plt.subplots(figsize=(max(4, 0.5 * len(groups) + 2), 3.2))
    rates = np.array([100 * g.rate for g in groups])
    lows = np.array([100 * g.interval.low if g.interval else 100 * g.rate for g in groups])
    highs = np.array([100 * g.interval.high if g.interval else 100 * g.rate for g in groups])
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(groups)))
    axes.bar(range(len(groups)), rates, color=colours, yerr=[rates - lows, highs - rates], capsize=4)
    axes.set_xticks(range(len(groups)), [g.name for g in groups], rotation=45, ha="right")
    axes.set_ylabel(f"{UNIT_LABELS[unit_report.unit]} % (95% CI)")
    axes.set_title(f"{UNIT_LABELS[unit_report.unit]} per {dimension}")
    return _png(figure)


def _error_histogram(unit_report: UnitReport) -> str:
    errors = [u.errors for u in unit_report.result.utterances]
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.hist(errors, bins=np.arange(0, max(errors, default=0) + 2) - 0.5, color="tab:orange", edgecolor="tab:brown")
    axes.set_xlabel(f"errors per utterance ({unit_report.unit}s)")
    axes.set_ylabel("utterances")
    axes.set_title("Errors per utterance")
    return _png(figure)


def _confusion_heatmap(unit_report: UnitReport) -> str:
    counts = unit_report.analysis.phone_confusion_counts
    frequency: Counter[str] = Counter()
    for (ref, hyp), count in counts.items():
        frequency.update({token: count for token in (ref, hyp) if token is not None})
    tokens = [token for token, _ in frequency.most_common(HEATMAP_TOKENS)]
    if not tokens:
        return ""
    labels = tokens + ["∅"]
    position = {token: index for index, token in enumerate(tokens)}
    matrix = np.zeros((len(labels), len(labels)))
    for (ref, hyp), count in counts.items():
        row = position.get(ref, None) if ref is not None else len(tokens)
        column = position.get(hyp, None) if hyp is not None else len(tokens)
        if row is not None and column is not None:
            matrix[row, column] += count
    # Row-normalised: what each reference token became; log scale keeps rare confusions visible.
    shown = np.log1p(matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) * 100)
    figure, axes = plt.subplots(figsize=(0.3 * len(labels) + 2.5, 0.3 * len(labels) + 2))
    image = axes.imshow(shown, cmap="magma_r")
    axes.set_xticks(range(len(labels)), labels, rotation=90)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("hypothesis (∅ = deleted)")
    axes.set_ylabel("reference (∅ = inserted)")
    axes.set_title(f"{UNIT_LABELS[unit_report.unit]} confusions (log % of row)")
    figure.colorbar(image, ax=axes, shrink=0.7)
    return _png(figure)


def _training_curves(report: EvaluationReport) -> str:
    log = report.training_log
    if log is None or not log.columns:
        return ""
    figure, axes = plt.subplots(len(log.columns), 1, figsize=(6, 2.2 * len(log.columns)), squeeze=False)
    for axis, (name, values) in zip(axes[:, 0], log.columns.items()):
        axis.plot(log.x, values, marker=".", color="tab:blue")
        axis.set_ylabel(name)
    axes[-1, 0].set_xlabel(log.x_name)
    figure.suptitle(f"Training log: {Path(log.source).name}")
    return _png(figure)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f'<td class="t">{html.escape(c)}</td>' if i == 0 else f"<td>{html.escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _system_section(system: SystemReport) -> str:
    parts = [f"<h2>{html.escape(system.name)}</h2><p>{html.escape(system.source)}</p>"]
    for unit_report in system.units.values():
        label = UNIT_LABELS[unit_report.unit]
        parts.append(f"<h3>{label}</h3>")
        parts += [_rates_with_intervals(unit_report, dimension) for dimension in unit_report.breakdowns]
        parts.append(_error_histogram(unit_report))
        if unit_report.unit in ("phone", "char"):
            parts.append(_confusion_heatmap(unit_report))
        analysis = unit_report.analysis
        parts.append(_table(["reference", "hypothesis", "count"], [[a, b, str(n)] for a, b, n in analysis.confusions]))
    return "\n".join(parts)


def to_html(report: EvaluationReport) -> str:
    summary_rows = [
        [system.name, UNIT_LABELS[unit], percent(u.result.rate), interval_text(u.interval), str(u.result.reference_length),
         str(u.result.substitutions), str(u.result.deletions), str(u.result.insertions)]
        for system in report.systems for unit, u in system.units.items()
    ]
    parts = [
        f"<h1>Evaluation against {html.escape(report.reference)}</h1>",
        "<p>Normalisation: " + html.escape(", ".join(f"{UNIT_LABELS[u]}: {n}" for u, n in report.normalisers.items())) + "</p>",
        _table(["system", "metric", "rate %", "95% CI", "N", "S", "D", "I"], summary_rows),
    ]
    if report.comparisons:
        parts.append(_table(["A vs B", "metric", "A − B (points)", "95% CI", "p"], [
            [f"{t.system_a} vs {t.system_b}", UNIT_LABELS[t.unit], f"{100 * t.difference:+.2f}", interval_text(t.interval),
             f"{t.p_value:.4f}"] for t in report.comparisons]))
    parts += [f"<p>{html.escape(warning)}</p>" for warning in report.warnings]
    parts += [_system_section(system) for system in report.systems]
    parts.append(_training_curves(report))
    body = "\n".join(part for part in parts if part)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>fieldasr evaluation</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_html(report: EvaluationReport, path: str | Path) -> Path:
    return write_atomic(path, to_html(report))
