"""Initialisers that build a new token from similar source tokens: WECHSEL, FOCUS, CLP-Transfer, OFA.

They differ in the space where similarity is measured and in how similarities become weights:
- WECHSEL (Minixhofer et al. 2022): aligned static fastText vectors of source and target tokens;
  k = 10 nearest source tokens, softmax of cosine / 0.1.
- FOCUS (Dobler & de Melo 2023): fastText trained on the target text tokenised with the target tokenizer;
  sparsemax over cosine similarity to the overlapping tokens.
- CLP-Transfer (Ostendorff & Rehm 2023): the input embeddings of a small model that already uses the target
  tokenizer; similarity to overlapping tokens, normalised to sum one.
- OFA (Liu et al. 2024): like WECHSEL but on low-rank coordinates of an SVD of the source embeddings.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import entmax
import numpy as np
import torch
from gensim.models import FastText

from fieldasr.transfer.dictionary import translation_copies
from fieldasr.transfer.embeddings import (Alignment, normalise_rows, top_k_cosine, train_static_embeddings,
                                         word_vectors)
from fieldasr.transfer.errors import MissingResourceError, TokenizerMismatchError
from fieldasr.transfer.initialisers import (COMBINED, RANDOM, EmbeddingInitialiser, Fill, batch_size_for,
                                            source_distribution_sample, weighted_rows)
from fieldasr.transfer.vocabulary import VocabularyPair, surface_text


# The record of which source rows built a token keeps at most this many, the strongest: sparsemax over flat
# similarities can keep thousands of anchors per token, and 125k new tokens x thousands of (id, weight) pairs took
# more than 24 GB at XLM-R scale (benchmarks/lm_transfer_memory.py). The rows themselves use every weight.
RECORDED_CONTRIBUTORS = 64


def softmax_weights(similarities: np.ndarray, temperature: float) -> np.ndarray:
    scaled = similarities / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)  # stable; the result is unchanged
    weights = np.exp(scaled)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def aligned_token_vectors(vocabularies: VocabularyPair, source_words: FastText, target_words: FastText,
                          alignment: Alignment | None) -> tuple[np.ndarray, np.ndarray]:
    """Static vectors of every source and target token's letters, the source rotated into the target space."""
    source_texts = [surface_text(token, vocabularies.source_style) for token in vocabularies.source_tokens]
    target_texts = [surface_text(token, vocabularies.target_style) for token in vocabularies.target_tokens]
    source_vectors = word_vectors(source_words, source_texts)
    if alignment is not None:
        source_vectors = source_vectors @ alignment.rotation
    return source_vectors, word_vectors(target_words, target_texts)


def neighbour_fill(queries: np.ndarray, keys: np.ndarray, key_values: np.ndarray, key_ids: np.ndarray,
                    new_ids: np.ndarray, k: int, temperature: float, fallback: np.ndarray) -> Fill:
    """k nearest keys by cosine, softmax(sim / temperature) weights over their values; zero queries fall back."""
    indices, similarities = top_k_cosine(queries, keys, k)
    weights = softmax_weights(similarities, temperature)
    rows = weighted_rows(indices, weights, key_values)
    has_vector = np.abs(queries).sum(axis=1) > 0
    rows[~has_vector] = fallback[~has_vector]
    combinations = {int(new_ids[i]): (key_ids[indices[i]], weights[i]) for i in np.flatnonzero(has_vector)}
    origin = [COMBINED if found else RANDOM for found in has_vector]
    return Fill(rows.astype(np.float32), origin, combinations)


class WechselInitialiser(EmbeddingInitialiser):
    """WECHSEL with static embeddings trained locally (see `embeddings.train_static_embeddings`).

    Inputs: `source_words` and `target_words` (gensim fastText models on source/target text) and the
    `alignment` from `align_static_embeddings` (None if the two spaces are already aligned). With the bilingual
    `dictionary`, a target word token whose translation is a whole source token takes that row ('translated').
    """

    name = "wechsel"
    copy_overlap = False  # WECHSEL recomputes every token and copies only special tokens

    def __init__(self, source_words: FastText, target_words: FastText, alignment: Alignment | None,
                 k: int = 10, temperature: float = 0.1, dictionary: Sequence[tuple[str, str]] = (),
                 seed: int = 0) -> None:
        super().__init__(seed)
        self.source_words, self.target_words, self.alignment = source_words, target_words, alignment
        self.k, self.temperature, self.dictionary = k, temperature, dictionary

    def translations(self, vocabularies: VocabularyPair) -> dict[int, int]:
        return translation_copies(vocabularies, self.dictionary)

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        source_vectors, target_vectors = aligned_token_vectors(vocabularies, self.source_words, self.target_words,
                                                               self.alignment)
        source_ids = np.arange(len(vocabularies.source_tokens))
        fallback = source_distribution_sample(source, len(new_ids), rng)
        fill = neighbour_fill(target_vectors[new_ids], source_vectors, source[:len(source_ids)], source_ids, new_ids,
                               self.k, self.temperature, fallback)
        if self.alignment is not None:
            fill.report.update(dictionary_pairs_used=self.alignment.pairs_used,
                               dictionary_missing_both=self.alignment.missing_both)
        return fill


