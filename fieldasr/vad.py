"""Voice activity detection for recordings of any length, in bounded memory.

Silero VAD (its model ships inside the `silero-vad` wheel, so nothing is downloaded) runs over overlapping
windows read straight from the file; speech crossing a window edge is seen whole by one of the two
windows, and the regions of all windows are united. Transcription and SSL chunking both use this module.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from fieldasr.audio import TARGET_SAMPLING_RATE, audio_info, load_audio
from fieldasr.errors import FieldasrError


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
    window_seconds: float = 300.0  # audio read at once
    window_overlap_seconds: float = 20.0
    # Longer speech is split at its longest inner pause (silero), then evenly, so segments batch well.
    max_segment_seconds: float = 20.0

    def validate(self) -> None:
        if not 0 <= self.window_overlap_seconds < self.window_seconds:
            raise FieldasrError(
                f"VAD windows need 0 <= window_overlap_seconds < window_seconds "
                f"(got {self.window_overlap_seconds}, {self.window_seconds})."
            )


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


def _regions_in(samples: torch.Tensor, offset: float, options: VadOptions) -> list[tuple[float, float]]:
    stamps = _silero().get_speech_timestamps(
        samples,
        load_vad_model(),
        threshold=options.threshold,
        sampling_rate=TARGET_SAMPLING_RATE,
        min_speech_duration_ms=int(options.min_speech_seconds * 1000),
        min_silence_duration_ms=int(options.min_silence_seconds * 1000),
        speech_pad_ms=int(options.speech_pad_seconds * 1000),
        max_speech_duration_s=options.max_segment_seconds,
    )
    return [(offset + s["start"] / TARGET_SAMPLING_RATE, offset + s["end"] / TARGET_SAMPLING_RATE) for s in stamps]


def detect_speech(
    path: str | Path,
    options: VadOptions = VadOptions(),
    on_progress: Callable[[float], None] | None = None,
) -> list[SpeechRegion]:
    """Speech regions of a recording, each at most `options.max_segment_seconds` long.

    `on_progress` receives the seconds of audio processed so far (for progress bars).
    """
    options.validate()
    total = audio_info(path).duration
    step = options.window_seconds - options.window_overlap_seconds
    windows = max(1, math.ceil(max(total - options.window_overlap_seconds, 0) / step))
    regions: list[tuple[float, float]] = []
    for index in range(windows):
        offset = index * step
        samples = load_audio(path, start=offset, duration=min(options.window_seconds, total - offset))
        regions += _regions_in(torch.from_numpy(samples), offset, options)
        if on_progress is not None:
            on_progress(min(total, offset + options.window_seconds))
    united = [SpeechRegion(start, end) for start, end in unite(regions)]
    return split_regions(united, options.max_segment_seconds)


def unite(regions: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted union of intervals: overlapping or touching ones become one."""
    united: list[tuple[float, float]] = []
    for start, end in sorted(regions):
        if united and start <= united[-1][1]:
            united[-1] = (united[-1][0], max(united[-1][1], end))
        else:
            united.append((start, end))
    return united


def split_regions(regions: list[SpeechRegion], max_seconds: float) -> list[SpeechRegion]:
    """Cut regions longer than `max_seconds` into near-equal parts; every second of speech is kept."""
    result = []
    for region in regions:
        parts = max(1, math.ceil(region.duration / max_seconds - 1e-9)) if math.isfinite(max_seconds) else 1
        step = region.duration / parts
        result.extend(SpeechRegion(region.start + i * step, region.start + (i + 1) * step) for i in range(parts))
    return result
