"""Replay: mix target-language chunks with some source-language audio to limit forgetting.

Continued pretraining on the target language alone drifts the model away from what it learnt before;
replaying a fraction of the original (source) languages is the usual remedy. The fraction is of audio
duration in the mix: 0.2 means one second in five is source-language audio. Call `mix_replay` once per
epoch with the epoch as seed to draw fresh source segments each time, reproducibly after a resume;
`ReplayBatchSampler` does that for the Trainer and cuts each epoch into batches of bounded padded duration.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from fieldasr.batching import cut_batches
from fieldasr.data.manifest import Segment
from fieldasr.errors import FieldasrError

logger = logging.getLogger(__name__)


class ReplayError(FieldasrError):
    """Replay mixing cannot be done as asked."""


@dataclass(frozen=True)
class ReplayMix:
    segments: tuple[Segment, ...]  # shuffled mix of target and drawn source segments
    target_seconds: float
    source_seconds: float
    requested_fraction: float

    @property
    def achieved_fraction(self) -> float:
        total = self.target_seconds + self.source_seconds
        return self.source_seconds / total if total else 0.0


def mix_replay(
    target: Sequence[Segment], source: Sequence[Segment], replay_fraction: float, seed: int = 0
) -> ReplayMix:
    """All target segments plus source segments drawn at random until they make `replay_fraction` of the audio.

    When the source pool is too small for the fraction asked, all of it is used and a warning says how much
    was reached (source segments are not repeated, which would over-weight a few utterances).
    """
    if not 0 <= replay_fraction < 1:
        raise ReplayError(f"replay fraction must be in [0, 1) (got {replay_fraction}); 0.1-0.3 is typical.")
    if not target:
        raise ReplayError("no target-language segments to mix; run `fieldasr vad-chunk` on the target recordings first.")
    if replay_fraction > 0 and not source:
        raise ReplayError(
            f"replay fraction {replay_fraction} asked but the source-language manifest is empty; "
            "give source segments or set the replay fraction to 0."
        )
    target_seconds = sum(segment.duration for segment in target)
    wanted = target_seconds * replay_fraction / (1 - replay_fraction)
    generator = random.Random(seed)
    drawn: list[Segment] = []
    source_seconds = 0.0
    for segment in generator.sample(list(source), len(source)):
        if source_seconds >= wanted:
            break
        drawn.append(segment)
        source_seconds += segment.duration
    mix = ReplayMix(
        segments=tuple(generator.sample([*target, *drawn], len(target) + len(drawn))),
        target_seconds=target_seconds,
        source_seconds=source_seconds,
        requested_fraction=replay_fraction,
    )
    if source_seconds < wanted:
        logger.warning(
            "replay: only %.1f s of source audio for the %.1f s asked; the mix is %.1f%% source instead of %.1f%%. "
            "Add source-language segments or lower the replay fraction.",
            source_seconds, wanted, 100 * mix.achieved_fraction, 100 * replay_fraction,
        )
    return mix


class ReplayBatchSampler(torch.utils.data.Sampler):
    """Index batches over `segments` (target then source): each epoch every target segment once plus a fresh,
    seeded draw of source segments; a batch's padded audio (longest item × items) stays within
    `max_batch_seconds`. The Trainer calls `set_epoch`; the same seed and epoch give the same batches, so a
    resumed run skips exactly the batches it had seen.
    """

    def __init__(
        self,
        target: Sequence[Segment],
        source: Sequence[Segment],
        replay_fraction: float,
        max_batch_seconds: float,
        seed: int = 0,
        sort_window: int = 100,
    ) -> None:
        self.segments: tuple[Segment, ...] = (*target, *source)
        longest = max(self.segments, key=lambda segment: segment.duration, default=None)
        if longest is not None and longest.duration > max_batch_seconds:
            raise ReplayError(
                f"segment {longest.id!r} lasts {longest.duration:.1f} s, longer than a batch may hold "
                f"({max_batch_seconds:.1f} s); raise max_batch_seconds or chunk with a lower maximum length."
            )
        self.target, self.source = tuple(target), tuple(source)
        self.replay_fraction = replay_fraction
        self.max_batch_seconds = max_batch_seconds
        self.seed = seed
        self.sort_window = sort_window
        self.index_of = {segment.id: index for index, segment in enumerate(self.segments)}
        if len(self.index_of) != len(self.segments):
            raise ReplayError("segment ids repeat between or within the target and source manifests; ids must be unique.")
        self.epoch = 0
        self._batches = self._make_batches(0)

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self._batches = self._make_batches(epoch)

    def _make_batches(self, epoch: int) -> list[list[int]]:
        mix = mix_replay(self.target, self.source, self.replay_fraction, seed=self.seed + epoch)
        order = [self.index_of[segment.id] for segment in mix.segments]  # already shuffled
        durations = [segment.duration for segment in self.segments]
        batches: list[list[int]] = []
        # Sorting within windows of the shuffled order keeps padding low without a fixed length order.
        for begin in range(0, len(order), self.sort_window):
            window = sorted(order[begin : begin + self.sort_window], key=durations.__getitem__)
            batches += cut_batches(durations, window, self.max_batch_seconds)
        random.Random(self.seed + epoch).shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(list(self._batches))

    def __len__(self) -> int:
        return len(self._batches)
