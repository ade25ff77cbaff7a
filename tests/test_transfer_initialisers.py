"""Embedding initialisers: shapes, finiteness, copied overlap, convex weights, and checks against references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fieldasr.transfer.cw2v import tokenised_ids
from fieldasr.transfer.embeddings import align_static_embeddings, top_k_cosine, train_static_embeddings
from fieldasr.transfer.errors import DictionaryError, MissingResourceError, TokenizerMismatchError
from fieldasr.transfer.initialisers import COMBINED, COPIED
from fieldasr.transfer.neighbour_initialisers import train_focus_auxiliary
from fieldasr.transfer.ofa import factorise_embeddings
from fieldasr.transfer.registry import INITIALISERS, make_initialiser
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr.transfer.vocabulary import VocabularyPair, is_special_token, tokens_of
from fieldasr_examples.toy_corpus import dictionary_pairs, parallel_sentences

DIM = 24


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    source_lines, target_lines = parallel_sentences(300)
    source_tokenizer = train_target_tokenizer(source_lines, 300)  # GPT-2 style (Ġ)
    target_tokenizer = train_target_tokenizer(target_lines, 150, style="unigram")  # XLM-R style (▁)
    pair = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer))
    source_embeddings = np.random.default_rng(0).normal(size=(len(source_tokenizer), DIM)).astype(np.float32)
    source_words = train_static_embeddings(source_lines, dim=16, epochs=5)
    target_words = train_static_embeddings(target_lines, dim=16, epochs=5)
    alignment = align_static_embeddings(source_words, target_words, dictionary_pairs())
    resources = {
        "wechsel": dict(source_words=source_words, target_words=target_words, alignment=alignment),
        "ofa": dict(source_words=source_words, target_words=target_words, alignment=alignment, rank=8),
        "focus": dict(auxiliary=train_focus_auxiliary(target_lines, target_tokenizer, min_count=1, epochs=5)),
        "clp": dict(helper_embeddings=np.random.default_rng(1).normal(size=(len(target_tokenizer), 12))),
        "cw2v": dict(token_ids=tokenised_ids(target_lines, target_tokenizer), epochs=2),
    }
    results = {name: make_initialiser(name, **resources.get(name, {})).initialise(pair, source_embeddings)
               for name in INITIALISERS}
    return pair, source_embeddings, resources, alignment, results


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_every_method_gives_finite_rows_for_every_target_token(setup, name):
    pair, source_embeddings, _, _, results = setup
    embeddings = results[name].embeddings
    assert embeddings.shape == (len(pair.target_tokens), DIM)
    assert np.isfinite(embeddings).all()


@pytest.mark.parametrize("name", ["random", "mean", "multivariate-normal", "convex-hull", "focus", "clp", "cw2v"])
def test_overlapping_tokens_are_copied_exactly(setup, name):
    pair, source_embeddings, _, _, results = setup
    overlap = pair.overlap()
    assert len(overlap) > 10
    for target_id, source_id in overlap.items():
        assert results[name].origin[target_id] == COPIED
        np.testing.assert_array_equal(results[name].embeddings[target_id], source_embeddings[source_id])


def test_wechsel_copies_special_tokens_only_and_recomputes_the_rest(setup):
    pair, source_embeddings, _, _, results = setup
    origin = results["wechsel"].origin
    copied = [pair.target_tokens[i] for i, item in enumerate(origin) if item == COPIED]
    assert copied and all(is_special_token(token) for token in copied)
    assert origin.count(COMBINED) > len(origin) // 2


@pytest.mark.parametrize("name", ["convex-hull", "wechsel", "focus", "clp", "ofa", "cw2v"])
def test_combinations_are_convex_and_reproduce_the_row(setup, name):
    pair, source_embeddings, _, _, results = setup
    result = results[name]
    assert result.combinations
    basis = factorise_embeddings(source_embeddings, 8) if name == "ofa" else None
    for target_id, (source_ids, weights) in result.combinations.items():
        assert (weights >= 0).all()
        assert weights.sum() == pytest.approx(1.0, abs=1e-5)
        if basis is None:
            np.testing.assert_allclose(result.embeddings[target_id], weights @ source_embeddings[source_ids],
                                       rtol=1e-4, atol=1e-5)
        else:  # OFA combines low-rank coordinates, then multiplies by the primitives
            expected = (weights @ basis.coordinates[source_ids]) @ basis.primitives
            np.testing.assert_allclose(result.embeddings[target_id], expected, rtol=1e-4, atol=1e-4)


def test_wechsel_weights_match_the_reference_loop(setup):
    """WECHSEL's create_target_embeddings: argpartition top-10 of cosine, softmax(sim / 0.1), per token."""
    pair, source_embeddings, resources, alignment, results = setup
    from fieldasr.transfer.neighbour_initialisers import aligned_token_vectors

    source_vectors, target_vectors = aligned_token_vectors(pair, **resources["wechsel"])
    source_unit = source_vectors / (np.linalg.norm(source_vectors, axis=1, keepdims=True) + 1e-8)
    for target_id, (source_ids, weights) in list(results["wechsel"].combinations.items())[:20]:
        query = target_vectors[target_id] / (np.linalg.norm(target_vectors[target_id]) + 1e-8)
        similarities = source_unit @ query
        best = np.argpartition(similarities, -10)[-10:]
        best = best[np.argsort(-similarities[best])]
        expected = np.exp(similarities[best] / 0.1) / np.exp(similarities[best] / 0.1).sum()
        np.testing.assert_allclose(np.sort(weights), np.sort(expected), rtol=1e-4, atol=1e-6)
        assert set(source_ids) == set(best)


