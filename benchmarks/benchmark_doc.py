"""Benchmark reports written entirely by their scripts: title, the command, machine facts, tables.

A script calls `write_benchmark_doc` (again after each row, so a killed run keeps what it measured).
Interpretation lives in a hand-written `<name>.analysis.md` beside the report, citing the report's
generation date, so a rerun never leaves prose under numbers it did not see.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.files import atomic_write_text


@dataclass(frozen=True)
class Table:
    heading: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""  # one or two sentences saying what the rows are (not what they mean)

    def markdown(self) -> str:
        lines = [f"## {self.heading}", ""] + ([self.note, ""] if self.note else [])
        lines += ["| " + " | ".join(self.columns) + " |", "| " + " | ".join("---" for _ in self.columns) + " |"]
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in self.rows]
        return "\n".join(lines)


def machine_facts() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), cpu)
    facts = {"generated (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "cores": str(os.cpu_count()), "CPU": cpu,
             "python": platform.python_version()}
    if hasattr(os, "getloadavg"):
        facts["load average at the end"] = " ".join(f"{value:.1f}" for value in os.getloadavg())
    torch = sys.modules.get("torch")
    if torch is not None:
        facts["torch"] = torch.__version__
    return facts


def command_line() -> str:
    return "PYTHONPATH=. python " + shlex.join(sys.argv)


def write_benchmark_doc(path: str | Path, title: str, tables: Sequence[Table], *, command: str | None = None) -> Path:
    """Write the whole report at `path` (replacing the previous run's report atomically)."""
    path = Path(path)
    analysis = path.with_name(path.stem + ".analysis.md")
    lines = [f"# {title}", "", f"Written by `{command or command_line()}`; do not edit by hand.", ""]
    lines += [f"- {name}: {value}" for name, value in machine_facts().items()]
    if analysis.is_file():
        lines += ["", f"Analysis (hand-written, names the run it read): [{analysis.name}]({analysis.name})"]
    lines += [""] + [table.markdown() + "\n" for table in tables]
    return atomic_write_text(path, "\n".join(lines), make_parents=True)


def add_report_option(parser: argparse.ArgumentParser, name: str) -> None:
    """`--output`: where the script writes its report (docs/benchmarks/NAME.md from the repository root)."""
    parser.add_argument("--output", default=f"docs/benchmarks/{name}.md", help="report to write ('-': print the tables only)")


def publish(output: str | Path, title: str, tables: Sequence[Table], *, command: str | None = None) -> None:
    """Print the tables and, unless `output` is '-', write them as the report."""
    print("\n\n".join(table.markdown() for table in tables))
    if str(output) != "-":
        print(f"\nwritten: {write_benchmark_doc(output, title, tables, command=command)}")
