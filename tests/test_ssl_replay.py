"""Replay mixing: the asked share of source-language audio, reproducible per seed, shortfalls reported."""
from __future__ import annotations

import logging
import random

import pytest

from fieldasr.data.manifest import Segment
from fieldasr.ssl.replay import ReplayBatchSampler, ReplayError, mix_replay


def segments(prefix: str, count: int, duration: float, language: str) -> list[Segment]:
    return [Segment(id=f"{prefix}{i}", recording_id=prefix, start=i * duration, duration=duration, language=language) for i in range(count)]


TARGET = segments("ain", 40, 5.0, "ain")  # 200 s
SOURCE = segments("jpn", 200, 2.0, "jpn")  # 400 s


def test_mix_holds_all_target_and_the_asked_share_of_source():
    mix = mix_replay(TARGET, SOURCE, replay_fraction=0.2, seed=0)
    languages = [segment.language for segment in mix.segments]
    assert languages.count("ain") == len(TARGET)
    source_seconds = sum(s.duration for s in mix.segments if s.language == "jpn")
    # 0.2 of the mix is source: 200 s target → 50 s source, reached within one source segment.
    assert 50.0 <= source_seconds < 52.0
    assert mix.achieved_fraction == pytest.approx(source_seconds / (200.0 + source_seconds))
    assert len({s.id for s in mix.segments}) == len(mix.segments)  # nothing repeated
    assert languages[: len(TARGET)] != ["ain"] * len(TARGET)  # shuffled, not target-then-source


def test_same_seed_same_mix_and_new_seed_new_source_draw():
    first, again, other = (mix_replay(TARGET, SOURCE, 0.2, seed=seed) for seed in (1, 1, 2))
    assert first.segments == again.segments
    drawn = lambda mix: {s.id for s in mix.segments if s.language == "jpn"}  # noqa: E731
    assert drawn(first) != drawn(other)


def test_too_little_source_uses_all_of_it_and_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="fieldasr.ssl.replay"):
        mix = mix_replay(TARGET, SOURCE[:5], replay_fraction=0.5, seed=0)
    assert mix.source_seconds == pytest.approx(10.0)
    assert "lower the replay fraction" in caplog.text


def test_zero_fraction_is_target_only_and_bad_fractions_are_refused():
    assert {s.language for s in mix_replay(TARGET, [], 0.0).segments} == {"ain"}
    for fraction in (-0.1, 1.0):
        with pytest.raises(ReplayError):
            mix_replay(TARGET, SOURCE, fraction)
    with pytest.raises(ReplayError, match="source-language manifest is empty"):
        mix_replay(TARGET, [], 0.3)


def varied(prefix: str, count: int, language: str, seed: int) -> list[Segment]:
    generator = random.Random(seed)
    return [
        Segment(id=f"{prefix}{i}", recording_id=prefix, start=0.0, duration=round(generator.uniform(2, 20), 2), language=language)
        for i in range(count)
    ]


def test_batch_sampler_covers_target_each_epoch_and_redraws_source():
    target, source = varied("ain", 150, "ain", 1), varied("jpn", 300, "jpn", 2)
    sampler = ReplayBatchSampler(target, source, replay_fraction=0.25, max_batch_seconds=60.0, seed=7)
    drawn = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        indices = [index for batch in batches for index in batch]
        assert len(indices) == len(set(indices))
        chosen = [sampler.segments[index] for index in indices]
        assert sorted(s.id for s in chosen if s.language == "ain") == sorted(s.id for s in target)
        source_seconds = sum(s.duration for s in chosen if s.language == "jpn")
        target_seconds = sum(s.duration for s in target)
        assert 0.25 <= source_seconds / (source_seconds + target_seconds) < 0.27
        for batch in batches:
            assert max(sampler.segments[i].duration for i in batch) * len(batch) <= 60.0
        drawn.append({s.id for s in chosen if s.language == "jpn"})
    assert drawn[0] != drawn[1]
    again = ReplayBatchSampler(target, source, replay_fraction=0.25, max_batch_seconds=60.0, seed=7)
    again.set_epoch(1)
    assert list(again) == batches  # a resumed run sees the same batches


def test_batch_sampler_refuses_segments_longer_than_a_batch():
    with pytest.raises(ReplayError, match="longer than a batch"):
        ReplayBatchSampler(segments("ain", 2, 30.0, "ain"), [], 0.0, max_batch_seconds=20.0)