def _sparsemax_closed_form(scores: np.ndarray) -> np.ndarray:
    """Martins & Astudillo (2016), eq. 5: threshold from the sorted scores."""
    ordered = np.sort(scores)[::-1]
    cumulative = np.cumsum(ordered)
    support = np.arange(1, len(scores) + 1)
    k = support[1 + support * ordered > cumulative].max()
    return np.maximum(scores - (cumulative[k - 1] - 1) / k, 0)


def test_focus_weights_are_sparsemax_of_similarity_to_overlapping_tokens(setup):
    pair, _, resources, _, results = setup
    auxiliary = resources["focus"]["auxiliary"].wv
    overlap = pair.overlap()
    anchors = [t for t in overlap if pair.target_tokens[t] in auxiliary.key_to_index]
    anchor_unit = np.stack([auxiliary[pair.target_tokens[t]] for t in anchors])
    anchor_unit /= np.linalg.norm(anchor_unit, axis=1, keepdims=True)
    assert len(results["focus"].combinations) > 5
    for target_id, (source_ids, weights) in results["focus"].combinations.items():
        query = auxiliary[pair.target_tokens[target_id]]
        expected = _sparsemax_closed_form(anchor_unit @ (query / np.linalg.norm(query)))
        chosen = expected > 0
        assert list(source_ids) == [overlap[t] for t, keep in zip(anchors, chosen) if keep]
        np.testing.assert_allclose(weights, expected[chosen], atol=1e-5)


def test_ofa_full_rank_reproduces_overlap_and_low_rank_error_is_optimal(setup):
    pair, source_embeddings, resources, _, _ = setup
    full = make_initialiser("ofa", **{**resources["ofa"], "rank": DIM}).initialise(pair, source_embeddings)
    for target_id, source_id in pair.overlap().items():
        np.testing.assert_allclose(full.embeddings[target_id], source_embeddings[source_id], atol=1e-4)
    # Eckart–Young: the rank-r SVD error is the norm of the discarded singular values
    factorisation = factorise_embeddings(source_embeddings, 8)
    singular = np.linalg.svd(source_embeddings, compute_uv=False)
    error = np.linalg.norm(source_embeddings - factorisation.product())
    assert error == pytest.approx(np.sqrt((singular[8:] ** 2).sum()), rel=1e-3)


