"""Initialisers by name, with the resources each one needs named when they are missing."""
from __future__ import annotations

from typing import Any

from fieldasr.transfer.cw2v import ConstrainedWord2VecInitialiser
from fieldasr.transfer.errors import MissingResourceError, TransferError
from fieldasr.transfer.initialisers import (ConvexHullInitialiser, EmbeddingInitialiser, MeanInitialiser,
                                            MultivariateNormalInitialiser, RandomInitialiser)
from fieldasr.transfer.neighbour_initialisers import ClpInitialiser, FocusInitialiser, WechselInitialiser
from fieldasr.transfer.ofa import OfaInitialiser

INITIALISERS: dict[str, type[EmbeddingInitialiser]] = {
    cls.name: cls for cls in (RandomInitialiser, MeanInitialiser, MultivariateNormalInitialiser, ConvexHullInitialiser,
                              WechselInitialiser, FocusInitialiser, ClpInitialiser, OfaInitialiser,
                              ConstrainedWord2VecInitialiser)
}

# What each method cannot run without, and how to make it.
REQUIRED_RESOURCES: dict[str, dict[str, str]] = {
    "wechsel": {"source_words": "fastText model on source text (train_static_embeddings)",
                "target_words": "fastText model on target text (train_static_embeddings)",
                "alignment": "Procrustes alignment from a bilingual dictionary (align_static_embeddings), "
                             "or None if the spaces are already aligned"},
    "ofa": {"source_words": "fastText model on source text (train_static_embeddings)",
            "target_words": "fastText model on target text (train_static_embeddings)",
            "alignment": "Procrustes alignment from a bilingual dictionary (align_static_embeddings), "
                         "or None if the spaces are already aligned"},
    "focus": {"auxiliary": "token-level fastText on target text (train_focus_auxiliary)"},
    "clp": {"helper_embeddings": "input embeddings of a small model that uses the target tokenizer"},
    "cw2v": {"token_ids": "target text as target-tokenizer ids (cw2v.tokenised_ids)"},
}


def make_initialiser(name: str, **resources: Any) -> EmbeddingInitialiser:
    """The initialiser called `name`; raises MissingResourceError naming each required resource not given."""
    if name not in INITIALISERS:
        raise TransferError(f"unknown initialisation method {name!r}; choose one of {sorted(INITIALISERS)}")
    missing = {key: what for key, what in REQUIRED_RESOURCES.get(name, {}).items() if key not in resources}
    if missing:
        listed = "; ".join(f"{key}: {what}" for key, what in missing.items())
        raise MissingResourceError(f"method {name!r} needs {listed}")
    return INITIALISERS[name](**resources)


def build_resources(method: str, target_tokenizer, source_lines: list[str] | None = None,
                    target_lines: list[str] | None = None, dictionary: list[tuple[str, str]] | None = None,
                    helper_embeddings=None, min_count: int | None = None, dim: int = 100,
                    seed: int = 0) -> dict[str, Any]:
    """Train the static embeddings `method` needs from local text; names the input that is missing.

    `min_count` None means each paper's default (FOCUS: 10; WECHSEL/OFA here: 1, as field texts are small).
    """
    def need(value, what: str):
        if value is None:
            raise MissingResourceError(f"method {method!r} needs {what}")
        return value

    if method in ("wechsel", "ofa"):
        from fieldasr.transfer.embeddings import align_static_embeddings, train_static_embeddings

        count = 1 if min_count is None else min_count
        source_words = train_static_embeddings(need(source_lines, "source-language text (--source-text)"),
                                               dim=dim, min_count=count, seed=seed)
        target_words = train_static_embeddings(need(target_lines, "target-language text (--target-text)"),
                                               dim=dim, min_count=count, seed=seed)
        pairs = need(dictionary, "a bilingual seed dictionary (--dictionary)")
        alignment = align_static_embeddings(source_words, target_words, pairs)
        return {"source_words": source_words, "target_words": target_words, "alignment": alignment,
                "dictionary": pairs}
    if method == "focus":
        from fieldasr.transfer.neighbour_initialisers import train_focus_auxiliary

        return {"auxiliary": train_focus_auxiliary(need(target_lines, "target-language text (--target-text)"),
                                                   target_tokenizer, min_count=10 if min_count is None else min_count,
                                                   dim=dim, seed=seed)}
    if method == "cw2v":
        from fieldasr.transfer.cw2v import tokenised_ids

        return {"token_ids": tokenised_ids(need(target_lines, "target-language text (--target-text)"), target_tokenizer)}
    if method == "clp":
        return {"helper_embeddings": need(helper_embeddings, "a small model with the target tokenizer (--helper-model)")}
    return {}
