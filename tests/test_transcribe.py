"""Transcription path: VAD → model → decoding → files, with an energy-driven stand-in acoustic model.

The stand-in emits the label 'a' on loud frames and the blank elsewhere, so outputs are predictable from the
audio itself; the real-bundle path is covered in test_transcribe_bundle.py.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import speak
from fieldasr.audio import load_audio, write_audio
from fieldasr.data.export import read_json
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.transcribe import Transcriber, TranscribeOptions, transcribe_paths
from test_elan import FIXTURE, UNCHANGED_KINDS, canonical_parts, pympi_tier

FRAME = 320  # 20 ms at 16 kHz


class EnergyModel:
    vocabulary = Vocabulary(("<blank>", "<unk>", "|", "a"))
    unit = "characters"

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls, self.fail_on_call = 0, fail_on_call

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt  # what Ctrl-C looks like from inside a forward pass
        frames = waveforms.shape[1] // FRAME
        energy = waveforms[:, : frames * FRAME].reshape(len(waveforms), frames, FRAME).pow(2).mean(-1).sqrt()
        loud = (energy > 0.05).float()
        logits = torch.full((len(waveforms), frames, 4), -8.0)
        logits[..., 0] = 4.0 * (1 - loud)
        logits[..., 3] = 4.0 * loud
        return logits.log_softmax(-1), lengths // FRAME


def recording_with_pauses(folder: Path, name: str, sentences: list[str]) -> Path:
    pieces = [np.zeros(8000, dtype=np.float32)]
    for number, sentence in enumerate(sentences):
        pieces += [load_audio(speak(sentence, folder / f"{name}-{number}.wav")), np.zeros(24000, dtype=np.float32)]
    path = folder / f"{name}.wav"
    write_audio(path, np.concatenate(pieces))
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("to_transcribe")
    return [
        recording_with_pauses(folder, "first", ["good morning", "the river runs"]),
        recording_with_pauses(folder, "second", ["we sing the old songs"]),
        recording_with_pauses(folder, "third", ["one two three", "four five"]),
    ]


def test_segments_and_word_times_lie_inside_the_audio(recordings):
    transcript = Transcriber(EnergyModel()).transcribe(recordings[0])
    assert len(transcript.segments) == 2
    for segment in transcript.segments:
        assert 0 <= segment.start < segment.end <= transcript.duration + 1e-6
        assert segment.text and set(segment.text) == {"a"}
        times = [t for word in segment.words for token in word.tokens for t in (token.start, token.end)]
        assert times == sorted(times)
        assert segment.start - 1e-6 <= times[0] and times[-1] <= segment.end + 1e-6


@pytest.mark.parametrize("output_format", ["eaf", "textgrid", "srt", "json", "txt"])
def test_every_output_format_is_written(recordings, tmp_path, output_format):
    summary = transcribe_paths([recordings[1]], Transcriber(EnergyModel()), output_format, tmp_path, show_progress=False)
    [outcome] = summary.outcomes
    assert outcome.status == "written" and outcome.output.is_file() and outcome.output.parent == tmp_path


def test_killed_folder_run_resumes_without_redoing_or_losing_files(recordings, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir(), out.mkdir()
    for recording in recordings:
        shutil.copy(recording, folder)
    # Each short recording takes one forward pass; the second call is interrupted like Ctrl-C.
    with pytest.raises(KeyboardInterrupt):
        transcribe_paths([folder], Transcriber(EnergyModel(fail_on_call=2)), "json", out, show_progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["first.json"]  # no half-written or temporary file
    first_written = (out / "first.json").stat().st_mtime_ns

    summary = transcribe_paths([folder], Transcriber(EnergyModel()), "json", out, show_progress=False)
    assert [o.status for o in summary.outcomes] == ["skipped", "written", "written"]
    assert sorted(p.name for p in out.iterdir()) == ["first.json", "second.json", "third.json"]
    assert (out / "first.json").stat().st_mtime_ns == first_written


def test_into_existing_elan_file_leaves_every_other_tier_as_it_was(recordings, tmp_path):
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    shutil.copy(recordings[0], tmp_path / "session.wav")
    transcribe_paths([tmp_path / "session.wav"], Transcriber(EnergyModel()), into=eaf, tier="asr", show_progress=False)
    before, after = canonical_parts(tmp_path / "session.eaf.bak"), canonical_parts(eaf)
    assert after["HEADER"] == before["HEADER"]
    assert after["TIER"][: len(before["TIER"])] == before["TIER"]
    for kind in UNCHANGED_KINDS[1:]:
        assert after[kind][: len(before[kind])] == before[kind], kind
    assert len(pympi_tier(eaf, "asr")) == 2 and len(pympi_tier(eaf, "asr-words")) >= 2


def test_silent_and_unreadable_audio_are_reported_not_fatal(recordings, tmp_path):
    silent, broken = tmp_path / "silent.wav", tmp_path / "broken.wav"
    write_audio(silent, np.zeros(16000 * 2, dtype=np.float32))
    broken.write_bytes(recordings[1].read_bytes()[:30])  # a truncated header
    good = Path(shutil.copy(recordings[1], tmp_path / "good.wav"))
    summary = transcribe_paths([silent, broken, good], Transcriber(EnergyModel()), "json", tmp_path, show_progress=False)
    status = {o.audio.name: o for o in summary.outcomes}
    assert status["silent.wav"].status == "written" and status["silent.wav"].detail == "no speech detected"
    assert read_json(tmp_path / "silent.json")["fieldasr"] == []
    assert status["broken.wav"].status == "failed" and "broken.wav" in status["broken.wav"].detail
    assert status["good.wav"].status == "written"


def test_missing_output_folder_is_a_clear_error(recordings, tmp_path):
    from fieldasr.transcribe import TranscriptionError

    with pytest.raises(TranscriptionError, match="does not exist"):
        transcribe_paths([recordings[0]], Transcriber(EnergyModel()), "eaf", tmp_path / "missing", show_progress=False)


def test_long_recordings_are_read_in_bounded_pieces(recordings, tmp_path, monkeypatch):
    """No read is longer than a VAD block or a segment, however long the recording."""
    import fieldasr.transcribe.engine
    import fieldasr.vad
    from fieldasr.vad import VadOptions

    speech = load_audio(recordings[2])
    long_path = tmp_path / "long.wav"
    write_audio(long_path, np.concatenate([speech, np.zeros(16000 * 20, dtype=np.float32)] * 3))  # about 80 s
    reads: list[float | None] = []

    def counting(path, start=0.0, duration=None, **kwargs):
        reads.append(duration)
        return load_audio(path, start=start, duration=duration, **kwargs)

    monkeypatch.setattr(fieldasr.vad, "load_audio", counting)
    monkeypatch.setattr(fieldasr.transcribe.engine, "load_audio", counting)
    options = TranscribeOptions(batch_seconds=20.0, vad=VadOptions(block_seconds=15.0, max_segment_seconds=10.0))
    transcript = Transcriber(EnergyModel(), options).transcribe(long_path)
    assert len(transcript.segments) >= 6 and None not in reads
    assert max(reads) <= 15.0
