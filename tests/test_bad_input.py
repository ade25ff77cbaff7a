"""Every user mistake we know of: exit code 2, a message naming the file and the fix, nothing written or changed.

Each case builds its inputs in a fresh folder (the working directory of the command), returns the command
line and the pieces its error message must contain, and the test then checks the exit code, the message,
that no traceback leaked out, and that no file under the folder was created, changed or removed (checksums
and permission bits before and after).

To add a case: write a function `def name(ws: Workspace) -> Call` and put `BadInput("name", name)` in CASES.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import speak

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Call:
    argv: Sequence[str]  # after "fieldasr"
    mentions: Sequence[str]  # each must appear in the error output (file names, "truncated", the fix, ...)


@dataclass
class Workspace:
    """The case's folder plus cheap ways to put real inputs into it (audio made once per test session)."""

    root: Path
    cache: Path

    def path(self, relative: str) -> Path:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, relative: str, text: str, encoding: str = "utf-8") -> Path:
        target = self.path(relative)
        target.write_text(text, encoding=encoding)
        return target

    def wav(self, relative: str, text: str = "the river runs", rate: int = 16000) -> Path:
        """Speech by espeak-ng (cached per text and rate), copied to `relative`."""
        cached = self.cache / f"speech-{hashlib.sha1(f'{text}-{rate}'.encode()).hexdigest()[:12]}.wav"
        if not cached.is_file():
            speak(text, cached, rate=rate)
        return Path(shutil.copy(cached, self.path(relative)))

    def fixture(self, name: str, relative: str | None = None) -> Path:
        """A file from tests/fixtures, copied into the case's folder."""
        return Path(shutil.copy(FIXTURES / name, self.path(relative or name)))


@dataclass(frozen=True)
class BadInput:
    name: str
    build: Callable[[Workspace], Call]

    def __str__(self) -> str:
        return self.name


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `root`: content checksum (files) and permission bits."""
    state = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        state[str(path.relative_to(root))] = (digest, mode)
    return state


def run_fieldasr(argv: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from fieldasr.cli import main

    monkeypatch.setattr(sys, "argv", ["fieldasr", *map(str, argv)])
    try:
        main()
    except SystemExit as exit_:
        return 0 if exit_.code is None else int(exit_.code)
    return 0


# --- the cases -------------------------------------------------------------------------------------

def evaluate_no_matching_ids(ws: Workspace) -> Call:
    from fieldasr.data import Corpus, Recording, Segment

    audio = ws.wav("audio/a.wav")
    recording = Recording.from_audio("a", audio)
    reference = Corpus({"a": recording}, (Segment("a-1", "a", 0.0, 0.5, "the river"),))
    hypothesis = Corpus({"a": recording}, (Segment("b-1", "a", 0.0, 0.5, "the river"),))
    reference.save(ws.root / "ref")
    hypothesis.save(ws.root / "hyp")
    return Call(["evaluate", "--ref", "ref", "--hyp", "hyp", "--unit", "word", "--out", "report"], ["hyp", "ref", "id"])


# transcribe / ELAN writing

_TINY_BUNDLE: list[Path] = []  # built once per test session


def tiny_bundle(ws: Workspace) -> Path:
    """A real (random, tiny) model bundle, as in test_transcribe_bundle.py; outside the case's folder."""
    if not _TINY_BUNDLE:
        import torch

        from fieldasr.bundle import export_bundle
        from fieldasr.models import TINY_CONFORMER, ConformerCTC
        from fieldasr.text import Vocabulary

        torch.manual_seed(0)
        letters = Vocabulary(tuple("<blank> <unk> | a e i o u k m n r s t".split()))
        folder = ws.cache / "bad-input-bundle"
        shutil.rmtree(folder, ignore_errors=True)
        _TINY_BUNDLE.append(export_bundle(folder, ConformerCTC(TINY_CONFORMER, len(letters)).eval(), letters, label_unit="characters"))
    return _TINY_BUNDLE[0]


def into(ws: Workspace, *extra: str) -> list[str]:
    """`transcribe BUNDLE rec.wav --into rec.eaf ...` with rec.wav in place."""
    ws.wav("rec.wav")
    return ["transcribe", str(tiny_bundle(ws)), "rec.wav", "--into", "rec.eaf", *extra]


def into_missing_eaf(ws: Workspace) -> Call:
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: not found", "leave out --into"])


def into_read_only_eaf(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf").chmod(0o444)
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: the file is read-only", "chmod u+w"])


def into_non_xml_eaf(ws: Workspace) -> Call:
    ws.write("rec.eaf", "Speaker A: irankarapte\nSpeaker B: hunna\n")
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: not well-formed XML", "save it again"])


def into_truncated_eaf(ws: Workspace) -> Call:
    ws.path("rec.eaf").write_bytes((FIXTURES / "elan6_session.eaf").read_bytes()[:3000])
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: not well-formed XML, probably truncated", "backup"])


def into_hand_tier(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(into(ws, "--tier", "tx@B"), ["rec.eaf: tier 'tx@B' (1 annotation, not written by fieldasr)",
                                             "--tier tx@B-asr", "--replace-tier tx@B"])


def into_hand_tier_corrected_since(ws: Workspace) -> Call:
    from fieldasr.data.elan_write import write_tier_into_eaf

    eaf = ws.fixture("elan6_session.eaf", "rec.eaf")
    write_tier_into_eaf(eaf, "asr", [(0.2, 1.5, "iranka rapte")], backup=False)
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">iranka rapte<", ">irankarapte<"), encoding="utf-8")
    return Call(into(ws, "--tier", "asr", "--no-word-times"), ["rec.eaf: tier 'asr' (1 annotation, edited since fieldasr wrote it)",
                                                               "--replace-tier asr"])


