"""Shared fixtures: real audio from espeak-ng, made once per session."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; `make test` installs it (tools/install_system_packages.sh).")
    return path


def speak(text: str, path: Path, voice: str = "en", rate: int = 16000) -> Path:
    """Synthesise `text` with espeak-ng into a WAV at `rate` Hz (espeak speaks at 22.05 kHz; sox converts)."""
    require_program("espeak-ng")
    raw = path.with_suffix(".22k.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
    # -D: no dither, so the same text always gives the same samples (sox dithers randomly by default)
    subprocess.run(["sox", "-D", str(raw), "-r", str(rate), str(path)], check=True)
    raw.unlink()
    return path


def speech_of_length(text: str, path: Path, seconds: float) -> Path:
    """espeak-ng speaking `text`, padded with silence (or cut) to exactly `seconds`: audio whose length tests rely on."""
    speech = speak(text, path.with_name(path.stem + "-speech.wav"))
    subprocess.run(["sox", str(speech), str(path), "pad", "0", str(seconds), "trim", "0", str(seconds)], check=True)
    return path


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spoken")
    return speak("the quick brown fox jumps over the lazy dog", folder / "fox.wav")
