"""Voice activity detection for long recordings, in bounded memory.

Silero VAD (its model ships inside the `silero-vad` wheel, so nothing is downloaded) runs over windows of
a few minutes read straight from the file; regions that touch a window edge are joined across it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fieldasr.audio import TARGET_SAMPLING_RATE, audio_info, load_audio

# Regions closer than this to a window edge are treated as continuing into the next window.
_EDGE_SECONDS = 0.1


@dataclass(frozen=True)
class SpeechRegion:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_speech_seconds: float = 0.25
    min_silence_seconds: float = 0.3
    speech_pad_seconds: float = 0.1
    window_seconds: float = 300.0
    # Silero splits longer speech at its longest inner pause, so segments stay short enough to batch.
    max_segment_seconds: float = 20.0


@functools.lru_cache(maxsize=1)
def _silero_model() -> torch.nn.Module:
    from silero_vad import load_silero_vad

    return load_silero_vad()


def _regions_in_window(samples: np.ndarray, offset: float, options: VadOptions) -> list[SpeechRegion]:
    from silero_vad import get_speech_timestamps

    timestamps = get_speech_timestamps(
        torch.from_numpy(samples),
        _silero_model(),
        threshold=options.threshold,
        sampling_rate=TARGET_SAMPLING_RATE,
        min_speech_duration_ms=int(options.min_speech_seconds * 1000),
        min_silence_duration_ms=int(options.min_silence_seconds * 1000),
        speech_pad_ms=int(options.speech_pad_seconds * 1000),
        max_speech_duration_s=options.max_segment_seconds,
    )
    return [
        SpeechRegion(offset + stamp["start"] / TARGET_SAMPLING_RATE, offset + stamp["end"] / TARGET_SAMPLING_RATE)
        for stamp in timestamps
    ]


def detect_speech(
    path: str | Path,
    options: VadOptions = VadOptions(),
    on_progress: Callable[[float], None] | None = None,
) -> list[SpeechRegion]:
    """Speech regions of a recording of any length, reading `options.window_seconds` at a time.

    `on_progress` receives the seconds of audio processed so far (for progress bars).
    """
    total = audio_info(path).duration
    regions: list[SpeechRegion] = []
    for offset, samples in _windows(path, total, options.window_seconds):
        window_end = offset + len(samples) / TARGET_SAMPLING_RATE
        for region in _regions_in_window(samples, offset, options):
            continues_previous = regions and regions[-1].end >= offset - _EDGE_SECONDS and region.start - offset <= _EDGE_SECONDS
            if continues_previous and region.end - regions[-1].start <= options.max_segment_seconds:
                regions[-1] = SpeechRegion(regions[-1].start, region.end)
            else:
                regions.append(region)
        if on_progress is not None:
            on_progress(window_end)
    return regions


def _windows(path: str | Path, total: float, window_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    offset = 0.0
    while offset < total - 1e-3:
        duration = min(window_seconds, total - offset)
        yield offset, load_audio(path, start=offset, duration=duration)
        offset += duration


def split_regions(regions: list[SpeechRegion], max_seconds: float, min_seconds: float = 0.0) -> list[SpeechRegion]:
    """Cut regions longer than `max_seconds` into near-equal parts; drop none (short ones are kept unless
    `min_seconds` asks otherwise, in which case the caller counts what was removed)."""
    result = []
    for region in regions:
        if region.duration < min_seconds:
            continue
        parts = max(1, int(np.ceil(region.duration / max_seconds)))
        step = region.duration / parts
        result.extend(SpeechRegion(region.start + i * step, region.start + (i + 1) * step) for i in range(parts))
    return result
