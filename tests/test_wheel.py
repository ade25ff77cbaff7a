"""The plain wheel works: built from the project files, installed with `pip --target` into an empty
folder, and run from outside the checkout (the checkout not on sys.path), it finds its G2P specs and
recipes, trains the tiny recipe for a few steps, exports a bundle and transcribes an espeak-ng recording."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import speak
from train_data import english_corpus  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from (a copy, so the build never writes build/ or *.egg-info into the checkout).
PROJECT_FILES = ("pyproject.toml", "setup.py", "README.md", "fieldasr", "fieldasr_examples", "g2p", "recipes")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    for name in PROJECT_FILES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(source / "dist"), str(source)],
                   check=True, capture_output=True, text=True)
    wheel = next((source / "dist").glob("fieldasr-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True, text=True)
    return target


def run(site: Path, cwd: Path, *arguments: str) -> str:
    """A console script of the installed wheel, with only the wheel's folder added to the venv's packages."""
    environment = {**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([str(site / "bin" / arguments[0]), *arguments[1:]], cwd=cwd, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"{arguments}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.mark.slow
def test_installed_wheel_runs_g2p_training_export_and_transcription(installed, english_corpus, tmp_path):  # noqa: F811
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = "import fieldasr, fieldasr.resources as r; print(fieldasr.__file__); print(r.spec_folder()); print(r.recipe_folder())"
    environment = {**os.environ, "PYTHONPATH": str(installed), "PYTHONNOUSERSITE": "1"}
    located = subprocess.run([sys.executable, "-c", probe], cwd=outside, env=environment, capture_output=True, text=True, check=True)
    assert all(Path(line).is_relative_to(installed) for line in located.stdout.split()), located.stdout

    assert run(installed, outside, "fieldasr", "g2p", "--spec", "sw", "habari").strip()
    english_corpus.save(outside / "data")
    steps = ["trainer.max_steps=3", "trainer.warmup_steps=0", "trainer.progress_bar=false", "data.speed_factors=[]"]
    settings = [f"experiment_dir={outside / 'exp'}", f"data.train={outside / 'data'}", *steps]
    trained = run(installed, outside, "fieldasr", "train", "ctc/demo_en", *[x for s in settings for x in ("--set", s)])
    assert "done: 3 steps" in trained
    run(installed, outside, "fieldasr", "export", "exp", "bundle")
    speak("the cat sat on the mat", outside / "recording.wav")
    (outside / "out").mkdir()
    run(installed, outside, "fieldasr", "transcribe", "bundle", "recording.wav", "--format", "txt", "--out-dir", "out")
    assert (outside / "out" / "recording.txt").is_file()
    assert "synth" in run(installed, outside, "fieldasr-examples", "--help")
