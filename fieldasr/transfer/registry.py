"""Initialisers by name, with the resources each one needs named when they are missing."""
from __future__ import annotations

from typing import Any

from fieldasr.transfer.errors import MissingResourceError, TransferError
from fieldasr.transfer.initialisers import (ConvexHullInitialiser, EmbeddingInitialiser, MeanInitialiser,
                                            MultivariateNormalInitialiser, RandomInitialiser)
from fieldasr.transfer.neighbour_initialisers import ClpInitialiser, FocusInitialiser, WechselInitialiser
from fieldasr.transfer.ofa import OfaInitialiser

INITIALISERS: dict[str, type[EmbeddingInitialiser]] = {
    cls.name: cls for cls in (RandomInitialiser, MeanInitialiser, MultivariateNormalInitialiser, ConvexHullInitialiser,
                              WechselInitialiser, FocusInitialiser, ClpInitialiser, OfaInitialiser)
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
