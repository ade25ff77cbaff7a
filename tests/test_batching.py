"""The one batch cutter (fieldasr.batching.cut_batches) and the training sampler built on it."""
from __future__ import annotations

import random

import pytest

from fieldasr.batching import cut_batches, padding_ratio
from fieldasr.train.batching import duration_batch_sampler

_RANDOM = random.Random(11)
DURATIONS = [_RANDOM.uniform(0.5, 12.0) for _ in range(300)]


def padded(batch, durations):
    return max(durations[i] for i in batch) * len(batch)


def breaks_a_limit(batch, durations, budget, max_items, max_padding):
    real = sum(durations[i] for i in batch)
    return (padded(batch, durations) > budget or (max_items is not None and len(batch) > max_items)
            or (max_padding is not None and padded(batch, durations) - real > max_padding * padded(batch, durations)))


@pytest.mark.parametrize("max_items, max_padding", [(None, None), (7, None), (None, 0.1), (5, 0.05)])
@pytest.mark.parametrize("ordering", ["shuffled", "ascending", "descending"])
def test_batches_respect_every_limit_and_each_cut_was_needed(ordering, max_items, max_padding):
    order = list(range(len(DURATIONS)))
    if ordering == "shuffled":
        random.Random(0).shuffle(order)
    else:
        order.sort(key=DURATIONS.__getitem__, reverse=ordering == "descending")
    batches = cut_batches(DURATIONS, order, 40.0, max_items=max_items, max_padding_fraction=max_padding)
    assert [i for batch in batches for i in batch] == order  # every item once, order kept
    for batch in batches:
        assert len(batch) == 1 or not breaks_a_limit(batch, DURATIONS, 40.0, max_items, max_padding)
    for batch, following in zip(batches, batches[1:]):  # greedy: the next item did not fit
        assert breaks_a_limit(batch + following[:1], DURATIONS, 40.0, max_items, max_padding)


def test_an_item_longer_than_the_budget_gets_its_own_batch():
    assert cut_batches([1.0, 50.0, 1.0], [0, 1, 2], 10.0) == [[0], [1], [2]]
    assert cut_batches([], [], 10.0) == []


def test_training_batches_pad_under_five_percent_with_no_more_steps_than_speechbrain():
    from speechbrain.dataio.sampler import DynamicBatchSampler

    generator = random.Random(0)
    durations = [generator.uniform(1.0, 12.0) for _ in range(120)]  # benchmarks/train_throughput.py's data
    reference = list(DynamicBatchSampler(durations, max_batch_length=60.0, num_buckets=10, lengths_list=durations,
                                         shuffle=True, batch_ordering="random", seed=0))
    ours = duration_batch_sampler(durations, 60.0, seed=0)
    for epoch in range(3):
        ours.set_epoch(epoch)
        batches = list(ours)
        assert sorted(i for batch in batches for i in batch) == list(range(len(durations)))
        assert all(padded(batch, durations) <= 60.0 for batch in batches)
        assert padding_ratio(batches, durations) < 0.05 < padding_ratio(reference, durations)
        assert len(batches) <= len(reference)
