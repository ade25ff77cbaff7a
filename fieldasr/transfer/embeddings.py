"""Static word embeddings trained locally (gensim fastText), their alignment, and batched neighbour search.

WECHSEL and OFA need source and target words in one vector space. Here both spaces are trained on local
text with gensim's fastText (character n-grams give a vector to any subword) and the source space is
rotated onto the target space by orthogonal Procrustes over a bilingual seed dictionary.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from gensim.models import FastText
from scipy.linalg import orthogonal_procrustes

from fieldasr.transfer.errors import DictionaryError

MIN_DICTIONARY_PAIRS = 2  # Procrustes needs at least two pairs; fewer than the dimension is ill-posed (reported)


def train_static_embeddings(lines: Sequence[str], dim: int = 100, min_count: int = 1, epochs: int = 10,
                            seed: int = 0, workers: int = 1) -> FastText:
    """fastText (skip-gram, character 3–6-grams) on whitespace-split lines.

    `min_count` is 1 by default because field corpora are small: with fastText's default of 5 most words
    of a few hundred sentences would get no vector of their own.
    """
    sentences = [line.split() for line in lines]
    model = FastText(vector_size=dim, window=5, min_count=min_count, sg=1, min_n=3, max_n=6, seed=seed,
                     workers=workers)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=epochs)
    return model


def word_vectors(model: FastText, words: Sequence[str]) -> np.ndarray:
    """One vector per word (fastText composes unseen words from n-grams; empty strings get zeros)."""
    vectors = np.zeros((len(words), model.wv.vector_size), dtype=np.float32)
    for index, word in enumerate(words):
        if word:
            vectors[index] = model.wv.get_vector(word)
    return vectors


@dataclass(frozen=True)
class Alignment:
    """The rotation taking source vectors into the target space, and how the dictionary was used."""

    rotation: np.ndarray  # (dim, dim), orthogonal: aligned = source @ rotation
    pairs_used: int
    missing_source: int  # source word not in the source vocabulary
    missing_target: int
    missing_both: int

    @property
    def ill_posed(self) -> bool:
        """Fewer pairs than dimensions: many rotations fit equally well."""
        return self.pairs_used < self.rotation.shape[0]


def align_static_embeddings(source: FastText, target: FastText, dictionary: Sequence[tuple[str, str]]) -> Alignment:
    """Orthogonal Procrustes on the dictionary pairs whose words both models have seen (WECHSEL's step)."""
    if source.wv.vector_size != target.wv.vector_size:
        raise DictionaryError(
            f"source and target embeddings differ in size ({source.wv.vector_size} vs {target.wv.vector_size}); "
            f"train both with the same dim")
    source_rows, target_rows = [], []
    missing = {"source": 0, "target": 0, "both": 0}
    for source_word, target_word in dictionary:
        in_source = source_word in source.wv.key_to_index
        in_target = target_word in target.wv.key_to_index
        if in_source and in_target:
            source_rows.append(source.wv.get_vector(source_word))
            target_rows.append(target.wv.get_vector(target_word))
        elif not in_source and not in_target:
            missing["both"] += 1
        else:
            missing["source" if not in_source else "target"] += 1
    if len(source_rows) < MIN_DICTIONARY_PAIRS:
        raise DictionaryError(
            f"only {len(source_rows)} of {len(dictionary)} dictionary pairs have both words in the embeddings "
            f"({missing['source']} source words, {missing['target']} target words and {missing['both']} pairs "
            f"missing); add pairs of words that occur in the source and target texts")
    rotation, _ = orthogonal_procrustes(np.stack(source_rows), np.stack(target_rows))
    return Alignment(rotation.astype(np.float32), len(source_rows), missing["source"], missing["target"],
                     missing["both"])


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-8)


def top_k_cosine(queries: np.ndarray, keys: np.ndarray, k: int,
                 max_scores_per_batch: int = 1 << 26) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of each query's k most similar keys, best first.

    Batched matrix products keep memory at `max_scores_per_batch` floats (256 MB), so a 250k-token key
    vocabulary is searched in batches of about 270 queries.
    """
    k = min(k, len(keys))
    keys_unit = torch.from_numpy(normalise_rows(keys).astype(np.float32))
    queries_unit = normalise_rows(queries).astype(np.float32)
    batch = max(1, max_scores_per_batch // max(1, len(keys)))
    indices = np.empty((len(queries), k), dtype=np.int64)
    similarities = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), batch):
        scores = torch.from_numpy(queries_unit[start:start + batch]) @ keys_unit.T
        best = torch.topk(scores, k, dim=1)
        indices[start:start + batch] = best.indices.numpy()
        similarities[start:start + batch] = best.values.numpy()
    return indices, similarities
