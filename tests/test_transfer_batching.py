"""Initialisers work in batches at a 250k vocabulary; the batched code must equal the plain formulas."""
from __future__ import annotations

import numpy as np
import pytest

from fieldasr.transfer import initialisers, neighbour_initialisers, ofa
from fieldasr.transfer.initialisers import COMBINED, weighted_rows
from fieldasr.transfer.ofa import factorise_embeddings
from fieldasr.transfer.vocabulary import VocabularyPair


def test_weighted_rows_in_batches_equal_the_gathered_sum(monkeypatch):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 6)).astype(np.float32)
    indices, weights = rng.integers(0, 50, size=(23, 4)), rng.random((23, 4)).astype(np.float32)
    monkeypatch.setattr(initialisers, "batch_size_for", lambda row_floats, limit=0: 5)
    np.testing.assert_allclose(weighted_rows(indices, weights, values),
                               np.einsum("nk,nkd->nd", weights, values[indices]), rtol=1e-5, atol=1e-6)


def _clp_reference(helper, anchors, new_ids, anchor_source, top_k):
    unit = helper / np.linalg.norm(helper, axis=1, keepdims=True)
    similarities = np.clip(unit[new_ids] @ unit[anchors].T, 0.0, None)
    if top_k is not None:
        for row in similarities:
            row[np.argsort(-row)[top_k:]] = 0.0
    return (similarities / similarities.sum(axis=1, keepdims=True)) @ anchor_source


@pytest.mark.parametrize("top_k", [None, 3])
def test_clp_in_batches_equals_the_dense_formula(monkeypatch, top_k):
    rng = np.random.default_rng(1)
    source_tokens = [f"▁w{i}" for i in range(40)]
    target_tokens = source_tokens[:15] + [f"▁n{i}" for i in range(25)]
    source = rng.normal(size=(40, 8)).astype(np.float32)
    helper = rng.normal(size=(40, 5)).astype(np.float32) + 1.0  # mostly positive cosines: every new token has weight
    monkeypatch.setattr(neighbour_initialisers, "batch_size_for", lambda row_floats, limit=0: 4)
    clp = neighbour_initialisers.ClpInitialiser(helper, top_k=top_k)
    result = clp.initialise(VocabularyPair.of(source_tokens, target_tokens), source)
    new_ids = np.arange(15, 40)
    expected = _clp_reference(helper, np.arange(15), new_ids, source[:15], top_k)
    assert all(result.origin[token] == COMBINED for token in new_ids)
    np.testing.assert_allclose(result.embeddings[new_ids], expected, rtol=1e-4, atol=1e-5)
    source_ids, weights = result.combinations[17]
    assert len(weights) == (top_k or len(weights)) and weights.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(weights @ source[source_ids], expected[17 - 15], rtol=1e-4, atol=1e-5)


def test_factorisation_in_batches_matches_numpy_svd_and_drops_null_directions(monkeypatch):
    rng = np.random.default_rng(2)
    embeddings = (rng.normal(size=(60, 5)) @ rng.normal(size=(5, 12))).astype(np.float32)  # rank 5 of 12
    monkeypatch.setattr(ofa, "batch_size_for", lambda row_floats, limit=0: 7)
    factorisation = factorise_embeddings(embeddings, rank=10)
    assert factorisation.coordinates.shape == (60, 5)
    np.testing.assert_allclose(factorisation.product(), embeddings, rtol=1e-4, atol=1e-4)
    left, singular, right = np.linalg.svd(embeddings.astype(np.float64), full_matrices=False)
    three = factorise_embeddings(embeddings, rank=3)
    signs = np.sign((three.coordinates * left[:, :3]).sum(axis=0))  # singular vectors are defined up to sign
    np.testing.assert_allclose(three.coordinates * signs, left[:, :3], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(three.primitives, axis=1), singular[:3], rtol=1e-5)


def test_source_statistics_and_samples_in_batches_equal_numpy(monkeypatch):
    rng = np.random.default_rng(3)
    source = rng.normal(2.0, 3.0, size=(41, 5)).astype(np.float32)
    expected_normal = np.random.default_rng(7).normal(source.mean(0), source.std(0), size=(19, 5))
    expected_multivariate = np.random.default_rng(7).multivariate_normal(
        source.mean(0), np.cov(source.astype(np.float64), rowvar=False) * 1e-5, size=19, method="eigh")
    monkeypatch.setattr(initialisers, "batch_size_for", lambda row_floats, limit=0: 4)
    mean, covariance = initialisers.column_mean_and_covariance(source, full=True)
    np.testing.assert_allclose(covariance, np.cov(source.astype(np.float64), rowvar=False), rtol=1e-10)
    sample = initialisers.source_distribution_sample(source, 19, np.random.default_rng(7))
    np.testing.assert_allclose(sample, expected_normal, rtol=1e-5, atol=1e-5)
    rows = initialisers.MultivariateNormalInitialiser().fill(None, source, {}, np.arange(19), np.random.default_rng(7)).rows
    np.testing.assert_allclose(rows, expected_multivariate, rtol=1e-5, atol=1e-5)
