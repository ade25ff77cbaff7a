"""CW2V (constrained word2vec): new tokens learnt by skip-gram as convex combinations of source rows."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from fieldasr.transfer.cw2v import choose_anchors, skipgram_pairs, tokenised_ids
from fieldasr.transfer.initialisers import COMBINED, COPIED, MEAN
from fieldasr.transfer.registry import build_resources, make_initialiser
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of
from fieldasr_examples.toy_corpus import parallel_sentences

SHARED = ["<s>", "▁the", "▁cat", "▁dog", "▁sleeps", "▁purrs", "▁mouse", "▁barks", "▁runs", "▁bone", "▁a", "▁now"]
SOURCE = SHARED + ["▁bird", "▁sings", "▁tree", "▁fish"]  # source-only tokens: anchors nobody in the text uses
TARGET = SHARED + ["▁gato", "▁perro", "▁nunca"]  # gato occurs where cat does, perro where dog does; nunca never


def synthetic_corpus(count: int = 600, seed: int = 0) -> list[list[int]]:
    """Target-id lines: cat/gato with sleeps/purrs/mouse, dog/perro with barks/runs/bone."""
    rng = random.Random(seed)
    index = {token: i for i, token in enumerate(TARGET)}
    frames = {"cat": ["sleeps", "purrs", "mouse"], "dog": ["barks", "runs", "bone"]}
    lines = []
    for _ in range(count):
        animal = rng.choice(["cat", "dog"])
        word = rng.choice([animal, {"cat": "gato", "dog": "perro"}[animal]])
        verb, other = rng.sample(frames[animal], 2)
        lines.append([index["▁" + token] for token in [rng.choice(["the", "a"]), word, verb, other, "now"]])
    return lines


@pytest.fixture(scope="module")
def synthetic():
    torch.set_num_threads(1)
    pair = VocabularyPair.of(SOURCE, TARGET)
    source = np.random.default_rng(0).normal(size=(len(SOURCE), 16)).astype(np.float32)
    initialiser = make_initialiser("cw2v", token_ids=synthetic_corpus(), epochs=20, batch_size=256, seed=0)
    return pair, source, initialiser.initialise(pair, source)


def test_shared_tokens_stay_exactly_at_their_source_rows(synthetic):
    pair, source, result = synthetic
    for target_id, source_id in pair.overlap().items():
        assert result.origin[target_id] == COPIED
        np.testing.assert_array_equal(result.embeddings[target_id], source[source_id])


def test_a_new_token_lands_nearer_the_source_token_whose_contexts_it_shares_than_mean_or_random(synthetic):
    pair, source, result = synthetic
    baselines = {name: make_initialiser(name, seed=0).initialise(pair, source) for name in ("mean", "random")}
    for new, known, other in [("▁gato", "▁cat", "▁dog"), ("▁perro", "▁dog", "▁cat")]:
        target_id, known_row, other_row = TARGET.index(new), source[SOURCE.index(known)], source[SOURCE.index(other)]
        distance = np.linalg.norm(result.embeddings[target_id] - known_row)
        for name, baseline in baselines.items():
            assert distance < np.linalg.norm(baseline.embeddings[target_id] - known_row), name
        assert distance < np.linalg.norm(result.embeddings[target_id] - other_row)
        source_ids, weights = result.combinations[target_id]
        assert source_ids[np.argmax(weights)] == SOURCE.index(known)


def test_new_rows_are_convex_combinations_and_unseen_tokens_get_the_anchor_mean(synthetic):
    pair, source, result = synthetic
    for target_id, (source_ids, weights) in result.combinations.items():
        assert result.origin[target_id] == COMBINED
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(result.embeddings[target_id], weights @ source[source_ids], rtol=1e-4, atol=1e-5)
    unseen = TARGET.index("▁nunca")
    assert result.origin[unseen] == MEAN and unseen not in result.combinations
    np.testing.assert_allclose(result.embeddings[unseen], source.mean(0), atol=1e-5)
    assert result.report["cw2v_unseen_new"] == 1


def test_the_same_seed_gives_the_same_rows():
    pair = VocabularyPair.of(SOURCE, TARGET)
    source = np.random.default_rng(0).normal(size=(len(SOURCE), 8)).astype(np.float32)
    runs = [make_initialiser("cw2v", token_ids=synthetic_corpus(50), epochs=2, seed=3).initialise(pair, source)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].embeddings, runs[1].embeddings)


def test_skipgram_pairs_are_every_token_within_the_window():
    pairs = {tuple(item) for item in skipgram_pairs([[1, 2, 3, 4]], window=2)}
    assert pairs == {(1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3), (1, 3), (3, 1), (2, 4), (4, 2)}


def test_anchors_are_the_most_frequent_shared_tokens_when_the_source_vocabulary_is_large():
    counts = np.array([0, 5, 1, 9, 0], dtype=float)
    assert list(choose_anchors({1: 10, 2: 11, 3: 12}, counts, source_size=100, max_anchors=4)) == [12, 10, 11, 0]
    assert list(choose_anchors({1: 10}, counts, source_size=3, max_anchors=4)) == [0, 1, 2]


def test_resources_come_from_the_target_text_and_its_tokenizer():
    source_lines, target_lines = parallel_sentences(200)
    tokenizer = train_target_tokenizer(target_lines, 150, style="unigram")
    resources = build_resources("cw2v", tokenizer, target_lines=target_lines)
    assert resources["token_ids"] == tokenised_ids(target_lines, tokenizer)
    source_tokenizer = train_target_tokenizer(source_lines, 300)
    pair = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(tokenizer))
    source = np.random.default_rng(1).normal(size=(len(source_tokenizer), 8)).astype(np.float32)
    result = make_initialiser("cw2v", epochs=1, **resources).initialise(pair, source)
    assert np.isfinite(result.embeddings).all() and result.count(COMBINED) > 0
