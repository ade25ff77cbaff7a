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
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from fieldasr.eval.analysis import worst_utterances  # noqa: E402
from fieldasr.eval.output import UNIT_LABELS, interval_text, p_value_text, percent, write_atomic  # noqa: E402
from fieldasr.eval.report import EvaluationReport, UnitReport  # noqa: E402

HEATMAP_TOKENS = 25  # most frequent reference tokens shown in a confusion heat map
_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}td.t{text-align:left}img{display:block;max-width:100%;margin:1em 0}
.row{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}"""
WORST_UTTERANCES = 50  # rows of the utterance table


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode("ascii")}">'


def _unit_reports(report: EvaluationReport, unit: str) -> list[tuple[str, UnitReport]]:
    return [(system.name, system.units[unit]) for system in report.systems]


def _rates_with_intervals(report: EvaluationReport, unit: str, dimension: str) -> str:
    """Grouped bars: one group per speaker/language/recording, one bar per system, 95% CI whiskers."""
    systems = _unit_reports(report, unit)
    names = [g.name for g in systems[0][1].breakdowns[dimension]]
    figure, axes = plt.subplots(figsize=(max(5, 0.45 * len(names) * len(systems) + 2), 3.2))
    width = 0.8 / len(systems)
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(systems)))
    for index, (system, unit_report) in enumerate(systems):
        groups = unit_report.breakdowns[dimension]
        rates = np.array([100 * g.rate if g.rate is not None else np.nan for g in groups])
        lows = np.array([100 * g.interval.low if g.interval else np.nan for g in groups])
        highs = np.array([100 * g.interval.high if g.interval else np.nan for g in groups])
        positions = np.arange(len(groups)) + (index - (len(systems) - 1) / 2) * width
        axes.bar(positions, rates, width, color=colours[index], label=system,
                 yerr=np.nan_to_num([rates - lows, highs - rates]), capsize=3)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_ylabel(f"{UNIT_LABELS[unit]} % (95% CI)")
    axes.set_title(f"{UNIT_LABELS[unit]} per {dimension}")
    axes.legend(fontsize="small")
    return _png(figure)


def _error_histogram(report: EvaluationReport, unit: str) -> str:
    systems = _unit_reports(report, unit)
    largest = max((u.errors for _, r in systems for u in r.result.utterances), default=0)
    figure, axes = plt.subplots(figsize=(5, 3))
    colours = plt.cm.plasma(np.linspace(0.1, 0.8, len(systems)))
    for colour, (system, unit_report) in zip(colours, systems):
        errors = [u.errors for u in unit_report.result.utterances]
        axes.hist(errors, bins=np.arange(0, largest + 2) - 0.5, color=colour, alpha=0.6, label=system)
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.set_xlabel(f"errors per utterance ({unit}s)")
    axes.set_ylabel("utterances")
    axes.set_title(f"{UNIT_LABELS[unit]}: errors per utterance")
    axes.legend(fontsize="small")
    return _png(figure)


def _confusion_heatmap(system: str, unit_report: UnitReport) -> str:
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
    axes.set_title(f"{system}: {unit_report.unit} confusions (log % of row)")
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
    if not rows:
        return f"<p>{html.escape(header[0])}: none</p>"
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f'<td class="t">{html.escape(c)}</td>' if i == 0 else f"<td>{html.escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _unit_section(report: EvaluationReport, unit: str, heatmap: bool) -> str:
    label = UNIT_LABELS[unit]
    parts = [f"<h2>{label}</h2>"]
    plots = [_rates_with_intervals(report, unit, dimension) for dimension in report.systems[0].units[unit].breakdowns]
    plots.append(_error_histogram(report, unit))
    if heatmap:
        plots += [_confusion_heatmap(name, unit_report) for name, unit_report in _unit_reports(report, unit)]
    parts.append('<div class="row">' + "".join(plots) + "</div>")
    for system, unit_report in _unit_reports(report, unit):
        analysis = unit_report.analysis
        parts.append(f"<h3>{html.escape(system)}: {label}</h3>")
        parts.append('<div class="row">' + "".join([
            _table(["confused: reference", "hypothesis", "count"], [[a, b, str(n)] for a, b, n in analysis.confusions]),
            _table(["deleted", "count"], [[token, str(n)] for token, n in analysis.deleted]),
            _table(["inserted", "count"], [[token, str(n)] for token, n in analysis.inserted]),
        ]) + "</div>")
        parts.append(_table(["utterance", "errors", f"{label} %", "reference", "hypothesis"], [
            [u.id, str(u.errors), percent(u.rate), " ".join(u.reference), " ".join(u.hypothesis)]
            for u in worst_utterances(unit_report.result, WORST_UTTERANCES)]))
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
             p_value_text(t)] for t in report.comparisons]))
    parts += [f"<p>{html.escape(warning)}</p>" for warning in report.warnings]
    units = list(report.normalisers)
    # Heat maps are for phones; characters stand in when no phones were scored.
    heatmap_unit = "phone" if "phone" in units else "char"
    parts += [_unit_section(report, unit, unit == heatmap_unit) for unit in units]
    parts.append(_training_curves(report))
    body = "\n".join(part for part in parts if part)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>fieldasr evaluation</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_html(report: EvaluationReport, path: str | Path) -> Path:
    return write_atomic(path, to_html(report))