def test_top_k_cosine_matches_brute_force_in_small_batches():
    rng = np.random.default_rng(3)
    queries, keys = rng.normal(size=(37, 8)), rng.normal(size=(500, 8))
    indices, similarities = top_k_cosine(queries, keys, 5, max_scores_per_batch=1000)  # two queries per batch
    full = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (keys / np.linalg.norm(keys, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(indices, np.argsort(-full, axis=1)[:, :5])
    np.testing.assert_allclose(similarities, np.sort(full, axis=1)[:, ::-1][:, :5], rtol=1e-5)


def test_missing_resources_are_named():
    with pytest.raises(MissingResourceError, match="auxiliary"):
        make_initialiser("focus")
    with pytest.raises(MissingResourceError, match="target_words.*alignment|alignment"):
        make_initialiser("wechsel", source_words=None)


def test_dictionary_words_missing_from_both_embeddings_are_counted(setup):
    _, _, resources, alignment, _ = setup
    source_words, target_words = resources["wechsel"]["source_words"], resources["wechsel"]["target_words"]
    pairs = dictionary_pairs() + [("zzzq", "qqqz"), ("xxyy", "yyxx"), ("pan", "qqqz")]
    extended = align_static_embeddings(source_words, target_words, pairs)
    assert (extended.missing_both, extended.missing_target) == (2, 1)
    assert extended.pairs_used == alignment.pairs_used
    assert alignment.ill_posed == (alignment.pairs_used < 16)
    with pytest.raises(DictionaryError, match="only 0 of 2"):
        align_static_embeddings(source_words, target_words, [("zzzq", "qqqz"), ("xxyy", "yyxx")])


def test_source_matrix_smaller_than_source_vocabulary_is_a_mismatch(setup):
    pair, source_embeddings, _, _, _ = setup
    with pytest.raises(TokenizerMismatchError, match="source embedding matrix"):
        make_initialiser("mean").initialise(pair, source_embeddings[:10])


def test_focus_on_an_extended_vocabulary_keeps_every_source_row(setup):
    """Extension: the source tokens keep their ids and rows; only the appended target tokens are built."""
    from fieldasr.transfer.tokenizer import extend_tokenizer

    source_lines, target_lines = parallel_sentences(300)
    source_tokenizer = train_target_tokenizer(source_lines, 300)
    target_tokenizer = train_target_tokenizer(target_lines, 330)
    extended = extend_tokenizer(source_tokenizer, target_tokenizer)
    pair = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(extended.tokenizer))
    source_embeddings = np.random.default_rng(0).normal(size=(len(source_tokenizer), DIM)).astype(np.float32)
    auxiliary = train_focus_auxiliary(target_lines, target_tokenizer, min_count=1, epochs=3)
    result = make_initialiser("focus", auxiliary=auxiliary).initialise(pair, source_embeddings)
    np.testing.assert_array_equal(result.embeddings[:len(source_tokenizer)], source_embeddings)
    assert set(result.origin[len(source_tokenizer):]) <= {COMBINED, "random"}
    assert result.count(COMBINED) > 0


class _Vectors:
    """The part of a gensim KeyedVectors that FOCUS reads."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.key_to_index = {token: index for index, token in enumerate(vectors)}
        self.vectors = vectors

    def __getitem__(self, tokens: list[str]) -> np.ndarray:
        return np.stack([self.vectors[token] for token in tokens])


def test_focus_keeps_every_sparsemax_weight_in_the_rows_but_records_only_the_strongest():
    """Near-identical anchors give sparsemax supports of hundreds: the rows use them all, the record keeps 64."""
    from types import SimpleNamespace

    from fieldasr.transfer.neighbour_initialisers import RECORDED_CONTRIBUTORS, FocusInitialiser

    rng = np.random.default_rng(0)
    anchors, new = 300, 20
    tokens = [f"t{index}" for index in range(anchors + new)]
    base = rng.normal(size=16)
    vectors = {token: base + 0.01 * rng.normal(size=16) for token in tokens}
    source = rng.normal(size=(anchors, 8)).astype(np.float32)
    initialiser = FocusInitialiser(SimpleNamespace(wv=_Vectors(vectors)))
    new_ids = np.arange(anchors, anchors + new)
    fill = initialiser.fill(SimpleNamespace(target_tokens=tokens), source, {index: index for index in range(anchors)}, new_ids,
                            np.random.default_rng(1))
    anchor_unit = np.stack([vectors[token] for token in tokens[:anchors]])
    anchor_unit /= np.linalg.norm(anchor_unit, axis=1, keepdims=True)
    for position, token_id in enumerate(new_ids):
        query = vectors[tokens[token_id]]
        expected = _sparsemax_closed_form(anchor_unit @ (query / np.linalg.norm(query)))
        assert (expected > 0).sum() > RECORDED_CONTRIBUTORS  # the case this test is about
        np.testing.assert_allclose(fill.rows[position], expected @ source, atol=1e-4)
        source_ids, weights = fill.combinations[int(token_id)]
        assert len(source_ids) == RECORDED_CONTRIBUTORS and list(source_ids) == sorted(source_ids)
        assert weights.min() >= np.sort(expected)[-RECORDED_CONTRIBUTORS] - 1e-6  # the strongest ones
    assert fill.report["focus_records_truncated"] == new
