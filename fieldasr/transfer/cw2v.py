"""CW2V, constrained word2vec (Mundra et al., CoNLL 2024): new tokens learnt by skip-gram inside the source space.

Every new target token's input vector is a convex combination of source embedding rows, softmax(logits) · anchors,
so it stays in the convex hull of the source embeddings (the paper's argument for a good initialisation). Tokens the
source also has are held at their source rows. The combination logits and free context ("output") vectors are
trained by skip-gram with negative sampling on the target text tokenised by the target tokenizer: a new token that
occurs where a source token occurs ends up combining mostly that token's row.

Anchors: every source row when the source vocabulary has at most `max_anchors` tokens; otherwise the rows of the
shared tokens most frequent in the target text, then the lowest source ids, up to `max_anchors`, so the
logits matrix stays (new tokens × max_anchors). Tokens absent from the target text keep uniform weights (the anchors'
mean). Skip-gram here has no subsampling of frequent tokens and a fixed window: field texts are small.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from fieldasr.transfer.errors import TargetTextError
from fieldasr.transfer.initialisers import COMBINED, MEAN, EmbeddingInitialiser, Fill

UNIGRAM_POWER = 0.75  # word2vec's negative-sampling distribution


def skipgram_pairs(sequences: Sequence[Sequence[int]], window: int) -> np.ndarray:
    """(centre, context) id pairs of every token with each token up to `window` positions away in its line."""
    pairs = []
    for sequence in sequences:
        ids = np.asarray(sequence, dtype=np.int64)
        for offset in range(1, window + 1):
            if len(ids) > offset:
                pairs.append(np.stack([ids[:-offset], ids[offset:]], axis=1))
                pairs.append(np.stack([ids[offset:], ids[:-offset]], axis=1))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def choose_anchors(copies: dict[int, int], counts: np.ndarray, source_size: int, max_anchors: int) -> np.ndarray:
    """Source ids whose rows new tokens combine (see the module docstring for the rule)."""
    if source_size <= max_anchors:
        return np.arange(source_size)
    shared = sorted(copies, key=lambda target_id: -counts[target_id])
    chosen = list(dict.fromkeys(copies[target_id] for target_id in shared))[:max_anchors]
    taken = set(chosen)
    for source_id in range(source_size):
        if len(chosen) == max_anchors:
            break
        if source_id not in taken:
            chosen.append(source_id)
    return np.array(chosen, dtype=np.int64)


class ConstrainedWord2VecInitialiser(EmbeddingInitialiser):
    """CW2V. Input: `token_ids`, the target text as target-tokenizer id sequences (`tokenised_ids`)."""

    name = "cw2v"

    def __init__(self, token_ids: Sequence[Sequence[int]], window: int = 5, negatives: int = 5, epochs: int = 5,
                 batch_size: int = 4096, lr: float = 0.05, max_anchors: int = 2048, seed: int = 0) -> None:
        super().__init__(seed)
        self.token_ids = token_ids
        self.window, self.negatives, self.epochs = window, negatives, epochs
        self.batch_size, self.lr, self.max_anchors = batch_size, lr, max_anchors

    def fill(self, vocabularies, source, copies, new_ids, rng) -> Fill:
        size = len(vocabularies.target_tokens)
        pairs = skipgram_pairs(self.token_ids, self.window)
        if len(pairs) == 0 or pairs.max() >= size:
            raise TargetTextError("CW2V needs target text tokenised by the target tokenizer, with lines of two tokens "
                                  "or more; give the target text (--target-text) the tokenizer was trained on")
        counts = np.bincount(pairs[:, 0], minlength=size).astype(np.float64)
        anchors = choose_anchors(copies, counts, len(source), self.max_anchors)
        weights = self._train(pairs, counts, source, anchors, copies, new_ids)
        seen = counts[new_ids] > 0
        combinations = {int(token_id): (anchors, weights[position]) for position, token_id in enumerate(new_ids)
                        if seen[position]}
        return Fill(weights @ source[anchors], [COMBINED if flag else MEAN for flag in seen], combinations,
                    {"cw2v_anchors": len(anchors), "cw2v_unseen_new": int((~seen).sum()),
                     "cw2v_pairs_per_epoch": len(pairs)})

    def _train(self, pairs: np.ndarray, counts: np.ndarray, source: np.ndarray, anchors: np.ndarray,
               copies: dict[int, int], new_ids: np.ndarray) -> np.ndarray:
        """Skip-gram with negative sampling; returns the (new tokens × anchors) convex weights."""
        generator = torch.Generator().manual_seed(self.seed)
        size, dim = len(counts), source.shape[1]
        fixed = torch.zeros(size, dim)  # input vectors of copied tokens; rows of new tokens are computed
        if copies:
            fixed[list(copies)] = torch.from_numpy(source[list(copies.values())])
        position_of = torch.full((size,), -1, dtype=torch.long)
        position_of[torch.from_numpy(new_ids)] = torch.arange(len(new_ids))
        anchor_rows = torch.from_numpy(source[anchors])
        logits = torch.nn.Embedding(len(new_ids), len(anchors), sparse=True)
        context = torch.nn.Embedding(size, dim, sparse=True)
        torch.nn.init.zeros_(logits.weight)  # uniform weights: every new token starts at the anchors' mean
        torch.nn.init.zeros_(context.weight)  # as in word2vec
        optimiser = torch.optim.SparseAdam([logits.weight, context.weight], lr=self.lr)
        noise = torch.from_numpy(counts ** UNIGRAM_POWER)
        pairs_tensor = torch.from_numpy(pairs)
        for _ in range(self.epochs):
            order = torch.randperm(len(pairs_tensor), generator=generator)
            for start in range(0, len(order), self.batch_size):
                batch = pairs_tensor[order[start:start + self.batch_size]]
                centres = self._centre_vectors(batch[:, 0], fixed, position_of, logits, anchor_rows)
                sampled = torch.multinomial(noise, len(batch) * self.negatives, replacement=True,
                                            generator=generator).view(len(batch), self.negatives)
                positive = (centres * context(batch[:, 1])).sum(-1)
                negative = torch.einsum("bd,bkd->bk", centres, context(sampled))
                loss = -(F.logsigmoid(positive).sum() + F.logsigmoid(-negative).sum()) / len(batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return torch.softmax(logits.weight.detach(), -1).numpy().astype(np.float32)

    @staticmethod
    def _centre_vectors(centre_ids: torch.Tensor, fixed: torch.Tensor, position_of: torch.Tensor,
                        logits: torch.nn.Embedding, anchor_rows: torch.Tensor) -> torch.Tensor:
        """Source rows for copied tokens, softmax(logits) · anchors for new ones (each distinct new token once)."""
        vectors = fixed[centre_ids]
        positions = position_of[centre_ids]
        is_new = positions >= 0
        if is_new.any():
            distinct, inverse = torch.unique(positions[is_new], return_inverse=True)
            combined = torch.softmax(logits(distinct), -1) @ anchor_rows
            vectors = vectors.clone()
            vectors[is_new] = combined[inverse]
        return vectors


def tokenised_ids(lines: Sequence[str], tokenizer) -> list[list[int]]:
    """Each line as target-tokenizer ids without special tokens: CW2V's skip-gram corpus."""
    return [ids for ids in tokenizer(list(lines), add_special_tokens=False)["input_ids"] if len(ids) > 1]
