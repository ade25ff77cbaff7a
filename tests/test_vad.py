from __future__ import annotations

import numpy as np
import pytest

import torch

from fieldasr.audio import load_audio, write_audio
from fieldasr.vad import (
    SpeechRegion,
    VadOptions,
    detect_speech,
    load_vad_model,
    read_blocks,
    reference_speech_regions,
    speech_probabilities,
    split_regions,
)
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


@pytest.mark.parametrize("block_seconds", [300.0, 2.5])
def test_regions_match_the_spoken_spans_across_block_edges(speech_with_pauses, block_seconds):
    path, truth = speech_with_pauses
    regions = detect_speech(path, VadOptions(block_seconds=block_seconds))
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


def silero_reference_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero's streaming model called once per 512-sample frame, as `get_speech_timestamps` does."""
    model = load_vad_model()
    model.reset_states()
    audio = torch.from_numpy(samples)
    probabilities = []
    with torch.no_grad():
        for start in range(0, len(audio), 512):
            chunk = torch.nn.functional.pad(audio[start:start + 512], (0, max(0, start + 512 - len(audio))))
            probabilities.append(model(chunk[None], 16000).item())
    return np.array(probabilities)


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * 16000)) * level).astype(np.float32)


@pytest.mark.parametrize("block_seconds", [60.0, 1.3])
def test_fast_probabilities_equal_silero_frame_by_frame(speech_with_pauses, block_seconds):
    path, _ = speech_with_pauses
    fast, num_samples = speech_probabilities(path, VadOptions(block_seconds=block_seconds))
    reference = silero_reference_probabilities(load_audio(path))
    assert num_samples == len(load_audio(path)) and fast.shape == reference.shape
    assert np.abs(fast - reference).max() < 0.01  # float rounding only; the threshold is 0.5


@pytest.mark.parametrize("kind", ["speech", "silence", "noise", "speech in noise"])
def test_regions_agree_with_silero_get_speech_timestamps(speech_with_pauses, tmp_path, kind):
    speech = load_audio(speech_with_pauses[0])
    samples = {
        "speech": speech,
        "silence": np.zeros(16000 * 20, dtype=np.float32),
        "noise": noise(20.0, 0.05),
        "speech in noise": speech + noise(len(speech) / 16000, 0.01, seed=1),
    }[kind]
    path = tmp_path / f"{kind}.wav"
    write_audio(path, samples)
    options = VadOptions(block_seconds=7.0)
    fast = detect_speech(path, options)
    reference = reference_speech_regions(torch.from_numpy(load_audio(path)), options)
    assert len(fast) == len(reference)
    for ours, theirs in zip(fast, reference):
        assert ours.start == pytest.approx(theirs.start, abs=0.064)  # two 32 ms frames
        assert ours.end == pytest.approx(theirs.end, abs=0.064)
    if kind == "silence":
        assert fast == []


def test_resampled_blocks_join_without_seams(tmp_path):
    """A 22.05 kHz file read in small blocks gives the same 16 kHz samples as resampling it whole."""
    from fieldasr.audio import resample

    samples = noise(3.0, 0.1)
    path = tmp_path / "odd_rate.wav"
    write_audio(path, samples, sampling_rate=22050)
    whole = resample(load_audio(path, sampling_rate=22050), 22050, 16000)
    joined = np.concatenate(list(read_blocks(path, block_seconds=0.7)))
    assert len(joined) == len(whole)
    assert np.abs(joined - whole).max() < 1e-3
