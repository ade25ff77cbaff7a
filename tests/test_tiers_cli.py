"""`fieldasr tiers`: what an .eaf or TextGrid holds and which tiers fieldasr wrote, without loading model code."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.data.elan_write import write_tier_into_eaf
from fieldasr.data.textgrid import write_textgrid
from test_elan import FIXTURE


COLUMNS = ["tier", "type", "participant", "parent", "annotations", "span (s)", "fieldasr"]


def listing(path: Path) -> dict[str, dict[str, str]]:
    """The printed table, cut at the header's column starts: tier name → column → cell."""
    result = CliRunner().invoke(cli, ["tiers", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    starts = [header.index(column) for column in COLUMNS]
    cells = [[line[start:end].strip() for start, end in zip(starts, starts[1:] + [None])] for line in lines]
    return {row[0]: dict(zip(COLUMNS, row)) for row in cells}


def test_lists_every_tier_of_an_elan_file_whose_media_is_missing(tmp_path):
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))  # session.wav is not there
    rows = listing(eaf)
    assert list(rows) == ["tx@A", "tx@B", "ft@A", "words@A", "part@A", "syll@A", "register@B"]
    assert list(rows["tx@A"].values()) == ["tx@A", "utterance", "Speaker A", "-", "4", "0.200-4.800", "no"]
    assert list(rows["words@A"].values()) == ["words@A", "words", "Speaker A", "tx@A", "3", "0.200-3.100", "no"]  # times from the parent


def test_shows_which_tiers_fieldasr_wrote_and_which_were_corrected(tmp_path):
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    write_tier_into_eaf(eaf, "asr", [(0.25, 1.4, "iran karapte"), (1.85, 3.0, "kamuy")])
    write_tier_into_eaf(eaf, "asr2", [(0.25, 1.4, "iran")])
    assert rows_provenance(eaf) == {"asr": "yes, unedited", "asr2": "yes, unedited", "tx@B": "no"}
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">kamuy<", ">kamuy ʔaynu<"), encoding="utf-8")
    assert rows_provenance(eaf) == {"asr": "yes, edited since", "asr2": "yes, unedited", "tx@B": "no"}


def rows_provenance(eaf: Path) -> dict[str, str]:
    return {name: row["fieldasr"] for name, row in listing(eaf).items() if name in ("asr", "asr2", "tx@B")}


def test_lists_textgrid_tiers(tmp_path):
    grid = write_textgrid(tmp_path / "session.TextGrid", 4.0, {"words": [(0.2, 0.9, "iranka"), (1.0, 1.5, "rapte")], "empty": []})
    rows = listing(grid)
    assert list(rows["words"].values())[1:6] == ["interval tier", "-", "-", "2", "0.200-1.500"]
    assert (rows["empty"]["annotations"], rows["empty"]["span (s)"]) == ("0", "-")


def test_does_not_import_model_code(tmp_path):
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    script = ("import sys; from fieldasr.cli import main; sys.argv = ['fieldasr', 'tiers', sys.argv[1]]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print('heavy:', sorted(m for m in ('torch', 'transformers', 'speechbrain') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script, str(eaf)], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parent.parent)
    assert "tx@A" in result.stdout and "heavy: []" in result.stdout
