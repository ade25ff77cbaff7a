"""VAD chunking: espeak-ng speech between known silences comes back as chunks around the true speech."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import speak

from fieldasr.audio import audio_info, load_audio, write_audio
import fieldasr.vad
from fieldasr.data.manifest import Corpus, Recording
from fieldasr.ssl.vad_chunking import (
    DISCARD_NO_SPEECH,
    DISCARD_TOO_SHORT,
    ChunkingError,
    CHUNKING_VAD,
    ChunkingOptions,
    chunk_recordings,
    group_into_chunks,
)

RATE = 16000


def recording_of(path) -> Recording:
    info = audio_info(path)
    return Recording(id=path.stem, path=str(path), sampling_rate=info.sampling_rate, num_samples=info.num_samples)


@pytest.fixture(scope="module")
def field_recording(tmp_path_factory: pytest.TempPathFactory):
    """Silence 3 s, sentence, silence 4 s, sentence, silence 3 s, "yes", silence 3 s; returns (recording, true spans)."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("vad")
    parts = [
        load_audio(speak("the quick brown fox jumps over the lazy dog", folder / "a.wav")),
        load_audio(speak("a field recording of an old story told by the river", folder / "b.wav")),
        load_audio(speak("yes", folder / "c.wav")),
    ]
    pieces, spans, cursor = [], [], 0.0
    for speech, silence in zip(parts, (3.0, 4.0, 3.0)):
        pieces += [np.zeros(int(silence * RATE), np.float32), speech]
        voiced = np.flatnonzero(np.abs(speech) > 0.01)  # espeak pads its output with a little silence
        start = cursor + silence
        spans.append((start + voiced[0] / RATE, start + voiced[-1] / RATE))
        cursor = start + len(speech) / RATE
    pieces.append(np.zeros(3 * RATE, np.float32))
    path = folder / "session.wav"
    write_audio(path, np.concatenate(pieces))
    silent = folder / "silent.wav"
    write_audio(silent, np.zeros(5 * RATE, np.float32))
    return recording_of(path), spans, recording_of(silent)


def test_chunks_cover_the_true_speech_and_report_what_was_left_out(field_recording, tmp_path):
    recording, spans, silent = field_recording
    result = chunk_recordings([recording, silent], tmp_path / "chunks", min_s=2, max_s=20, language="en")
    assert len(result.segments) == 2
    for segment, (start, end) in zip(result.segments, spans[:2]):
        assert segment.start == pytest.approx(start, abs=0.25)
        assert segment.end == pytest.approx(end, abs=0.25)
        assert segment.text is None and segment.language == "en"
    reasons = result.discarded_by_reason()
    assert reasons[DISCARD_NO_SPEECH] == (1, pytest.approx(5.0))
    too_short_count, too_short_seconds = reasons[DISCARD_TOO_SHORT]
    assert too_short_count == 1 and 0.2 < too_short_seconds < 1.5  # "yes"
    assert result.speech_seconds == pytest.approx(result.kept_seconds + too_short_seconds)

    corpus = Corpus.load(tmp_path / "chunks")
    corpus.validate()
    assert corpus.segments == result.segments
    assert set(corpus.recordings) == {recording.id, silent.id}


def test_small_blocks_find_the_same_chunks(field_recording, monkeypatch):

    recording, _, _ = field_recording
    whole = chunk_recordings([recording])
    reads: list[float] = []

    def counting_load_audio(path, start=0.0, duration=None, **kwargs):
        reads.append(duration)
        return load_audio(path, start=start, duration=duration, **kwargs)

    monkeypatch.setattr(fieldasr.vad, "load_audio", counting_load_audio)
    # Blocks of 5 s cut through both sentences; the VAD's state carries across, so the speech is the same.
    windowed = chunk_recordings([recording], options=ChunkingOptions(vad=dataclasses.replace(CHUNKING_VAD, block_seconds=5.0)))
    assert len(reads) >= recording.duration / 5.0 and max(reads) <= 5.0  # memory bounded by the block
    assert len(windowed.segments) == len(whole.segments)
    for a, b in zip(windowed.segments, whole.segments):
        assert a.start == pytest.approx(b.start, abs=0.1) and a.end == pytest.approx(b.end, abs=0.1)