def tokenised_lines(lines: Sequence[str], tokenizer) -> list[str]:
    """Each line as its target tokens (native spelling) separated by spaces: FOCUS's fastText corpus."""
    return [" ".join(tokenizer.tokenize(line)) for line in lines]


def train_focus_auxiliary(lines: Sequence[str], tokenizer, min_count: int = 10, dim: int = 100, epochs: int = 3,
                          seed: int = 0) -> FastText:
    """FOCUS's token-level fastText (paper defaults: dim 100, 3 epochs, min_count 10).

    On a field corpus of a few thousand lines lower `min_count` (e.g. to 1), or most new tokens have no
    vector and fall back to random; the result's report counts them.
    """
    return train_static_embeddings(tokenised_lines(lines, tokenizer), dim=dim, min_count=min_count, epochs=epochs,
                                   seed=seed)


class FocusInitialiser(EmbeddingInitialiser):
    """FOCUS: new token = sparsemax-weighted combination of overlapping tokens' source embeddings.

    Input: `auxiliary` — fastText over target text tokenised by the target tokenizer (`train_focus_auxiliary`).
    Tokens the auxiliary model never saw (fewer than min_count occurrences) get N(mean, std) rows, as in FOCUS.
    """

    name = "focus"

    def __init__(self, auxiliary: FastText, seed: int = 0) -> None:
        super().__init__(seed)
        self.auxiliary = auxiliary

    def _seen(self, token: str) -> bool:
        return token in self.auxiliary.wv.key_to_index

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        tokens = vocabularies.target_tokens
        anchors = np.array([t for t in copies if self._seen(tokens[t])], dtype=np.int64)
        if len(anchors) == 0:
            raise MissingResourceError(
                "FOCUS found no overlapping token with an auxiliary fastText vector; lower min_count of "
                "train_focus_auxiliary or give more target text")
        anchor_vectors = self.auxiliary.wv[[tokens[t] for t in anchors]]
        anchor_source_ids = np.array([copies[int(t)] for t in anchors], dtype=np.int64)
        anchor_source = source[anchor_source_ids]
        seen = np.array([self._seen(tokens[t]) for t in new_ids], dtype=bool)
        rows = source_distribution_sample(source, len(new_ids), rng)
        combinations = {}
        seen_positions = np.flatnonzero(seen)
        anchor_unit = normalise_rows(anchor_vectors).astype(np.float32).T  # once, not per batch
        batch = batch_size_for(len(anchors), 1 << 21)  # sparsemax sorts and copies each batch several times
        truncated = 0
        for start in range(0, len(seen_positions), batch):
            positions = seen_positions[start:start + batch]
            queries = self.auxiliary.wv[[tokens[new_ids[p]] for p in positions]]
            similarities = normalise_rows(queries).astype(np.float32) @ anchor_unit
            weights = entmax.sparsemax(torch.from_numpy(similarities), dim=-1).numpy()
            rows[positions] = weights @ anchor_source
            for row, position in enumerate(positions):
                chosen = np.flatnonzero(weights[row] > 0)
                if len(chosen) > RECORDED_CONTRIBUTORS:
                    truncated += 1
                    strongest = np.argpartition(-weights[row, chosen], RECORDED_CONTRIBUTORS)[:RECORDED_CONTRIBUTORS]
                    chosen = np.sort(chosen[strongest])
                combinations[int(new_ids[position])] = (anchor_source_ids[chosen], weights[row, chosen])
        origin = [COMBINED if flag else RANDOM for flag in seen]
        return Fill(rows, origin, combinations, {"focus_anchors": len(anchors), "focus_unseen_new": int((~seen).sum()),
                                                 "focus_records_truncated": truncated})


