"""Word and label timestamps from forced alignment land on the frames where the labels were put."""
from __future__ import annotations

import pytest
import torch
from decode_synthetic import LETTER_VOCABULARY, letters, synthetic_emission

from fieldasr.decode import DecodingError, align_tokens, align_words, greedy_decode
from fieldasr.text.vocabulary import Vocabulary

torch.set_num_threads(1)
FRAME = 0.02


def word_spans(spans: tuple[tuple[str, int, int], ...]) -> list[tuple[str, int, int]]:
    """The true (word, first frame, frame after the last) of a synthetic emission's label spans."""
    words, current = [], []
    for span in [*spans, ("|", 0, 0)]:
        if span[0] == "|":
            words.append(("".join(label for label, _, _ in current), current[0][1], current[-1][2]))
            current = []
        else:
            current.append(span)
    return words


@pytest.mark.parametrize("frames_per_label, blank_frames", [(1, 1), (3, 2), (5, 4)])
def test_word_boundaries_are_found_within_one_frame(frames_per_label: int, blank_frames: int) -> None:
    sentence = "look at all these little words"
    emission = synthetic_emission(
        letters(sentence), LETTER_VOCABULARY, frames_per_label, blank_frames, noise=1.0, seed=frames_per_label
    )
    offset = 12.5
    transcript = LETTER_VOCABULARY.encode(letters(sentence))
    timings = align_words(emission.log_probs, transcript, LETTER_VOCABULARY, FRAME, offset)
    truth = word_spans(emission.spans)
    assert [timing.word for timing in timings] == sentence.split() == [word for word, _, _ in truth]
    for timing, (_, first, after_last) in zip(timings, truth):
        assert abs(timing.start - (offset + first * FRAME)) <= FRAME + 1e-9
        assert abs(timing.end - (offset + after_last * FRAME)) <= FRAME + 1e-9
        assert 0.9 < timing.score <= 1.0


def test_timings_are_monotonic_non_overlapping_and_inside_the_segment() -> None:
    generator = torch.Generator().manual_seed(7)
    transcript = letters("some words in a noisy segment")
    frames = 120
    noisy = torch.randn(frames, len(LETTER_VOCABULARY), generator=generator).mul(3).log_softmax(dim=-1)
    offset = 3.0
    words = align_words(noisy, LETTER_VOCABULARY.encode(transcript), LETTER_VOCABULARY, FRAME, offset)
    assert len(words) == 6
    tokens = [token for word in words for token in word.tokens]
    assert len(tokens) == len([label for label in transcript if label != "|"])
    for timing in [*words, *tokens]:
        assert offset <= timing.start < timing.end <= offset + frames * FRAME + 1e-9
    for earlier, later in zip(words, words[1:]):
        assert earlier.end <= later.start + 1e-9
    for earlier, later in zip(tokens, tokens[1:]):
        assert earlier.end <= later.start + 1e-9


def test_per_phone_timings_for_a_phone_model() -> None:
    vocabulary = Vocabulary(tokens=("<blank>", "k", "æ", "t", "s", "|"))
    phones = ["k", "æ", "t", "|", "s", "æ", "t"]
    emission = synthetic_emission(phones, vocabulary, frames_per_label=4, blank_frames=3, seed=0)
    words = align_words(emission.log_probs, vocabulary.encode(phones), vocabulary, FRAME, joiner=" ")
    assert [word.word for word in words] == ["k æ t", "s æ t"]
    aligned = [(token.token, token.start, token.end) for word in words for token in word.tokens]
    expected = [(label, first * FRAME, after * FRAME) for label, first, after in emission.spans if label != "|"]
    assert [label for label, _, _ in aligned] == [label for label, _, _ in expected]
    for (_, start, end), (_, true_start, true_end) in zip(aligned, expected):
        assert start == pytest.approx(true_start, abs=FRAME) and end == pytest.approx(true_end, abs=FRAME)


def test_greedy_output_can_be_timed() -> None:
    emission = synthetic_emission(letters("time me"), LETTER_VOCABULARY, seed=9).log_probs
    (result,) = greedy_decode(emission.unsqueeze(0), LETTER_VOCABULARY)
    tokens = align_tokens(emission, result.token_ids, LETTER_VOCABULARY, FRAME)
    assert [round(token.start / FRAME) for token in tokens] == list(result.frames)


def test_too_short_a_segment_is_explained() -> None:
    emission = torch.zeros(3, len(LETTER_VOCABULARY)).log_softmax(dim=-1)
    with pytest.raises(DecodingError, match="at least 4 frames"):
        align_words(emission, LETTER_VOCABULARY.encode(list("all")), LETTER_VOCABULARY)  # a, l, blank, l
    assert align_words(emission, [], LETTER_VOCABULARY) == []
