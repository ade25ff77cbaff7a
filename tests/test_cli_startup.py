"""The CLI starts without loading torch, transformers or speechbrain where it does not need them.

Each command runs in a fresh interpreter that reports which heavy packages ended up in `sys.modules`
(a module imported anywhere, even indirectly, is there). `fieldasr --help` lists the commands from the
table in fieldasr/cli/__init__.py; a second test keeps that table's summaries equal to each command's
own docstring.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fieldasr.cli import COMMANDS

HEAVY = ("torch", "transformers", "speechbrain")

RUN_AND_REPORT = """
import json, sys
from fieldasr.cli import main
sys.argv = ["fieldasr", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print(json.dumps({"heavy": [name for name in %r if name in sys.modules], "code": code}))
""" % (HEAVY,)


def run_cli(*arguments: str, cwd: Path | None = None) -> dict:
    result = subprocess.run([sys.executable, "-c", RUN_AND_REPORT, json.dumps(arguments)], capture_output=True,
                            text=True, cwd=cwd, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("arguments", [("--help",), *[(name, "--help") for name in sorted(COMMANDS)]],
                         ids=lambda arguments: " ".join(arguments))
def test_help_does_not_import_heavy_packages(arguments):
    report = run_cli(*arguments)
    assert report == {"heavy": [], "code": 0}


def test_g2p_does_not_import_heavy_packages():
    assert run_cli("g2p", "--spec", "mi", "kia ora") == {"heavy": [], "code": 0}


def test_validate_does_not_import_heavy_packages(tmp_path):
    from fieldasr.audio import write_audio
    from fieldasr.data.manifest import Recording, Segment, write_manifest

    write_audio(tmp_path / "a.wav", np.zeros(16000, dtype=np.float32))
    recording = Recording.from_audio("a", tmp_path / "a.wav")
    write_manifest(tmp_path / "corpus" / "recordings.jsonl.gz", [recording])
    write_manifest(tmp_path / "corpus" / "segments.jsonl.gz",
                   [Segment(id="a-1", recording_id="a", start=0.0, duration=0.5, text="kia ora")])
    assert run_cli("validate", str(tmp_path / "corpus"), "--require-text") == {"heavy": [], "code": 0}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_summary_is_the_commands_own_first_paragraph(name):
    from fieldasr.cli import cli

    command = cli.get_command(None, name)
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert COMMANDS[name].summary == first_paragraph, f"update the summary of {name!r} in fieldasr/cli/__init__.py"
