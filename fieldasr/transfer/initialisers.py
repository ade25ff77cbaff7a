"""Embedding initialisers for a new (target) vocabulary: one interface, one class per method.

Every initialiser gets the source/target vocabularies and the source embedding matrix and returns an
`InitialisedEmbeddings`: the target matrix, where each row came from, and (for methods that average
source rows) the source ids and weights used. Resources a method needs (static embeddings, a helper
model) are constructor arguments; `make_initialiser` names any that are missing.

Here: random (source distribution), mean, multivariate normal (Hewitt 2021) and random convex combinations
(convex hull). The neighbour-based methods (WECHSEL, FOCUS, CLP-Transfer, OFA) are in `neighbour_initialisers`,
CW2V (constrained word2vec) in `cw2v`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from fieldasr.transfer.errors import TokenizerMismatchError
from fieldasr.transfer.vocabulary import VocabularyPair, is_special_token

COPIED, COMBINED, RANDOM, MEAN = "copied", "combined", "random", "mean"
TRANSLATED = "translated"  # the row of its dictionary translation (WECHSEL/OFA with a dictionary)


@dataclass(frozen=True)
class InitialisedEmbeddings:
    embeddings: np.ndarray  # (target vocabulary size, dim), float32
    origin: tuple[str, ...]  # per target token: copied | translated | combined | random | mean
    combinations: Mapping[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # id → (source ids, weights)
    report: Mapping[str, float] = field(default_factory=dict)

    def count(self, origin: str) -> int:
        return sum(item == origin for item in self.origin)

    def summary(self) -> dict[str, float]:
        counts = {name: self.count(name) for name in (COPIED, COMBINED, RANDOM, MEAN)}
        if TRANSLATED in self.origin:
            counts[TRANSLATED] = self.count(TRANSLATED)
        return {**counts, **self.report}


@dataclass
class Fill:
    """What a method wrote for the tokens it had to initialise (rows not copied)."""

    rows: np.ndarray
    origin: list[str]
    combinations: Mapping[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    report: dict[str, float] = field(default_factory=dict)


def batch_size_for(row_floats: int, max_floats_per_batch: int = 1 << 22) -> int:
    """Rows per batch so that a batch of rows of `row_floats` floats stays within `max_floats_per_batch` (16 MB
    in float32; the few temporaries of a batch stay far below one 250k × 768 matrix, 730 MB)."""
    return max(1, max_floats_per_batch // max(1, row_floats))


def weighted_rows(indices: np.ndarray, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """rows[i] = Σ_j weights[i, j] · values[indices[i, j]], in batches: the (n, k, dim) gather of all rows at
    once would be k times the size of the result (7.7 GB for 250k tokens, k = 10, dim 768)."""
    rows = np.empty((len(indices), values.shape[1]), dtype=np.float32)
    batch = batch_size_for(indices.shape[1] * values.shape[1])
    for start in range(0, len(indices), batch):
        stop = start + batch
        rows[start:stop] = np.einsum("nk,nkd->nd", weights[start:stop], values[indices[start:stop]])
    return rows


def column_mean_and_covariance(source: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (full: dim × dim; else the variances) of the rows, in float64, summed over batches of
    rows: np.std and np.cov first make whole-matrix float64 and centred copies (3 GB at 250k × 768)."""
    mean = source.mean(0, dtype=np.float64)
    dim = source.shape[1]
    total = np.zeros((dim, dim) if full else dim, dtype=np.float64)
    batch = batch_size_for(dim)
    for start in range(0, len(source), batch):
        centred = source[start:start + batch].astype(np.float64)
        centred -= mean
        total += centred.T @ centred if full else np.square(centred, out=centred).sum(0)
    return mean, total / max(1, len(source) - (1 if full else 0))