def test_grouping_joins_short_pauses_and_cuts_long_speech():
    options = ChunkingOptions(min_seconds=2.0, max_seconds=20.0, max_pause_seconds=1.0)
    kept, too_short = group_into_chunks([(0.0, 1.5), (2.0, 3.0), (10.0, 55.0), (60.0, 61.0)], options)
    assert kept[0] == (0.0, 3.0)  # 0.5 s pause joined
    assert kept[1:] == [pytest.approx((10.0, 25.0)), pytest.approx((25.0, 40.0)), pytest.approx((40.0, 55.0))]
    assert too_short == [(60.0, 61.0)]
    assert all(end - start <= 20.0 for start, end in kept)


def test_invalid_options_are_refused():
    with pytest.raises(ChunkingError, match="min_seconds"):
        chunk_recordings([], min_s=5, max_s=2)


def test_vad_chunk_command_writes_manifests_and_lists_what_was_left_out(field_recording, tmp_path):
    from click.testing import CliRunner

    from fieldasr.cli import cli

    recording, _, silent = field_recording
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["vad-chunk", recording.path, silent.path, "--out-dir", str(out), "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "kept 2 chunk(s)" in result.output
    assert DISCARD_NO_SPEECH in result.output and DISCARD_TOO_SHORT in result.output
    discarded = (out / "discarded.tsv").read_text().splitlines()
    assert len(discarded) == 3 and discarded[0].startswith("recording_id")
    again = CliRunner().invoke(cli, ["vad-chunk", str(out / "recordings.jsonl.gz"), "--out-dir", str(tmp_path / "again")])
    assert again.exit_code == 0 and "kept 2 chunk(s)" in again.output  # a recordings manifest is accepted too


def test_two_files_with_one_name_are_refused(field_recording, tmp_path):
    from fieldasr.ssl.vad_chunking import find_recordings

    recording, _, _ = field_recording
    for folder in ("day1", "day2"):
        (tmp_path / folder).mkdir()
        write_audio(tmp_path / folder / "session.wav", load_audio(recording.path))
    with pytest.raises(ChunkingError, match="share the id 'session'"):
        find_recordings([tmp_path])


def test_chunks_feed_the_pretraining_task_with_replay(field_recording, tmp_path):
    from fieldasr.ssl.audio_dataset import SegmentAudioDataset
    from fieldasr.ssl.pretraining_task import PretrainingOptions, Wav2Vec2PretrainingTask, collate_audio, load_pretraining_model
    from test_ssl_pretraining import tiny_config

    recording, _, _ = field_recording
    chunk_recordings([recording], tmp_path / "target", language="en")
    source_path = speak("ein kleines Lied aus dem Dorf am Fluss", tmp_path / "de.wav", voice="de")
    chunk_recordings([recording_of(source_path)], tmp_path / "source", min_s=1.0, language="de")
    dataset = SegmentAudioDataset.with_replay(
        Corpus.load(tmp_path / "target"), Corpus.load(tmp_path / "source"), replay_fraction=0.3, seed=0
    )
    waveforms = [dataset[index] for index in range(len(dataset))]
    assert [len(w) for w in waveforms] == [pytest.approx(seconds * RATE, abs=2) for seconds in dataset.durations]
    assert {s.language for s in dataset.segments} == {"en", "de"}
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), PretrainingOptions(num_negatives=10, mask_length=5))
    output = task(collate_audio(waveforms))
    output.loss.backward()
    assert torch.isfinite(output.loss) and output.weight > 0


def test_killed_run_resumes_without_redoing_the_vad(field_recording, tmp_path, monkeypatch):
    import fieldasr.ssl.vad_chunking as vad_chunking

    recording, _, silent = field_recording
    real_speech_regions = vad_chunking.speech_regions
    calls: list[str] = []

    def dying_after_first(rec, options):
        if calls:
            raise KeyboardInterrupt  # the run is killed while working on the second recording
        calls.append(rec.id)
        return real_speech_regions(rec, options)

    monkeypatch.setattr(vad_chunking, "speech_regions", dying_after_first)
    with pytest.raises(KeyboardInterrupt):
        chunk_recordings([recording, silent], tmp_path)
    with open(tmp_path / "vad_regions.jsonl", "a") as stream:
        stream.write('{"recording_id": "torn')  # a line cut short by the kill

    def counting(rec, options):
        calls.append(rec.id)
        return real_speech_regions(rec, options)

    monkeypatch.setattr(vad_chunking, "speech_regions", counting)
    resumed = chunk_recordings([recording, silent], tmp_path)
    assert calls == [recording.id, silent.id]  # the first recording came from the log
    assert len(resumed.segments) == 2
    # Other chunk lengths reuse the logged speech: no VAD at all.
    rechunked = chunk_recordings([recording, silent], tmp_path, min_s=0.3)
    assert calls == [recording.id, silent.id] and len(rechunked.segments) == 3
