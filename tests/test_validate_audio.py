"""validate opens every audio header: missing, empty, truncated and renamed files are reported with counts."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import speak
from fieldasr.audio import AudioFileError, audio_info
from fieldasr.cli import cli
from fieldasr.data.prepare import prepare_corpus
from fieldasr.errors import AudioError


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return speak("one two three four five six", tmp_path_factory.mktemp("validate_audio") / "speech.wav")


@pytest.fixture()
def corpus(tmp_path, speech) -> Path:
    """Five recordings (WAV and FLAC) prepared from a CSV; the audio is damaged afterwards by each test."""
    rows = ["path,text"]
    for name in ("a.wav", "b.wav", "c.wav", "d.wav"):
        shutil.copy(speech, tmp_path / name)
        rows.append(f"{name},one two three")
    subprocess.run(["sox", str(speech), str(tmp_path / "e.flac")], check=True)
    rows.append("e.flac,four five six")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return prepare_corpus(tmp_path / "list.csv", "csv", "c", out_dir=tmp_path / "out", progress=False).output


def cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def test_every_kind_of_damage_is_counted_and_named(tmp_path, corpus):
    (tmp_path / "a.wav").unlink()
    cut(tmp_path / "b.wav", 0.5)
    (tmp_path / "c.wav").write_bytes(b"")
    (tmp_path / "d.wav").write_text("path,text\nthis is not audio\n", encoding="utf-8")
    cut(tmp_path / "e.flac", 0.6)
    result = CliRunner().invoke(cli, ["validate", str(corpus)])
    assert isinstance(result.exception, AudioError), result.output
    message = str(result.exception)
    assert "5 recording(s) have unusable audio" in message
    for name, problem in [("a.wav", "missing"), ("b.wav", "truncated"), ("c.wav", "empty"), ("d.wav", "not audio"), ("e.flac", "truncated")]:
        assert any(f"[{problem}]" in line and name in line for line in message.splitlines()), (name, message)
    assert "1 missing" in message and "2 truncated" in message and "1 empty" in message and "1 not audio" in message
    assert "not audio (renamed?)" in message
    quick = CliRunner().invoke(cli, ["validate", str(corpus), "--quick"])
    assert quick.exit_code == 0 and "audio files not checked" in quick.output


def test_intact_audio_is_valid_and_a_changed_file_is_reported(tmp_path, corpus, speech):
    assert CliRunner().invoke(cli, ["validate", str(corpus)]).output.rstrip().endswith("valid.")
    subprocess.run(["sox", str(speech), str(tmp_path / "a.wav"), "pad", "0", "1"], check=True)
    result = CliRunner().invoke(cli, ["validate", str(corpus)])
    assert "[changed]" in str(result.exception) and "run prepare again" in str(result.exception)


def test_wav_header_promising_more_than_the_file_holds_is_truncated(tmp_path, speech):
    wav = Path(shutil.copy(speech, tmp_path / "x.wav"))
    cut(wav, 0.8)
    with pytest.raises(AudioFileError, match=r"x\.wav: truncated: the WAV header promises") as caught:
        audio_info(wav)
    assert caught.value.problem == "truncated"
