"""Untranscribed segments as a torch Dataset of raw 16 kHz waveforms, read lazily from their recordings."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from torch.utils.data import Dataset

from fieldasr.audio import load_audio
from fieldasr.data.manifest import Corpus, Recording, Segment
from fieldasr.errors import ManifestError
from fieldasr.ssl.replay import mix_replay


class SegmentAudioDataset(Dataset):
    """Item i is the waveform of `segments[i]`, sliced from its recording (only that slice is decoded)."""

    def __init__(self, segments: Sequence[Segment], recordings: Mapping[str, Recording]) -> None:
        unknown = sorted({segment.recording_id for segment in segments} - recordings.keys())
        if unknown:
            raise ManifestError(
                f"{len(unknown)} recording id(s) used by segments are not in the recordings manifest "
                f"(e.g. {unknown[0]!r}); give the recordings.jsonl that `fieldasr vad-chunk` wrote beside the segments."
            )
        self.segments = list(segments)
        self.recordings = recordings

    @classmethod
    def with_replay(
        cls, target: Corpus, source: Corpus | None = None, replay_fraction: float = 0.0, seed: int = 0
    ) -> "SegmentAudioDataset":
        """All target chunks plus a `replay_fraction` share of source chunks (see `mix_replay`); the seed
        (e.g. the epoch) picks which source chunks, reproducibly."""
        source_segments = source.segments if source is not None else ()
        mix = mix_replay(target.segments, source_segments, replay_fraction, seed=seed)
        recordings = {**(source.recordings if source is not None else {}), **target.recordings}
        return cls(mix.segments, recordings)

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def durations(self) -> list[float]:
        """Seconds per item, for duration-bucketed batching."""
        return [segment.duration for segment in self.segments]

    def __getitem__(self, index: int) -> np.ndarray:
        segment = self.segments[index]
        recording = self.recordings[segment.recording_id]
        return load_audio(recording.path, start=segment.start, duration=segment.duration)
