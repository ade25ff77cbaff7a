"""Replay: mix target-language chunks with some source-language audio to limit forgetting.

Continued pretraining on the target language alone drifts the model away from what it learnt before;
replaying a fraction of the original (source) languages is the usual remedy. The fraction is of audio
duration in the mix: 0.2 means one second in five is source-language audio. Call `mix_replay` once per
epoch with the epoch as seed to draw fresh source segments each time, reproducibly after a resume.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

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