def source_distribution_sample(source: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Per-dimension normal with the source's mean and standard deviation (WECHSEL's/FOCUS's fallback).

    Drawn batch by batch into float32 (the same numbers as one call: the generator's stream is sequential)."""
    mean, variance = column_mean_and_covariance(source, full=False)
    rows = np.empty((count, source.shape[1]), dtype=np.float32)
    batch = batch_size_for(source.shape[1])
    for start in range(0, count, batch):
        rows[start:start + batch] = rng.normal(mean, np.sqrt(variance), size=(min(batch, count - start), len(mean)))
    return rows


class EmbeddingInitialiser(ABC):
    """Copy the tokens the source already has (by canonical form), then `fill` the rest."""

    name: ClassVar[str]
    copy_overlap: bool = True  # False: copy only special tokens (<s>, <pad>, ...), as WECHSEL does

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def initialise(self, vocabularies: VocabularyPair, source_embeddings: np.ndarray) -> InitialisedEmbeddings:
        source = np.asarray(source_embeddings, dtype=np.float32)
        if source.ndim != 2 or source.shape[0] < len(vocabularies.source_tokens):
            raise TokenizerMismatchError(
                f"the source tokenizer has {len(vocabularies.source_tokens)} tokens but the source embedding matrix "
                f"has shape {source.shape}; give the tokenizer that belongs to the source model")
        identical = self._copies(vocabularies)
        translated = {t: s for t, s in self.translations(vocabularies).items() if t not in identical}
        copies = {**identical, **translated}
        new_ids = np.array([i for i in range(len(vocabularies.target_tokens)) if i not in copies], dtype=np.int64)
        target = np.empty((len(vocabularies.target_tokens), source.shape[1]), dtype=np.float32)
        origin = [TRANSLATED if i in translated else COPIED for i in range(len(target))]
        copied_target, copied_source = np.array(list(copies), dtype=np.int64), np.array(list(copies.values()), dtype=np.int64)
        batch = batch_size_for(source.shape[1])
        for start in range(0, len(copied_target), batch):  # no temporary copy of every copied row at once
            target[copied_target[start:start + batch]] = source[copied_source[start:start + batch]]
        if len(new_ids):
            fill = self.fill(vocabularies, source, copies, new_ids, np.random.default_rng(self.seed))
            target[new_ids] = fill.rows
            for position, token_id in enumerate(new_ids):
                origin[token_id] = fill.origin[position]
        else:
            fill = Fill(np.empty((0, source.shape[1])), [])
        return InitialisedEmbeddings(target, tuple(origin), fill.combinations,
                                     {"overlap": len(identical), **fill.report})

    def translations(self, vocabularies: VocabularyPair) -> dict[int, int]:
        """target id → source id of rows taken from a translation rather than an identical spelling (none here)."""
        return {}

    def _copies(self, vocabularies: VocabularyPair) -> dict[int, int]:
        overlap = vocabularies.overlap()
        if self.copy_overlap:
            return overlap
        specials = dict(vocabularies.special_pairs)
        return {t: s for t, s in overlap.items() if t in specials or is_special_token(vocabularies.target_tokens[t])}

    @abstractmethod
    def fill(self, vocabularies: VocabularyPair, source: np.ndarray, copies: dict[int, int], new_ids: np.ndarray,
             rng: np.random.Generator) -> Fill:
        """Rows for the target tokens `new_ids` (those not copied)."""


class RandomInitialiser(EmbeddingInitialiser):
    """New rows drawn from N(source mean, source std) per dimension."""

    name = "random"

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        return Fill(source_distribution_sample(source, len(new_ids), rng), [RANDOM] * len(new_ids))


class MeanInitialiser(EmbeddingInitialiser):
    """Every new row is the mean source embedding."""

    name = "mean"

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        return Fill(np.repeat(source.mean(0, keepdims=True), len(new_ids), axis=0), [MEAN] * len(new_ids))


class MultivariateNormalInitialiser(EmbeddingInitialiser):
    """New rows drawn from N(μ, scale·Σ) of the source embeddings; Hewitt (2021) recommends scale = 1e-5."""

    name = "multivariate-normal"

    def __init__(self, covariance_scale: float = 1e-5, seed: int = 0) -> None:
        super().__init__(seed)
        self.covariance_scale = covariance_scale

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        mean, covariance = column_mean_and_covariance(source, full=True)
        covariance *= self.covariance_scale
        rows = np.empty((len(new_ids), source.shape[1]), dtype=np.float32)
        batch = batch_size_for(4 * source.shape[1])  # numpy holds a few float64 copies of each batch
        for start in range(0, len(new_ids), batch):
            count = min(batch, len(new_ids) - start)
            rows[start:start + count] = rng.multivariate_normal(mean, covariance, size=count, method="eigh")
        return Fill(rows, [RANDOM] * len(new_ids))


class ConvexHullInitialiser(EmbeddingInitialiser):
    """Each new row is a random convex combination of `k` random source rows (Dirichlet(1) weights).

    A baseline for the convex-hull argument of Mundra et al. (2024): new rows inside the hull of the source
    embeddings, with no information about the token. CW2V, which learns the combination from the target
    text, is `cw2v.ConstrainedWord2VecInitialiser`.
    """

    name = "convex-hull"

    def __init__(self, k: int = 10, seed: int = 0) -> None:
        super().__init__(seed)
        self.k = k

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        k = min(self.k, len(source))
        chosen = np.stack([rng.choice(len(source), size=k, replace=False) for _ in new_ids])
        weights = rng.dirichlet(np.ones(k), size=len(new_ids)).astype(np.float32)
        rows = weighted_rows(chosen, weights, source)
        combinations = {int(t): (chosen[i], weights[i]) for i, t in enumerate(new_ids)}
        return Fill(rows, [COMBINED] * len(new_ids), combinations)