def into_replace_tier_in_hierarchy(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(into(ws, "--tier", "tx@A", "--replace-tier", "tx@A"),
                ["rec.eaf: tier 'tx@A' is part of a tier hierarchy", "ft@A", "--tier tx@A-asr"])


def into_with_a_folder_of_recordings(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    ws.wav("recordings/a.wav"), ws.wav("recordings/b.wav", "we sing")
    return Call(["transcribe", str(tiny_bundle(ws)), "recordings", "--into", "rec.eaf"],
                ["rec.eaf: --into takes one recording, got 2", "--out-dir"])


def into_a_textgrid(ws: Workspace) -> Call:
    ws.wav("rec.wav")
    ws.write("rec.TextGrid", 'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <absent>\n')
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--into", "rec.TextGrid"],
                ["rec.TextGrid: --into adds tiers to an existing ELAN .eaf", "--format textgrid --out-dir"])


def overwrite_an_output_the_fieldworker_edited(ws: Workspace) -> Call:
    from fieldasr.data.elan_write import write_new_eaf

    audio = ws.wav("rec.wav")
    eaf = write_new_eaf(ws.path("out/rec.eaf"), audio, {"fieldasr": [(0.1, 0.9, "ta")]})
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">ta<", ">the river<"), encoding="utf-8")
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--out-dir", "out", "--overwrite"],
                ["rec.eaf: --overwrite would replace this whole file", "'fieldasr' (edited since fieldasr wrote it)", "--into"])


def tiers_of_a_missing_file(ws: Workspace) -> Call:
    return Call(["tiers", "session.eaf"], ["session.eaf: ELAN file not found", "Check the path"])


def tiers_of_a_non_xml_file(ws: Workspace) -> Call:
    ws.write("session.eaf", "\x00\x01 not ELAN at all")
    return Call(["tiers", "session.eaf"], ["session.eaf: not well-formed XML", "save it again"])


def tiers_of_another_format(ws: Workspace) -> Call:
    ws.write("session.srt", "1\n00:00:00,200 --> 00:00:01,500\nirankarapte\n")
    return Call(["tiers", "session.srt"], ["session.srt: not an ELAN (.eaf) or Praat (.TextGrid) file"])


CASES: list[BadInput] = [
    BadInput("evaluate: no hypothesis id matches a reference", evaluate_no_matching_ids),
    # --- transcribe / ELAN writing ---
    BadInput("transcribe --into: the .eaf does not exist", into_missing_eaf),
    BadInput("transcribe --into: the .eaf is read-only", into_read_only_eaf),
    BadInput("transcribe --into: the .eaf is not XML", into_non_xml_eaf),
    BadInput("transcribe --into: the .eaf is truncated", into_truncated_eaf),
    BadInput("transcribe --into: a hand-transcribed tier without --replace-tier", into_hand_tier),
    BadInput("transcribe --into: fieldasr's tier corrected by hand since", into_hand_tier_corrected_since),
    BadInput("transcribe --into: --replace-tier of a tier inside a hierarchy", into_replace_tier_in_hierarchy),
    BadInput("transcribe --into: a folder of recordings", into_with_a_folder_of_recordings),
    BadInput("transcribe --into: a TextGrid", into_a_textgrid),
    BadInput("transcribe --overwrite: an .eaf output the fieldworker edited", overwrite_an_output_the_fieldworker_edited),
    BadInput("tiers: the file does not exist", tiers_of_a_missing_file),
    BadInput("tiers: the .eaf is not XML", tiers_of_a_non_xml_file),
    BadInput("tiers: neither ELAN nor TextGrid", tiers_of_another_format),

    # --- prepare / validate / audio ---

    # --- train / recipes / configuration ---

    # --- export / bundles / g2p ---

]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_exits_2_names_the_file_and_changes_nothing(case: BadInput, tmp_path, tmp_path_factory, monkeypatch, capsys):
    root = tmp_path / "work"
    root.mkdir()
    workspace = Workspace(root, tmp_path_factory.getbasetemp())
    call = case.build(workspace)
    monkeypatch.chdir(root)
    before = snapshot(root)
    code = run_fieldasr(call.argv, monkeypatch)
    captured = capsys.readouterr()
    message = captured.err + captured.out
    assert code == 2, f"exit code {code}, output:\n{message}"
    assert "Traceback" not in message
    for piece in call.mentions:
        assert piece in message, f"{piece!r} not in:\n{message}"
    assert snapshot(root) == before, "the command created, changed or removed files"
