from __future__ import annotations

import numpy as np
import pytest

from fieldasr.audio import load_audio, write_audio
from fieldasr.vad import SpeechRegion, VadOptions, detect_speech, split_regions
from tests.conftest import speak

SENTENCES = ["good morning to you all", "the river runs to the sea", "we sing the old songs at night"]


@pytest.fixture(scope="module")
def speech_with_pauses(tmp_path_factory):
    """Three espeak utterances separated by 2 s of silence; returns the file and the true speech spans."""
    folder = tmp_path_factory.mktemp("vad")
    pieces, truth, cursor = [np.zeros(16000, dtype=np.float32)], [], 1.0
    for number, sentence in enumerate(SENTENCES):
        samples = load_audio(speak(sentence, folder / f"{number}.wav"))
        voiced = np.flatnonzero(np.abs(samples) > 0.01)
        truth.append((cursor + voiced[0] / 16000, cursor + voiced[-1] / 16000))
        pieces += [samples, np.zeros(32000, dtype=np.float32)]
        cursor += (len(samples) + 32000) / 16000
    path = folder / "long.wav"
    write_audio(path, np.concatenate(pieces))
    return path, truth


@pytest.mark.parametrize("window_seconds", [300.0, 2.5])
def test_regions_match_the_spoken_spans_across_window_edges(speech_with_pauses, window_seconds):
    path, truth = speech_with_pauses
    regions = detect_speech(path, VadOptions(window_seconds=window_seconds, window_overlap_seconds=1.0))
    assert len(regions) == len(truth)
    for region, (start, end) in zip(regions, truth):
        assert abs(region.start - start) < 0.3
        assert abs(region.end - end) < 0.3
    assert all(a.end <= b.start for a, b in zip(regions, regions[1:]))


def test_silence_has_no_speech(tmp_path):
    path = tmp_path / "silence.wav"
    write_audio(path, np.zeros(16000 * 3, dtype=np.float32))
    assert detect_speech(path) == []


def test_split_regions_caps_length_and_covers_the_region():
    parts = split_regions([SpeechRegion(1.0, 26.0), SpeechRegion(30.0, 31.0)], max_seconds=10.0)
    assert [p.duration for p in parts] == pytest.approx([25 / 3] * 3 + [1.0])
    assert parts[0].start == 1.0 and parts[2].end == pytest.approx(26.0)


def test_vad_leaves_torch_thread_count_alone(speech_with_pauses):
    # silero_vad sets one thread for the whole process when first imported; the model forward pass would then
    # crawl. A fresh interpreter makes sure the import happens inside detect_speech.
    import subprocess
    import sys

    code = ("import torch; torch.set_num_threads(2); from fieldasr.vad import detect_speech; "
            f"detect_speech({str(speech_with_pauses[0])!r}); print(torch.get_num_threads())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "2"
