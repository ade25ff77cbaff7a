"""`fieldasr tiers`: what an ELAN or Praat file holds, and which tiers fieldasr wrote.

Reads the file only (works when the linked media is missing) and imports no model code, so it is instant.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from fieldasr.errors import AnnotationError

COLUMNS = ("tier", "type", "participant", "parent", "annotations", "span (s)", "fieldasr")
PROVENANCE = {"unedited": "yes, unedited", "edited": "yes, edited since", "": "no"}


def _span(start_ms: float | None, end_ms: float | None) -> str:
    return "-" if start_ms is None or end_ms is None else f"{start_ms / 1000:.3f}-{end_ms / 1000:.3f}"


def eaf_rows(path: Path) -> list[tuple[str, ...]]:
    from fieldasr.data.eaf_text import EafText
    from fieldasr.data.elan_provenance import summarise_tiers

    return [(s.name, s.linguistic_type, s.participant or "-", s.parent or "-", str(s.annotations),
             _span(s.start_ms, s.end_ms), PROVENANCE[s.provenance]) for s in summarise_tiers(EafText.read(path))]


def textgrid_rows(path: Path) -> list[tuple[str, ...]]:
    from fieldasr.data.textgrid import INTERVAL_TIER, parse_textgrid

    rows = []
    for tier in parse_textgrid(path)["tiers"]:
        labelled = [entry for entry in tier["entries"] if entry[-1] != ""]
        times = [float(time) for entry in labelled for time in entry[:-1]]
        kind = "interval tier" if tier["class"] == INTERVAL_TIER else "point tier"
        span = _span(min(times) * 1000, max(times) * 1000) if times else "-"
        rows.append((tier["name"], kind, "-", "-", str(len(labelled)), span, "unknown (TextGrids carry no mark)"))
    return rows


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in [COLUMNS, *rows]) for column in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [COLUMNS, *rows])


@click.command()
@click.argument("annotation_file", type=click.Path(path_type=Path))
def tiers(annotation_file: Path) -> None:
    """List the tiers of an ELAN .eaf or Praat .TextGrid file.

    For each tier: linguistic type, participant, parent tier, number of annotations, time span, and whether
    fieldasr wrote it ("yes, unedited": fieldasr's output as written; "yes, edited since": corrected by hand,
    so fieldasr treats it as yours and will not replace it unless you name it with --replace-tier).

    \b
    Example:
      fieldasr tiers session3.eaf
    """
    suffix = annotation_file.suffix.lower()
    if suffix == ".eaf":
        rows = eaf_rows(annotation_file)
    elif suffix == ".textgrid":
        rows = textgrid_rows(annotation_file)
    else:
        raise AnnotationError(f"{annotation_file}: not an ELAN (.eaf) or Praat (.TextGrid) file. Name one of those.")
    click.echo(table(rows) if rows else f"{annotation_file}: no tiers.")
