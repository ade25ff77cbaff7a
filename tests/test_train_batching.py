"""Dynamic batching and language-balanced sampling."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from fieldasr.train.batching import (
    FixedBatchSampler, LanguageBalancedBatchSampler, ShardedBatchSampler, batching_report, duration_batch_sampler,
    fixed_size_batches, language_sampling_probabilities, padding_ratio,
)

_RANDOM = random.Random(3)
DURATIONS = [_RANDOM.uniform(0.5, 12.0) for _ in range(400)]


def test_padding_ratio_by_hand():
    assert padding_ratio([[0, 1]], [1.0, 3.0]) == pytest.approx(2 / 6)
    assert padding_ratio([[0], [1]], [1.0, 3.0]) == 0.0


def test_dynamic_batches_cover_everything_once_within_the_limit_and_pad_less_than_fixed():
    sampler = duration_batch_sampler(DURATIONS, max_batch_duration=60.0, seed=1)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(len(DURATIONS)))
    assert all(max(DURATIONS[i] for i in batch) * len(batch) <= 60.0 for batch in batches)
    fixed = fixed_size_batches(len(DURATIONS), batch_size=round(len(DURATIONS) / len(batches)))
    assert padding_ratio(batches, DURATIONS) < 0.5 * padding_ratio(fixed, DURATIONS)
    assert batching_report(batches, DURATIONS, 60.0).num_batches == len(batches)


def test_same_epoch_same_batches_other_epoch_other_order():
    first, second = (duration_batch_sampler(DURATIONS, 60.0, seed=5) for _ in range(2))
    first.set_epoch(3)
    second.set_epoch(3)
    assert list(first) == list(second)
    second.set_epoch(4)
    assert list(second) != list(first)


def test_language_probabilities_follow_count_to_the_alpha():
    counts = {"big": 900, "small": 100}
    assert language_sampling_probabilities(counts, 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    assert language_sampling_probabilities(counts, 0.0) == pytest.approx({"big": 0.5, "small": 0.5})
    assert language_sampling_probabilities(counts, 0.5) == pytest.approx({"big": 30 / 40, "small": 10 / 40})


def test_balanced_sampler_upsamples_the_small_language_and_is_reproducible():
    languages = ["big"] * 360 + ["small"] * 40
    sampler = LanguageBalancedBatchSampler(DURATIONS, languages, max_batch_duration=60.0, alpha=0.0, seed=2, epoch_size=4000)
    drawn = Counter(languages[i] for batch in sampler for i in batch)
    assert drawn["small"] / sum(drawn.values()) == pytest.approx(0.5, abs=0.03)
    assert all(max(DURATIONS[i] for i in batch) * len(batch) <= 60.0 or len(batch) == 1 for batch in sampler)
    again = LanguageBalancedBatchSampler(DURATIONS, languages, max_batch_duration=60.0, alpha=0.0, seed=2, epoch_size=4000)
    assert list(again) == list(sampler)
    again.set_epoch(1)
    assert list(again) != list(sampler)


def test_fixed_batch_sampler_gives_the_same_batches_every_epoch():
    from fieldasr.train.batching import FixedBatchSampler, fixed_size_batches

    batches = fixed_size_batches(10, 4, seed=3)
    sampler = FixedBatchSampler(batches)
    first = list(sampler)
    sampler.set_epoch(1)
    assert first == list(sampler) == batches and len(sampler) == 3
    assert sorted(index for batch in first for index in batch) == list(range(10))


@pytest.mark.parametrize("batches", [1, 2, 7, 8])
def test_training_shards_take_equal_steps_and_cover_every_batch(batches):
    sampler = FixedBatchSampler([[index] for index in range(batches)])
    shards = [list(ShardedBatchSampler(sampler, rank, 3)) for rank in range(3)]
    assert len({len(shard) for shard in shards}) == 1 and all(len(shard) == len(ShardedBatchSampler(sampler, 0, 3)) for shard in shards)
    assert {batch[0] for shard in shards for batch in shard} == set(range(batches))


@pytest.mark.parametrize("batches", [1, 2, 7, 8])
def test_evaluation_shards_hold_every_batch_exactly_once(batches):
    sampler = FixedBatchSampler([[index] for index in range(batches)])
    shards = [ShardedBatchSampler(sampler, rank, 3, repeat_to_even=False) for rank in range(3)]
    taken = sorted(batch[0] for shard in shards for batch in shard)
    assert taken == list(range(batches)) and [len(list(shard)) for shard in shards] == [len(shard) for shard in shards]
