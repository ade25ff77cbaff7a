"""The one place acoustic models are made: new from a recipe's `model:` settings, or rebuilt from the
architecture name and `model_config()` a bundle or experiment folder recorded."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch

from fieldasr.errors import FieldasrError
from fieldasr.models.bilstm import BiLSTMConfig, BiLSTMCTC
from fieldasr.models.conformer import ConformerConfig, ConformerCTC
from fieldasr.models.wav2vec2 import Wav2Vec2CTC

ARCHITECTURES = {Wav2Vec2CTC.architecture: Wav2Vec2CTC, ConformerCTC.architecture: ConformerCTC, BiLSTMCTC.architecture: BiLSTMCTC}


class ModelSettings(Protocol):
    """What `model_from_settings` reads: the fields of a recipe's checked `model:` section
    (`fieldasr.train.recipe_config.ModelSection`, its `config` already complete)."""

    @property
    def architecture(self) -> str: ...
    @property
    def config(self) -> Mapping[str, Any] | None: ...
    @property
    def pretrained(self) -> str | None: ...
    @property
    def freeze_feature_encoder(self) -> bool: ...
    @property
    def adapter_languages(self) -> str | Sequence[str]: ...
    @property
    def train_only_adapters(self) -> bool: ...
    @property
    def gradient_checkpointing(self) -> bool: ...
    @property
    def mms_adapter(self) -> str | None: ...


def build_model(architecture: str, config: Mapping[str, Any]) -> torch.nn.Module:
    """The model a bundle describes: `architecture` and the `model_config()` it was saved with (weights not loaded,
    possibly not even initialised: load them with `load_matching_state`, which requires every one)."""
    if architecture not in ARCHITECTURES:
        raise FieldasrError(f"unknown model architecture {architecture!r}; known: {sorted(ARCHITECTURES)}.")
    return ARCHITECTURES[architecture].from_model_config(dict(config))


def model_from_settings(settings: ModelSettings, vocabulary_size: int, train_languages: Sequence[str]) -> torch.nn.Module:
    """A new model for training, as a recipe's `model:` section says; `train_languages` name the adapters of
    `adapter_languages: auto`."""
    config = dict(settings.config or {})
    if settings.architecture == ConformerCTC.architecture:
        return ConformerCTC(ConformerConfig(**config), vocabulary_size)
    if settings.architecture == BiLSTMCTC.architecture:
        return BiLSTMCTC(BiLSTMConfig(**config), vocabulary_size)
    adapters = settings.adapter_languages
    options = {
        "freeze_feature_encoder": settings.freeze_feature_encoder,
        "adapter_languages": sorted(set(train_languages)) if adapters == "auto" else list(adapters),
        "gradient_checkpointing": settings.gradient_checkpointing,
    }
    if settings.pretrained:
        # `config` holds only fine-tuning overrides here (masking, layerdrop, dropouts): the checkpoint decides the rest.
        model = Wav2Vec2CTC.from_pretrained(settings.pretrained, vocabulary_size, overrides=config, **options)
        if settings.mms_adapter is not None:
            model.load_mms_adapter(settings.pretrained, settings.mms_adapter, with_head=False)
    else:
        model = Wav2Vec2CTC(config, vocabulary_size, **options)
    if settings.train_only_adapters:
        model.train_only_adapters_and_head()
    return model
