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
from fieldasr.data.eaf_text import EafText
from fieldasr.data.elan_provenance import summarise_tiers
from fieldasr.data.elan_write import write_tier_into_eaf
from fieldasr.data.export import read_json
from fieldasr.errors import AnnotationError
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.transcribe import Transcriber, TranscribeOptions, TranscriptionError, transcribe_paths
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


def test_missing_output_folder_is_created(recordings, tmp_path):
    out = tmp_path / "transcripts" / "day1"
    summary = transcribe_paths([recordings[0]], Transcriber(EnergyModel()), "eaf", out, show_progress=False)
    assert [o.status for o in summary.outcomes] == ["written"] and (out / "first.eaf").is_file()


def test_output_folder_that_is_a_file_is_refused_before_any_work(recordings, tmp_path):
    (tmp_path / "out").write_text("not a folder")
    model = EnergyModel()
    with pytest.raises(TranscriptionError, match=r"out: --out-dir names a file, not a folder"):
        transcribe_paths([recordings[0]], Transcriber(model), "eaf", tmp_path / "out", show_progress=False)
    assert model.calls == 0


def test_two_recordings_with_one_output_name_are_refused(recordings, tmp_path):
    for day in ("day1", "day2"):
        (tmp_path / day).mkdir()
        shutil.copy(recordings[0], tmp_path / day / "session.wav")
    with pytest.raises(TranscriptionError, match=r"out/session\.json: recordings .*day1/session\.wav and .*day2/session\.wav"):
        transcribe_paths([tmp_path], Transcriber(EnergyModel()), "json", tmp_path / "out", show_progress=False)
    assert not (tmp_path / "out").exists()


@pytest.fixture()
def session(recordings, tmp_path) -> Path:
    """The ELAN 6 fixture next to a recording of the same name."""
    shutil.copy(recordings[0], tmp_path / "session.wav")
    return Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))


def provenance(eaf: Path) -> dict[str, str]:
    return {summary.name: summary.provenance for summary in summarise_tiers(EafText.read(eaf))}


def test_into_a_hand_transcribed_tier_is_refused_before_the_model_runs(session):
    original, model = session.read_bytes(), EnergyModel()
    with pytest.raises(AnnotationError, match=r"session\.eaf: tier 'tx@B' \(1 annotation, not written by fieldasr\).*"
                                              r"--tier tx@B-asr.*--replace-tier tx@B"):
        transcribe_paths([session.with_suffix(".wav")], Transcriber(model), into=session, tier="tx@B", show_progress=False)
    assert model.calls == 0 and session.read_bytes() == original
    assert sorted(path.name for path in session.parent.iterdir()) == ["session.eaf", "session.wav"]


def test_a_corrected_word_tier_is_protected_too(session):
    write_tier_into_eaf(session, "asr-words", [(0.2, 0.5, "mine")], backup=False)
    session.write_bytes(session.read_bytes().replace(b">mine<", b">my own<"))  # corrected, as in ELAN
    original = session.read_bytes()
    with pytest.raises(AnnotationError, match=r"tier 'asr-words' \(1 annotation, edited since fieldasr wrote it\)"):
        transcribe_paths([session.with_suffix(".wav")], Transcriber(EnergyModel()), into=session, tier="asr", show_progress=False)
    assert session.read_bytes() == original


def test_replace_tier_then_rerun_is_skipped_then_overwrite_keeps_the_first_backup(session):
    original, wav = session.read_bytes(), session.with_suffix(".wav")
    summary = transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="tx@B", replace_tiers=["tx@B"], show_progress=False)
    assert [o.status for o in summary.outcomes] == ["written"]
    first_backup = session.with_name("session.eaf.bak")
    assert first_backup.read_bytes() == original
    assert provenance(session)["tx@B"] == "unedited" and provenance(session)["tx@B-words"] == "unedited"
    assert provenance(session)["tx@A"] == ""

    model = EnergyModel()
    again = transcribe_paths([wav], Transcriber(model), into=session, tier="tx@B", show_progress=False)
    assert [(o.status, o.detail) for o in again.outcomes] == [("skipped", "already done")] and model.calls == 0
    assert "0 written, 1 already done (skipped)" in again.table()

    replaced = session.read_bytes()
    transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="tx@B", overwrite=True, show_progress=False)
    assert first_backup.read_bytes() == original
    assert session.with_name("session.eaf.bak2").read_bytes() == replaced


def test_another_recording_into_fieldasr_tiers_replaces_them(session, recordings):
    wav = session.with_suffix(".wav")
    transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="asr", show_progress=False)
    shutil.copy(recordings[2], wav)  # the same name, other audio: not "already done"
    summary = transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="asr", show_progress=False)
    assert [o.status for o in summary.outcomes] == ["written"]
    assert provenance(session)["asr"] == "unedited"


def test_a_corrected_fieldasr_tier_is_the_fieldworkers(session):
    wav = session.with_suffix(".wav")
    transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="asr", show_progress=False)
    first = pympi_tier(session, "asr")[0][2]
    text = session.read_text(encoding="utf-8")
    session.write_text(text.replace(f"<ANNOTATION_VALUE>{first}</ANNOTATION_VALUE>", "<ANNOTATION_VALUE>corrected</ANNOTATION_VALUE>", 1),
                       encoding="utf-8")
    assert provenance(session)["asr"] == "edited" and provenance(session)["asr-words"] == "unedited"
    corrected = session.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(AnnotationError, match=r"tier 'asr' \(2 annotations, edited since fieldasr wrote it\)"):
            transcribe_paths([wav], Transcriber(EnergyModel()), into=session, tier="asr", overwrite=overwrite, show_progress=False)
    assert session.read_bytes() == corrected


def test_overwrite_refuses_a_new_file_output_the_fieldworker_added_to(recordings, tmp_path):
    transcribe_paths([recordings[0]], Transcriber(EnergyModel()), "eaf", tmp_path, show_progress=False)
    output = tmp_path / "first.eaf"
    assert set(provenance(output).values()) == {"unedited"}
    text = output.read_text(encoding="utf-8")
    output.write_text(text.replace('ANNOTATOR="fieldasr" LINGUISTIC_TYPE_REF="default-lt" TIER_ID="fieldasr-words"',
                                   'ANNOTATOR="Ana" LINGUISTIC_TYPE_REF="default-lt" TIER_ID="fieldasr-words"'), encoding="utf-8")
    changed, model = output.read_bytes(), EnergyModel()
    with pytest.raises(AnnotationError, match=r"first\.eaf: --overwrite would replace this whole file.*'fieldasr-words'.*--into"):
        transcribe_paths([recordings[0]], Transcriber(model), "eaf", tmp_path, overwrite=True, show_progress=False)
    assert output.read_bytes() == changed and model.calls == 0


def test_overwrite_of_an_unmarked_format_keeps_numbered_backups(recordings, tmp_path):
    outputs = []
    for _ in range(3):
        transcribe_paths([recordings[1]], Transcriber(EnergyModel()), "srt", tmp_path, overwrite=True, show_progress=False)
        outputs.append((tmp_path / "second.srt").read_bytes())
        (tmp_path / "second.srt").write_bytes(outputs[-1] + f"edit {len(outputs)}\n".encode())
        outputs[-1] = (tmp_path / "second.srt").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["second.srt", "second.srt.bak", "second.srt.bak2"]
    assert (tmp_path / "second.srt.bak").read_bytes() == outputs[0]
    assert (tmp_path / "second.srt.bak2").read_bytes() == outputs[1]


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
