"""Word and label timestamps from a CTC forced alignment of a known transcript (torchaudio `forced_align`).

Times are frame indices scaled by the model's frame duration and shifted by the segment's start, so a
word interval is [offset + first_frame * frame_duration, offset + (last_frame + 1) * frame_duration].
Spans never overlap and stay inside the segment because each frame is given to at most one label.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchaudio.functional

from fieldasr.decode.checks import DecodingError
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary


@dataclass(frozen=True)
class TokenTiming:
    """One label (letter or phone) with its time span in seconds and its mean frame probability."""

    token: str
    start: float
    end: float
    score: float


@dataclass(frozen=True)
class WordTiming:
    """One word: its labels joined, its time span in seconds, its mean label probability, and its labels."""

    word: str
    start: float
    end: float
    score: float
    tokens: tuple[TokenTiming, ...]


def align_tokens(
    emission: torch.Tensor,
    token_ids: Sequence[int],
    vocabulary: Vocabulary,
    frame_duration: float = 0.02,
    offset: float = 0.0,
) -> list[TokenTiming]:
    """Time each label of the transcript `token_ids` in `emission` (frames, labels) of log-probabilities."""
    if emission.dim() != 2 or emission.shape[1] != len(vocabulary):
        raise DecodingError(
            f"emission must have shape (frames, {len(vocabulary)}) for this vocabulary; got {tuple(emission.shape)}."
        )
    if vocabulary.blank_index in token_ids:
        raise DecodingError("the transcript to align contains the CTC blank; pass label ids only.")
    if not token_ids:
        return []
    frames = emission.shape[0]
    # CTC needs one frame per label plus one blank frame between two equal neighbours.
    needed = len(token_ids) + sum(1 for left, right in zip(token_ids, token_ids[1:]) if left == right)
    if frames < needed:
        raise DecodingError(
            f"the transcript needs at least {needed} frames but the emission has {frames} "
            f"({frames * frame_duration:.2f} s); the segment is too short for its transcript, check its times."
        )
    log_probs = emission.detach().to("cpu", torch.float32).log_softmax(dim=-1).unsqueeze(0)
    targets = torch.tensor([list(token_ids)], dtype=torch.int32)
    labels, scores = torchaudio.functional.forced_align(log_probs, targets, blank=vocabulary.blank_index)
    spans = torchaudio.functional.merge_tokens(labels[0], scores[0].exp(), blank=vocabulary.blank_index)
    return [
        TokenTiming(
            token=vocabulary.tokens[span.token],
            start=offset + span.start * frame_duration,
            end=offset + span.end * frame_duration,  # merge_tokens' end is exclusive: the frame after the span
            score=float(span.score),
        )
        for span in spans
    ]


def align_words(
    emission: torch.Tensor,
    token_ids: Sequence[int],
    vocabulary: Vocabulary,
    frame_duration: float = 0.02,
    offset: float = 0.0,
    joiner: str = "",
) -> list[WordTiming]:
    """Time each word of the transcript; words are the label runs between word boundaries `|`.

    `joiner` joins a word's labels into its written form: "" for letters, " " to keep phones apart.
    """
    words: list[WordTiming] = []
    current: list[TokenTiming] = []
    for timing in [*align_tokens(emission, token_ids, vocabulary, frame_duration, offset), None]:
        if timing is None or timing.token == WORD_BOUNDARY:
            if current:
                words.append(_word_of(current, joiner))
            current = []
        else:
            current.append(timing)
    return words


def _word_of(tokens: list[TokenTiming], joiner: str) -> WordTiming:
    # The geometric mean of the labels' probabilities: one bad label pulls the word's confidence down.
    score = math.exp(sum(math.log(max(token.score, 1e-30)) for token in tokens) / len(tokens))
    return WordTiming(
        word=joiner.join(token.token for token in tokens),
        start=tokens[0].start,
        end=tokens[-1].end,
        score=score,
        tokens=tuple(tokens),
    )
