"""Voice activity detection for recordings of any length, in bounded memory, at the speed the model allows.

Silero VAD (its model ships inside the `silero-vad` wheel, so nothing is downloaded) is a per-frame
feature extractor and encoder (512 new samples plus 64 of context → one 128-d vector) followed by an LSTM
cell and a small head. Silero's own `get_speech_timestamps` calls the whole model once per 32 ms frame from
Python, which costs ~1 ms of overhead per frame: ~3× real time on a busy core. Here the frame-independent part
runs on thousands of frames per call, the LSTM runs over the whole block in one `torch.nn.LSTM` call with
silero's own cell weights, and its state carries from block to block, so the per-frame probabilities equal
the reference path's (to float rounding) for the whole file at once. Silero's own thresholding
(`get_speech_timestamps_from_probs`) then turns them into regions.

The file is read and resampled block by block (`VadOptions.block_seconds`), so hours of audio cost one
block of memory. Transcription and SSL chunking both use this module.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fieldasr.audio import TARGET_SAMPLING_RATE, audio_info, load_audio, resample
from fieldasr.errors import FieldasrError

FRAME_SAMPLES = 512  # silero's frame at 16 kHz
CONTEXT_SAMPLES = 64  # samples of the previous frame silero prepends to each frame


@dataclass(frozen=True)
class SpeechRegion:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5  # silero speech probability
    min_speech_seconds: float = 0.25
    min_silence_seconds: float = 0.3
    speech_pad_seconds: float = 0.1
    block_seconds: float = 60.0  # audio read, resampled and run through the model at once: the memory knob
    # Longer speech is split at its longest inner pause (silero), then evenly, so segments batch well.
    max_segment_seconds: float = 20.0

    def validate(self) -> None:
        if not self.block_seconds * TARGET_SAMPLING_RATE >= FRAME_SAMPLES:
            raise FieldasrError(f"VAD block_seconds must hold at least one 32 ms frame (got {self.block_seconds}).")
        if not 0 < self.threshold < 1:
            raise FieldasrError(f"VAD threshold is a speech probability strictly between 0 and 1 (got {self.threshold}).")


@functools.lru_cache(maxsize=1)
def _silero():
    """The silero_vad module; importing it sets torch to one thread for the whole process, which we undo."""
    threads = torch.get_num_threads()
    with warnings.catch_warnings():  # silero's loader uses APIs that torch and importlib call deprecated
        warnings.simplefilter("ignore", category=(DeprecationWarning, FutureWarning))
        import silero_vad
    torch.set_num_threads(threads)
    return silero_vad


@functools.lru_cache(maxsize=1)
def load_vad_model() -> torch.nn.Module:
    """silero-vad's TorchScript model from the installed wheel (no download)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=(DeprecationWarning, FutureWarning))
        return _silero().load_silero_vad()


class SileroSequence:
    """Silero's 16 kHz model run over many frames per call, with its LSTM state carried across calls.

    Feed consecutive 16 kHz blocks to `probabilities`; call `reset` before a new recording.
    """

    def __init__(self, model: torch.nn.Module | None = None) -> None:
        model = model if model is not None else load_vad_model()
        try:
            network = model._model  # the 16 kHz branch: stft → encoder → decoder(rnn: LSTMCell, decoder: head)
            self.stft, self.encoder, self.head = network.stft, network.encoder, network.decoder.decoder
            cell = dict(network.decoder.rnn.named_parameters())
            size = cell["weight_hh"].shape[1]
        except (AttributeError, KeyError) as error:
            raise FieldasrError(
                f"this silero-vad model has an unexpected layout ({error}); fieldasr is tested with silero-vad 5.1-6.x. "
                "Install one of those (`pip install 'silero-vad>=5.1,<7'`)."
            ) from error
        self.lstm = torch.nn.LSTM(size, size, batch_first=True)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.lstm, f"{name}_l0").copy_(cell[name])
        self.reset()

    def reset(self) -> None:
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.context = torch.zeros(CONTEXT_SAMPLES)
        self.pending = torch.zeros(0)  # samples of an unfinished frame, kept for the next block

    @torch.inference_mode()
    def probabilities(self, samples: torch.Tensor, final: bool = False) -> torch.Tensor:
        """Speech probability of each complete 512-sample frame so far; with `final`, the last partial frame is
        zero-padded as silero's reference path does."""
        samples = torch.cat([self.pending, samples.float()])
        frames = len(samples) // FRAME_SAMPLES
        if final and len(samples) % FRAME_SAMPLES:
            samples = torch.nn.functional.pad(samples, (0, FRAME_SAMPLES - len(samples) % FRAME_SAMPLES))
            frames += 1
        self.pending = samples[frames * FRAME_SAMPLES:]
        if frames == 0:
            return torch.zeros(0)
        current = samples[: frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES)
        # Each frame sees the last 64 samples of the frame before it, exactly as silero's streaming wrapper does.
        contexts = torch.cat([self.context[None], current[:-1, -CONTEXT_SAMPLES:]])
        self.context = current[-1, -CONTEXT_SAMPLES:].clone()
        features = self.encoder(self.stft(torch.cat([contexts, current], dim=1))).squeeze(-1)
        hidden, self.state = self.lstm(features[None], self.state)
        return self.head(hidden[0].unsqueeze(-1)).squeeze(1).mean(dim=1)


