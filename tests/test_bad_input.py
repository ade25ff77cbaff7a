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


# train / recipes / configuration

RECIPE = """experiment_dir: exp/run
data:
  train: corpus
  speed_factors: []
model:
  architecture: conformer_ctc
  size: tiny
trainer:
  lr: 0.001
  max_steps: 2
"""


def recipe(ws: Workspace, text: str = RECIPE, manifests: bool = True) -> str:
    """A CTC recipe in the case's folder; `corpus/` holds (empty) manifests, which are only opened after the checks."""
    if manifests:
        ws.write("corpus/recordings.jsonl", "")
        ws.write("corpus/segments.jsonl", "")
    ws.write("recipe.yaml", text)
    return "recipe.yaml"


def train_typo_in_data_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("  speed_factors", "  sped_factors"))], ["recipe.yaml", "data.sped_factors", "speed_factors"])


def train_typo_in_model_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("  architecture", "  architecure"))], ["recipe.yaml", "model.architecure", "architecture"])


def train_typo_in_top_level_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("trainer:", "trainr:"))], ["recipe.yaml", "trainr", "trainer"])


def train_set_unknown_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "model.szie=3"], ["recipe.yaml", "--set model.szie=3", "model.szie", "'size'"])


def train_set_wrong_type(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.lr=fast"], ["recipe.yaml", "trainer.lr", "'fast' is not a number"])


def train_set_without_equals(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.lr"], ["recipe.yaml", "trainer.lr", "key.subkey=value"])


def train_wrong_type_in_yaml(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("max_steps: 2", "max_steps: ten"))], ["recipe.yaml", "trainer.max_steps", "'ten'", "whole number"])


def train_yaml_syntax_error(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("speed_factors: []", "speed_factors: [0.9, 1.0"))], ["recipe.yaml", "not valid YAML", "line"])


def train_copied_recipe_base_gone(ws: Workspace) -> Call:
    ws.write("mine.yaml", (Path(__file__).parent.parent / "recipes/transfer/hparams/example_language.yaml").read_text())
    return Call(["train", "mine.yaml"], ["mine.yaml", "base: base.yaml", "relative to the YAML file that names it", str(ws.root / "base.yaml")])


def train_data_folder_missing(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, manifests=False)], ["recipe.yaml", "data.train", "corpus", "does not exist"])


def train_data_folder_without_manifests(ws: Workspace) -> Call:
    ws.path("corpus/notes.txt").write_text("not a manifest")
    return Call(["train", recipe(ws, manifests=False)], ["recipe.yaml", "data.train", "recordings.jsonl", "fieldasr prepare"])


def train_unknown_architecture(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("conformer_ctc", "conformer"))], ["recipe.yaml", "model.architecture", "'conformer_ctc'"])


def train_unknown_model_config_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "model.config.num_layer=3"], ["recipe.yaml", "model.config.num_layer", "'num_layers'"])


def train_missing_transfer_bundle(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "transfer.init_from=bundles/multilingual"],
                ["recipe.yaml", "transfer.init_from", "bundles/multilingual", "fieldasr export"])


CASES: list[BadInput] = [
    BadInput("evaluate: no hypothesis id matches a reference", evaluate_no_matching_ids),
    # --- transcribe / ELAN writing ---

    # --- prepare / validate / audio ---

    # --- train / recipes / configuration ---
    BadInput("train: typo in a data key", train_typo_in_data_key),
    BadInput("train: typo in a model key", train_typo_in_model_key),
    BadInput("train: typo in a top-level key", train_typo_in_top_level_key),
    BadInput("train: --set of an unknown key", train_set_unknown_key),
    BadInput("train: --set with a value of the wrong type", train_set_wrong_type),
    BadInput("train: --set without =", train_set_without_equals),
    BadInput("train: wrong type in the YAML", train_wrong_type_in_yaml),
    BadInput("train: YAML syntax error", train_yaml_syntax_error),
    BadInput("train: copied recipe whose base: no longer resolves", train_copied_recipe_base_gone),
    BadInput("train: data.train folder missing", train_data_folder_missing),
    BadInput("train: data.train folder without manifests", train_data_folder_without_manifests),
    BadInput("train: unknown architecture", train_unknown_architecture),
    BadInput("train: unknown model.config key", train_unknown_model_config_key),
    BadInput("train: transfer.init_from bundle missing", train_missing_transfer_bundle),

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
