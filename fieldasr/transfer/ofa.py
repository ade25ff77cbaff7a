"""OFA (Liu et al. 2024): initialise a target vocabulary in a low-rank factorisation of the source embeddings.

The source matrix E (V×D) is split by SVD into coordinates U_r (V×r) and primitives S_r·V_rᵀ (r×D).
Target coordinates: overlapping tokens keep their source coordinates; new tokens take the softmax-weighted
(k = 10, temperature 0.1) coordinates of their nearest source tokens in a shared word-vector space;
tokens without a vector are drawn from the coordinates' distribution. The target matrix is coordinates ×
primitives. OFA's published multilingual vectors (ColexNet+) cannot be had here, so the shared space is
the locally trained, Procrustes-aligned fastText space also used by WECHSEL.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from gensim.models import FastText

from fieldasr.transfer.dictionary import translation_copies
from fieldasr.transfer.embeddings import Alignment
from fieldasr.transfer.initialisers import (EmbeddingInitialiser, Fill, InitialisedEmbeddings, batch_size_for,
                                            source_distribution_sample)
from fieldasr.transfer.neighbour_initialisers import neighbour_fill, aligned_token_vectors
from fieldasr.transfer.vocabulary import VocabularyPair

NUMERICAL_RANK_TOLERANCE = 1e-6  # singular values below this fraction of the largest are dropped


@dataclass(frozen=True)
class Factorisation:
    coordinates: np.ndarray  # (vocabulary, rank)
    primitives: np.ndarray  # (rank, dim)

    def product(self) -> np.ndarray:
        return (self.coordinates @ self.primitives).astype(np.float32)


def factorise_embeddings(embeddings: np.ndarray, rank: int) -> Factorisation:
    """Truncated SVD: E ≈ U_r · (S_r V_rᵀ). The rank is capped at min(vocabulary, dim) and at E's numerical rank.

    Computed from the eigenvectors V of the (dim × dim) Gram matrix EᵀE, summed over batches of rows, and
    U_r = E V_r / S_r row batch by row batch: memory stays at the size of the result, where np.linalg.svd of a
    250k × 768 matrix holds several float64 copies of it (about 5 GB). Squaring the singular values costs
    precision only for those below ~1e-6 of the largest, which are dropped (U is undefined for them anyway).
    """
    embeddings = np.asarray(embeddings)
    batch = batch_size_for(embeddings.shape[1])
    gram = np.zeros((embeddings.shape[1], embeddings.shape[1]), dtype=np.float64)
    for start in range(0, len(embeddings), batch):
        rows = embeddings[start:start + batch].astype(np.float64)
        gram += rows.T @ rows
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1]
    singular = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
    rank = min(rank, len(embeddings), int((singular > singular[0] * NUMERICAL_RANK_TOLERANCE).sum()))
    right = eigenvectors[:, order[:rank]]  # (dim, rank)
    coordinates = np.empty((len(embeddings), rank), dtype=np.float32)
    for start in range(0, len(embeddings), batch):
        coordinates[start:start + batch] = (embeddings[start:start + batch].astype(np.float64) @ right) / singular[:rank]
    return Factorisation(coordinates, (singular[:rank, None] * right.T).astype(np.float32))


class OfaInitialiser(EmbeddingInitialiser):
    """Inputs as for WECHSEL (`source_words`, `target_words`, `alignment`, optional `dictionary`: translated word
    tokens take their translation's coordinates) plus the factorisation `rank`."""

    name = "ofa"

    def __init__(self, source_words: FastText, target_words: FastText, alignment: Alignment | None,
                 rank: int = 100, k: int = 10, temperature: float = 0.1, dictionary: Sequence[tuple[str, str]] = (),
                 seed: int = 0) -> None:
        super().__init__(seed)
        self.source_words, self.target_words, self.alignment = source_words, target_words, alignment
        self.rank, self.k, self.temperature, self.dictionary = rank, k, temperature, dictionary
        self.last_factorisation: Factorisation | None = None

    def translations(self, vocabularies: VocabularyPair) -> dict[int, int]:
        return translation_copies(vocabularies, self.dictionary)

    def initialise_factorised(self, vocabularies: VocabularyPair,
                              source_embeddings: np.ndarray) -> tuple[InitialisedEmbeddings, Factorisation]:
        """Target coordinates (as `embeddings`) and the shared primitives: OFA's parameter-saving form."""
        source_factorisation = factorise_embeddings(source_embeddings, self.rank)
        coordinates = super().initialise(vocabularies, source_factorisation.coordinates)
        return coordinates, Factorisation(coordinates.embeddings, source_factorisation.primitives)

    def initialise(self, vocabularies: VocabularyPair, source_embeddings: np.ndarray) -> InitialisedEmbeddings:
        coordinates, factorisation = self.initialise_factorised(vocabularies, source_embeddings)
        report = {**coordinates.report, "rank": factorisation.primitives.shape[0]}
        return InitialisedEmbeddings(factorisation.product(), coordinates.origin, coordinates.combinations, report)

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        # `source` here is the source coordinate matrix, not the full embeddings
        source_vectors, target_vectors = aligned_token_vectors(vocabularies, self.source_words, self.target_words,
                                                               self.alignment)
        source_ids = np.arange(len(vocabularies.source_tokens))
        fallback = source_distribution_sample(source, len(new_ids), rng)
        return neighbour_fill(target_vectors[new_ids], source_vectors, source[:len(source_ids)], source_ids, new_ids,
                               self.k, self.temperature, fallback)