def read_blocks(path: str | Path, block_seconds: float) -> Iterator[np.ndarray]:
    """Consecutive mono 16 kHz blocks of the whole file, each read and resampled in one go.

    Other rates are resampled per block with a margin on each side that is then cut off, so block edges
    leave no seams; block and margin lengths are whole periods of the rate ratio, so the pieces join exactly.
    """
    info = audio_info(path)
    rate = info.sampling_rate
    period = rate // math.gcd(rate, TARGET_SAMPLING_RATE)  # source samples that map onto whole output samples
    block = max(1, round(block_seconds * rate / period)) * period
    margin = 0 if rate == TARGET_SAMPLING_RATE else math.ceil(0.05 * rate / period) * period
    for first in range(0, info.num_samples, block):
        start = max(0, first - margin)
        stop = min(info.num_samples, first + block + margin)
        samples = load_audio(path, start=start / rate, duration=(stop - start) / rate, sampling_rate=rate)
        if rate == TARGET_SAMPLING_RATE:
            yield samples
            continue
        converted = resample(samples, rate, TARGET_SAMPLING_RATE)
        head = (first - start) * TARGET_SAMPLING_RATE // rate
        length = math.ceil((min(first + block, info.num_samples) - first) * TARGET_SAMPLING_RATE / rate)
        yield converted[head: head + length]


def speech_probabilities(
    path: str | Path, options: VadOptions = VadOptions(), on_progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int]:
    """(per-frame speech probabilities of the whole recording, its length in 16 kHz samples)."""
    sequence = SileroSequence()
    pieces, total, blocks = [], 0, read_blocks(path, options.block_seconds)
    block = next(blocks, None)
    while block is not None:
        following = next(blocks, None)
        pieces.append(sequence.probabilities(torch.from_numpy(block), final=following is None).numpy())
        total += len(block)
        if on_progress is not None:
            on_progress(total / TARGET_SAMPLING_RATE)
        block = following
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32), total


def _silero_settings(options: VadOptions) -> dict[str, float | int]:
    """`options` in silero's own terms, shared by its thresholding and its reference path."""
    return {
        "threshold": options.threshold,
        "sampling_rate": TARGET_SAMPLING_RATE,
        "min_speech_duration_ms": int(options.min_speech_seconds * 1000),
        "min_silence_duration_ms": int(options.min_silence_seconds * 1000),
        "speech_pad_ms": int(options.speech_pad_seconds * 1000),
        "max_speech_duration_s": options.max_segment_seconds,
    }


def regions_from_probabilities(probabilities: np.ndarray, num_samples: int, options: VadOptions) -> list[SpeechRegion]:
    """Silero's own thresholding (hysteresis, minimum speech and silence, padding, max-length cuts)."""
    stamps = _silero().get_speech_timestamps_from_probs(probabilities.tolist(), audio_length_samples=num_samples,
                                                        **_silero_settings(options))
    return [SpeechRegion(s["start"] / TARGET_SAMPLING_RATE, s["end"] / TARGET_SAMPLING_RATE) for s in stamps]


def detect_speech(
    path: str | Path,
    options: VadOptions = VadOptions(),
    on_progress: Callable[[float], None] | None = None,
) -> list[SpeechRegion]:
    """Speech regions of a recording, each at most `options.max_segment_seconds` long.

    `on_progress` receives the seconds of audio processed so far (for progress bars).
    """
    options.validate()
    probabilities, num_samples = speech_probabilities(path, options, on_progress)
    return split_regions(regions_from_probabilities(probabilities, num_samples, options), options.max_segment_seconds)


def reference_speech_regions(samples: torch.Tensor, options: VadOptions = VadOptions()) -> list[SpeechRegion]:
    """Silero's own `get_speech_timestamps` (one model call per frame) on 16 kHz samples: what the fast path is
    tested and benchmarked against."""
    stamps = _silero().get_speech_timestamps(samples, load_vad_model(), **_silero_settings(options))
    return [SpeechRegion(s["start"] / TARGET_SAMPLING_RATE, s["end"] / TARGET_SAMPLING_RATE) for s in stamps]


def split_regions(regions: list[SpeechRegion], max_seconds: float) -> list[SpeechRegion]:
    """Cut regions longer than `max_seconds` into near-equal parts; every second of speech is kept."""
    result = []
    for region in regions:
        parts = max(1, math.ceil(region.duration / max_seconds - 1e-9)) if math.isfinite(max_seconds) else 1
        step = region.duration / parts
        result.extend(SpeechRegion(region.start + i * step, region.start + (i + 1) * step) for i in range(parts))
    return result
