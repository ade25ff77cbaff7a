"""Synthetic CTC emissions with known labels and known frame spans, for the decoding tests and benchmark."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from fieldasr.text.vocabulary import Vocabulary

PEAK = 8.0  # logit added to the intended label: with noise of std 0.5 it wins by a wide margin


@dataclass(frozen=True)
class SyntheticEmission:
    log_probs: torch.Tensor  # (frames, labels)
    spans: tuple[tuple[str, int, int], ...]  # (label, first frame, frame after the last)


def synthetic_emission(
    labels: Sequence[str],
    vocabulary: Vocabulary,
    frames_per_label: int = 3,
    blank_frames: int = 2,
    noise: float = 0.5,
    seed: int = 0,
    ambiguous: Mapping[int, Mapping[str, float]] | None = None,
) -> SyntheticEmission:
    """Blank frames, then each label for `frames_per_label` frames followed by blanks.

    `ambiguous` maps a label position to several labels and their logits, making those frames uncertain.
    """
    generator = torch.Generator().manual_seed(seed)
    total = blank_frames + len(labels) * (frames_per_label + blank_frames)
    logits = torch.randn(total, len(vocabulary), generator=generator) * noise
    logits[:, vocabulary.blank_index] += PEAK
    spans, frame = [], blank_frames
    for position, label in enumerate(labels):
        window = slice(frame, frame + frames_per_label)
        logits[window, vocabulary.blank_index] -= PEAK
        for candidate, logit in (ambiguous or {}).get(position, {label: PEAK}).items():
            logits[window, vocabulary.index(candidate)] += logit
        spans.append((label, frame, frame + frames_per_label))
        frame += frames_per_label + blank_frames
    return SyntheticEmission(log_probs=logits.log_softmax(dim=-1), spans=tuple(spans))


def letters(text: str) -> list[str]:
    """A sentence as character labels with `|` between words."""
    return list("|".join(text.split()))


LETTER_VOCABULARY = Vocabulary(tokens=("<blank>", "<unk>", *"abcdefghijklmnopqrstuvwxyz", "'", "|"))
