"""Batches of similar duration: SpeechBrain's DynamicBatchSampler, and language-balanced sampling.

Both samplers give the same batches for the same (seed, epoch), which is what lets an interrupted
run resume mid-epoch in the same order. `padding_ratio` measures the share of padded audio.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from speechbrain.dataio.sampler import DynamicBatchSampler

from fieldasr.errors import FieldasrError


class BatchingError(FieldasrError):
    """Batching options that cannot work with this data."""


@dataclass(frozen=True)
class BatchingReport:
    num_batches: int
    padding_ratio: float  # padded seconds / (real + padded) seconds
    mean_batch_duration: float  # real seconds per batch
    oversized_examples: int  # longer than max_batch_duration: each alone in its batch


def padding_ratio(batches: Sequence[Sequence[int]], durations: Sequence[float]) -> float:
    real = sum(durations[i] for batch in batches for i in batch)
    padded = sum(max(durations[i] for i in batch) * len(batch) for batch in batches if batch)
    return 0.0 if padded == 0 else (padded - real) / padded


def batching_report(batches: Sequence[Sequence[int]], durations: Sequence[float], max_batch_duration: float) -> BatchingReport:
    real = sum(durations[i] for batch in batches for i in batch)
    return BatchingReport(
        num_batches=len(batches),
        padding_ratio=padding_ratio(batches, durations),
        mean_batch_duration=real / max(1, len(batches)),
        oversized_examples=sum(1 for d in durations if d > max_batch_duration),
    )


def duration_batch_sampler(
    durations: Sequence[float], max_batch_duration: float, num_buckets: int = 10, seed: int = 0,
    shuffle: bool = True, max_batch_size: int | None = None,
) -> DynamicBatchSampler:
    """SpeechBrain's bucketed dynamic batching: each batch holds at most `max_batch_duration` seconds, padding included."""
    if not durations:
        raise BatchingError("no training examples to batch; check the manifests and the filters' reports.")
    if max_batch_duration <= 0:
        raise BatchingError(f"max_batch_duration must be positive, got {max_batch_duration}.")
    return DynamicBatchSampler(
        list(durations), max_batch_length=max_batch_duration, num_buckets=min(num_buckets, len(durations)),
        lengths_list=list(durations), shuffle=shuffle, batch_ordering="random" if shuffle else "ascending",
        max_batch_ex=max_batch_size, seed=seed,
    )


class FixedBatchSampler(torch.utils.data.Sampler):
    """The same precomputed batches (lists of example indices) every epoch, e.g. from `fixed_size_batches`."""

    def __init__(self, batches: Sequence[Sequence[int]]) -> None:
        self.batches = [list(batch) for batch in batches]

    def set_epoch(self, epoch: int) -> None:  # the Trainer's sampler contract; nothing varies by epoch
        pass

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def fixed_size_batches(num_examples: int, batch_size: int, seed: int = 0) -> list[list[int]]:
    """Shuffled batches of `batch_size` regardless of duration (the baseline dynamic batching is compared with)."""
    order = torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[start:start + batch_size] for start in range(0, num_examples, batch_size)]


def language_sampling_probabilities(counts: Mapping[str, int], alpha: float) -> dict[str, float]:
    """p(language) ∝ count^alpha: alpha = 1 keeps the data's proportions, alpha = 0 samples languages uniformly."""
    if not 0 <= alpha <= 1:
        raise BatchingError(f"alpha must lie in [0, 1], got {alpha}.")
    weights = {language: count ** alpha for language, count in counts.items() if count > 0}
    total = sum(weights.values())
    return {language: weight / total for language, weight in sorted(weights.items())}


class LanguageBalancedBatchSampler(torch.utils.data.Sampler):
    """Temperature sampling of languages (XLS-R style), then duration-sorted batches within pools.

    Each epoch draws `epoch_size` examples (default: the dataset size): a language by
    `language_sampling_probabilities(counts, alpha)`, then an example of it uniformly (small
    languages are repeated, large ones subsampled). Draws are sorted by duration in pools of
    `pool_size` and cut into batches of at most `max_batch_duration` padded seconds.
    """

    def __init__(
        self, durations: Sequence[float], languages: Sequence[str], max_batch_duration: float, alpha: float = 0.5,
        seed: int = 0, epoch_size: int | None = None, pool_size: int = 256, max_batch_size: int | None = None,
    ) -> None:
        if len(durations) != len(languages) or not durations:
            raise BatchingError(f"need one language per example and at least one example (got {len(durations)} durations, {len(languages)} languages).")
        self.durations = list(durations)
        self.max_batch_duration = max_batch_duration
        self.seed, self.pool_size, self.max_batch_size = seed, pool_size, max_batch_size
        self.epoch_size = epoch_size or len(durations)
        self.by_language: dict[str, list[int]] = {}
        for index, language in enumerate(languages):
            self.by_language.setdefault(language, []).append(index)
        self.probabilities = language_sampling_probabilities(Counter(languages), alpha)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        names = list(self.probabilities)
        chosen = torch.multinomial(torch.tensor([self.probabilities[n] for n in names]), self.epoch_size, replacement=True, generator=generator)
        draws = []
        for language_index in chosen.tolist():
            members = self.by_language[names[language_index]]
            draws.append(members[int(torch.randint(len(members), (1,), generator=generator))])
        batches = []
        for start in range(0, len(draws), self.pool_size):
            batches.extend(self._cut(sorted(draws[start:start + self.pool_size], key=self.durations.__getitem__)))
        order = torch.randperm(len(batches), generator=generator).tolist()
        self.batches = [batches[i] for i in order]

    def _cut(self, sorted_indices: list[int]) -> list[list[int]]:
        batches, current = [], []
        for index in sorted_indices:  # ascending: the newest example is the longest
            too_long = (len(current) + 1) * self.durations[index] > self.max_batch_duration
            too_many = self.max_batch_size is not None and len(current) >= self.max_batch_size
            if current and (too_long or too_many):
                batches.append(current)
                current = []
            current.append(index)
        return batches + ([current] if current else [])

    def __iter__(self) -> Iterator[list[int]]:
        return iter(list(self.batches))

    def __len__(self) -> int:
        return len(self.batches)


class ShardedBatchSampler(torch.utils.data.Sampler):
    """One DDP rank's share of a batch sampler: batches rank, rank + world_size, ...

    When the batches do not divide evenly, the first ones are repeated, so that every rank takes
    the same number of steps (DDP needs all ranks in every gradient exchange).
    """

    def __init__(self, batch_sampler: torch.utils.data.Sampler, rank: int, world_size: int) -> None:
        self.batch_sampler, self.rank, self.world_size = batch_sampler, rank, world_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(self.batch_sampler)
        padded = batches + batches[: len(self) * self.world_size - len(batches)]
        return iter(padded[self.rank :: self.world_size])

    def __len__(self) -> int:
        return -(-len(self.batch_sampler) // self.world_size)
