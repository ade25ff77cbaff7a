"""Greedy CTC decoding recovers the labels and their first frames from noisy synthetic emissions."""
from __future__ import annotations

import pytest
import torch
from decode_synthetic import LETTER_VOCABULARY, letters, synthetic_emission

from fieldasr.decode import DecodingError, greedy_decode, words_from_tokens
from fieldasr.decode.tune import pad_emissions

torch.set_num_threads(1)


def test_greedy_recovers_labels_words_and_frames() -> None:
    sentence = "hello all the little kittens"  # doubled letters must survive: a blank separates them
    emission = synthetic_emission(letters(sentence), LETTER_VOCABULARY, noise=1.0, seed=3)
    (result,) = greedy_decode(emission.log_probs.unsqueeze(0), LETTER_VOCABULARY)
    assert list(result.tokens) == letters(sentence)
    assert result.text == sentence
    assert list(result.frames) == [start for _, start, _ in emission.spans]
    assert list(result.token_ids) == LETTER_VOCABULARY.encode(letters(sentence))


def test_greedy_batch_ignores_padding_frames() -> None:
    sentences = ["a cat", "the dog sat on a mat"]
    emissions = [
        synthetic_emission(letters(text), LETTER_VOCABULARY, seed=seed).log_probs for seed, text in enumerate(sentences)
    ]
    padded, lengths = pad_emissions(emissions)
    padded[0, lengths[0] :, LETTER_VOCABULARY.index("z")] = 100.0  # garbage beyond the first utterance's end
    results = greedy_decode(padded, LETTER_VOCABULARY, lengths)
    assert [result.text for result in results] == sentences


def test_greedy_merges_a_label_held_over_frames_and_drops_blank_only_frames() -> None:
    vocabulary = LETTER_VOCABULARY
    frames = ["<blank>", "a", "a", "a", "<blank>", "a", "|", "|", "b", "<blank>"]
    emission = torch.full((1, len(frames), len(vocabulary)), -20.0)
    for frame, label in enumerate(frames):
        emission[0, frame, vocabulary.index(label)] = 0.0
    (result,) = greedy_decode(emission, vocabulary)
    assert result.tokens == ("a", "a", "|", "b")
    assert result.frames == (1, 5, 6, 8)
    assert result.words == ("aa", "b")


def test_words_from_tokens_ignores_leading_trailing_and_repeated_boundaries() -> None:
    assert words_from_tokens(["|", "k", "a", "|", "|", "t", "|"]) == ("ka", "t")
    assert words_from_tokens(["k", "a", "|", "t"], joiner=" ") == ("k a", "t")


def test_wrong_shapes_are_reported() -> None:
    with pytest.raises(DecodingError, match="batch, frames, labels"):
        greedy_decode(torch.zeros(5, len(LETTER_VOCABULARY)), LETTER_VOCABULARY)
    with pytest.raises(DecodingError, match="vocabulary has"):
        greedy_decode(torch.zeros(1, 5, 3), LETTER_VOCABULARY)
    with pytest.raises(DecodingError, match="lengths"):
        greedy_decode(torch.zeros(2, 5, len(LETTER_VOCABULARY)), LETTER_VOCABULARY, torch.tensor([5, 6]))