class ClpInitialiser(EmbeddingInitialiser):
    """CLP-Transfer: overlap copied; new token = similarity-weighted mean of overlapping tokens' source rows.

    Input: `helper_embeddings` — the input embedding matrix of a small model trained with the target tokenizer.
    Similarities are measured in that helper space; negative ones are set to zero (the paper normalises the raw
    cosines, whose sum can come near zero and blow the combination up). `top_k=None` uses every overlapping token.
    New tokens are processed in batches, so the (new × overlapping) similarities never exist all at once; the
    combinations (`combinations`) are computed again when they are read, for the same reason.
    """

    name = "clp"

    def __init__(self, helper_embeddings: np.ndarray, top_k: int | None = None, seed: int = 0) -> None:
        super().__init__(seed)
        self.helper = np.asarray(helper_embeddings, dtype=np.float32)
        self.top_k = top_k

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        if self.helper.shape[0] < len(vocabularies.target_tokens):
            raise TokenizerMismatchError(
                f"the helper model embeds {self.helper.shape[0]} tokens but the target tokenizer has "
                f"{len(vocabularies.target_tokens)}; the helper must use the target tokenizer")
        anchors = np.array(list(copies), dtype=np.int64)
        if len(anchors) == 0:
            raise MissingResourceError("CLP-Transfer needs overlapping tokens; the two vocabularies share none")
        weigh = _ClpWeights(self.helper, anchors, self.top_k)
        anchor_source = source[[copies[int(t)] for t in anchors]]
        rows = np.empty((len(new_ids), source.shape[1]), dtype=np.float32)
        has_weight = np.empty(len(new_ids), dtype=bool)
        batch = batch_size_for(len(anchors))
        for start in range(0, len(new_ids), batch):
            weights = weigh(new_ids[start:start + batch])
            rows[start:start + batch] = weights @ anchor_source
            has_weight[start:start + batch] = weights.sum(axis=1) > 0
        rows[~has_weight] = source_distribution_sample(source, int((~has_weight).sum()), rng)
        anchor_source_ids = np.array([copies[int(t)] for t in anchors])
        combinations = _ClpCombinations(weigh, anchor_source_ids, new_ids[has_weight])
        return Fill(rows, [COMBINED if flag else RANDOM for flag in has_weight], combinations)


class _ClpWeights:
    """Weights of the overlapping (anchor) tokens for a batch of new tokens: clipped cosine similarity in the
    helper space, only the `top_k` largest kept, normalised to sum one (all zeros when nothing is similar)."""

    def __init__(self, helper: np.ndarray, anchors: np.ndarray, top_k: int | None) -> None:
        self.helper, self.anchor_unit = helper, normalise_rows(helper[anchors]).astype(np.float32)
        self.top_k = None if top_k is None or top_k >= len(anchors) else top_k

    def __call__(self, token_ids: np.ndarray) -> np.ndarray:
        # in place: a batch's (tokens × anchors) matrix is the largest thing CLP allocates
        weights = normalise_rows(self.helper[token_ids]).astype(np.float32) @ self.anchor_unit.T
        np.clip(weights, 0.0, None, out=weights)
        if self.top_k is not None:
            below = np.argpartition(-weights, self.top_k, axis=1)[:, self.top_k:]
            np.put_along_axis(weights, below, 0.0, axis=1)
        totals = weights.sum(axis=1, keepdims=True)
        np.divide(weights, np.maximum(totals, 1e-8), out=weights)
        weights[totals[:, 0] <= 1e-8] = 0.0
        return weights


class _ClpCombinations(Mapping):
    """token id → (source ids, weights) of its non-zero weights, computed when asked for."""

    def __init__(self, weigh: _ClpWeights, anchor_source_ids: np.ndarray, token_ids: np.ndarray) -> None:
        self.weigh, self.anchor_source_ids = weigh, anchor_source_ids
        self.token_ids = {int(token) for token in token_ids}

    def __getitem__(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        if token not in self.token_ids:
            raise KeyError(token)
        weights = self.weigh(np.array([token]))[0]
        chosen = np.flatnonzero(weights)
        return self.anchor_source_ids[chosen], weights[chosen]

    def __iter__(self):
        return iter(sorted(self.token_ids))

    def __len__(self) -> int:
        return len(self.token_ids)
