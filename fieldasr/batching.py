"""Cutting items into batches of bounded padded seconds: the one batch cutter of training, SSL replay and
transcription.

A batch is padded to its longest item, so its cost in memory and compute is `longest × items` padded
seconds; that is what `max_padded_seconds` bounds. Callers choose the order (sorted, sorted within pools,
...); the cutter walks it and starts a new batch when the next item would break a limit. Pure Python, so
transcription can use it without loading the training stack.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def cut_batches(
    durations: Sequence[float],
    order: Iterable[int],
    max_padded_seconds: float,
    *,
    max_items: int | None = None,
    max_padding_fraction: float | None = None,
) -> list[list[int]]:
    """Indices of `order`, in that order, cut into consecutive batches.

    A batch ends before the item that would make its padded seconds exceed `max_padded_seconds`, its size
    exceed `max_items`, or its padding (padded minus real seconds, as a share of padded) exceed
    `max_padding_fraction`. An item longer than `max_padded_seconds` gets a batch of its own. In duration
    order, the padding limit matters for short items: 30 items of 1-2 s fit a 60 s budget but waste a quarter
    of it; the limit cuts them into batches of near-equal length instead.
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = real = 0.0
    for index in order:
        duration = durations[index]
        grown_longest, grown_real, grown_size = max(longest, duration), real + duration, len(batch) + 1
        padded = grown_longest * grown_size
        if batch and (
            padded > max_padded_seconds
            or (max_items is not None and grown_size > max_items)
            or (max_padding_fraction is not None and padded - grown_real > max_padding_fraction * padded)
        ):
            batches.append(batch)
            batch, grown_longest, grown_real = [], duration, duration
        batch.append(index)
        longest, real = grown_longest, grown_real
    if batch:
        batches.append(batch)
    return batches


def padding_ratio(batches: Sequence[Sequence[int]], durations: Sequence[float]) -> float:
    """Padded seconds that are not audio, as a share of all padded seconds processed."""
    real = sum(durations[i] for batch in batches for i in batch)
    padded = sum(max(durations[i] for i in batch) * len(batch) for batch in batches if batch)
    return 0.0 if padded == 0 else (padded - real) / padded
