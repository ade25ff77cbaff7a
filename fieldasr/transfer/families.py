"""The model families text-side transfer supports, by the `model_type` of their config.json.

What differs between them is handled where it matters: tied or untied output layers and an MLM decoder bias in
`apply`, each family's tokenizer type (byte-level BPE, SentencePiece Unigram/BPE, WordPiece) and special tokens in
`vocabulary` and `tokenizer`. A family is listed here only once it has a test with a tiny model of its exact
config keys (tests/test_lm_families.py); anything else is refused by name rather than transferred half-right.
"""
from __future__ import annotations

from dataclasses import dataclass

from fieldasr.transfer.errors import UnsupportedModelError


@dataclass(frozen=True)
class ModelFamily:
    model_type: str  # config.json's "model_type"
    examples: str  # the checkpoints users know it by
    kind: str  # the objective it was pretrained with: causal | masked


FAMILIES: dict[str, ModelFamily] = {family.model_type: family for family in (
    ModelFamily("gpt2", "GPT-2, mGPT", "causal"),
    ModelFamily("llama", "Llama, TinyLlama", "causal"),
    ModelFamily("qwen2", "Qwen2, Qwen2.5", "causal"),
    ModelFamily("xlm-roberta", "XLM-R", "masked"),
    ModelFamily("roberta", "RoBERTa", "masked"),
    ModelFamily("bert", "BERT, mBERT", "masked"),
)}


def model_family(config, where: str = "the source model") -> ModelFamily:
    """The family of a transformers config; raises UnsupportedModelError naming the family and the supported ones."""
    model_type = getattr(config, "model_type", None) or "unknown"
    family = FAMILIES.get(model_type)
    if family is None:
        supported = ", ".join(f"{name} ({family.examples})" for name, family in FAMILIES.items())
        raise UnsupportedModelError(
            f"{where} is a {model_type!r} model (config.json model_type); text-side transfer supports {supported}. "
            f"Choose a source model of one of these families")
    return family


def check_source_model(path, kind: str) -> ModelFamily:
    """The family of the local model folder `path`, checked to be supported and pretrained as a `kind` LM."""
    from fieldasr.transfer.lm_task import read_model_config

    where = f"source model {path}"
    family = model_family(read_model_config(path), where)
    check_kind(family, kind, where)
    return family


def check_kind(family: ModelFamily, kind: str, where: str = "the source model") -> None:
    """Raise if `kind` is not the objective the family was pretrained with (its LM head would not fit)."""
    if kind != family.kind:
        raise UnsupportedModelError(
            f"{where} is a {family.model_type} model, a {family.kind} LM, but kind {kind!r} was asked for; "
            f"use --kind {family.kind} (recipes: model.kind: {family.kind})")
