"""Greedy CTC decoding: the best label per frame, repeats collapsed, blanks dropped."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from fieldasr.decode.checks import check_emissions
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary


@dataclass(frozen=True)
class GreedyResult:
    """One utterance: emitted token ids and tokens, and the frame at which each token starts."""

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    frames: tuple[int, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return words_from_tokens(self.tokens)

    @property
    def text(self) -> str:
        return " ".join(self.words)


def words_from_tokens(tokens: tuple[str, ...] | list[str], joiner: str = "") -> tuple[str, ...]:
    """Split a label sequence at word boundaries `|` and join each word's labels (letters, or phones)."""
    words, current = [], []
    for token in tokens:
        if token == WORD_BOUNDARY:
            if current:
                words.append(joiner.join(current))
            current = []
        else:
            current.append(token)
    if current:
        words.append(joiner.join(current))
    return tuple(words)


def greedy_decode(
    emissions: torch.Tensor, vocabulary: Vocabulary, lengths: torch.Tensor | None = None
) -> list[GreedyResult]:
    """Decode a batch of emissions `(batch, frames, labels)`; `lengths` gives each utterance's valid frames."""
    lengths = check_emissions(emissions, vocabulary, lengths)
    best = emissions.argmax(dim=-1)
    results = []
    for labels, length in zip(best, lengths.tolist()):
        labels = labels[:length]
        # A frame emits when its label is not blank and differs from the previous frame's label.
        changed = torch.ones_like(labels, dtype=torch.bool)
        changed[1:] = labels[1:] != labels[:-1]
        emitting = changed & (labels != vocabulary.blank_index)
        frames = emitting.nonzero().flatten().tolist()
        token_ids = labels[emitting].tolist()
        results.append(
            GreedyResult(token_ids=tuple(token_ids), tokens=tuple(vocabulary.decode(token_ids)), frames=tuple(frames))
        )
    return results
