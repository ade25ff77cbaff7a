"""A development (validation) set held out of the training manifests, for a recipe given none.

The held-out part must not share what the test will not share, or the dev score flatters the model and early
stopping stops late: whole speakers when there are enough of them that training keeps most voices, otherwise
whole recordings, otherwise (a single recording) the last stretch of it, so that no dev utterance has a
training neighbour from the same seconds of audio.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from fieldasr.data.manifest import Corpus, Segment
from fieldasr.errors import FieldasrError

MIN_SPEAKERS_FOR_SPEAKER_SPLIT = 4  # holding out 1 of 3 voices would take a third of the speaker variety from training
Grouping = Literal["speaker", "recording", "time"]


@dataclass(frozen=True)
class DevSplit:
    train: Corpus
    dev: Corpus
    grouping: Grouping  # what the dev set shares nothing of with training
    held_out_groups: tuple[str, ...]  # speakers or recordings held out; for "time": the recording

    def describe(self) -> str:
        dev_minutes = sum(s.duration for s in self.dev.segments) / 60
        train_minutes = sum(s.duration for s in self.train.segments) / 60
        what = {"speaker": "speaker-disjoint", "recording": "recording-disjoint",
                "time": "the last part of the single recording"}[self.grouping]
        groups = ", ".join(self.held_out_groups[:5]) + (f" and {len(self.held_out_groups) - 5} more" if len(self.held_out_groups) > 5 else "")
        return (f"no validation set given: held out {len(self.dev.segments)} utterances ({dev_minutes:.1f} min, {what}: {groups}) "
                f"of the training data as the dev set; training keeps {len(self.train.segments)} ({train_minutes:.1f} min)")


def _subset(corpus: Corpus, segments: list[Segment]) -> Corpus:
    return Corpus({s.recording_id: corpus.recordings[s.recording_id] for s in segments}, tuple(segments))


def choose_dev_split(corpus: Corpus, fraction: float, seed: int = 0) -> DevSplit:
    """Hold out about `fraction` of the audio (at least one utterance; training keeps at least one), speaker-disjoint
    with at least MIN_SPEAKERS_FOR_SPEAKER_SPLIT speakers, else recording-disjoint, else the end of the one recording."""
    if not 0 < fraction < 1:
        raise FieldasrError(f"the dev fraction must be between 0 and 1 (exclusive), not {fraction}.")
    if len(corpus.segments) < 2:
        raise FieldasrError(f"{len(corpus.segments)} training utterance(s): too few to hold a dev set out; give one (data.valid).")
    speakers = {s.speaker for s in corpus.segments if s.speaker}
    all_have_speakers = all(s.speaker for s in corpus.segments)
    if all_have_speakers and len(speakers) >= MIN_SPEAKERS_FOR_SPEAKER_SPLIT:
        return _by_group(corpus, fraction, seed, "speaker", lambda s: s.speaker or "")
    if len({s.recording_id for s in corpus.segments}) >= 2:
        return _by_group(corpus, fraction, seed, "recording", lambda s: s.recording_id)
    return _by_time(corpus, fraction)


def _by_group(corpus: Corpus, fraction: float, seed: int, grouping: Grouping, key) -> DevSplit:
    groups: dict[str, list[Segment]] = defaultdict(list)
    for segment in corpus.segments:
        groups[key(segment)].append(segment)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    total = sum(s.duration for s in corpus.segments)
    held, held_seconds = [], 0.0
    for name in order[:-1]:  # training keeps at least one group
        if held and held_seconds >= fraction * total:
            break
        held.append(name)
        held_seconds += sum(s.duration for s in groups[name])
    chosen = set(held)
    dev = [s for s in corpus.segments if key(s) in chosen]
    train = [s for s in corpus.segments if key(s) not in chosen]
    return DevSplit(_subset(corpus, train), _subset(corpus, dev), grouping, tuple(held))


def _by_time(corpus: Corpus, fraction: float) -> DevSplit:
    ordered = sorted(corpus.segments, key=lambda s: s.start)
    total = sum(s.duration for s in ordered)
    dev: list[Segment] = []
    for segment in reversed(ordered[1:]):  # training keeps at least the first utterance
        if dev and sum(s.duration for s in dev) >= fraction * total:
            break
        dev.insert(0, segment)
    held = {s.id for s in dev}
    train = [s for s in corpus.segments if s.id not in held]
    return DevSplit(_subset(corpus, train), _subset(corpus, dev), "time", (ordered[0].recording_id,))
