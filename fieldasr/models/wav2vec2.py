"""A Hugging Face speech encoder (wav2vec 2.0 / XLS-R / MMS, HuBERT, WavLM, data2vec-audio, w2v-BERT 2.0) with our
own CTC head: blank at index 0, never the pad.

Built from a config dict (tiny ones for tests and the demo) or from a local checkpoint folder
(`from_pretrained(directory)`, never a download) through `fieldasr.models.hf_encoder`, which checks the family and
decides how audio enters the encoder. Options: fine-tuning overrides of the encoder's config (masking, layerdrop,
dropouts), gradient checkpointing, freezing the convolutional feature encoder, keeping the whole encoder frozen for
the first K optimizer steps, and per-language adapters: fieldasr's own bottleneck stack, or, for an MMS checkpoint
that has its own attention adapters (`adapter_attn_dim`), those, trained alone with the head (MMS's recipe).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from fieldasr.errors import FieldasrError
from fieldasr.models.adapters import LanguageAdapters
from fieldasr.models.hf_encoder import (
    LEGACY_INPUT_POLICY,
    EncoderCheckpointError,
    EncoderInputs,
    InputPolicy,
    build_encoder,
    default_input_policy,
    load_encoder,
    normalise_waveforms,
    output_size,
    read_checkpoint,
)

# Small enough to train in seconds on a CPU; keeps the usual 20 ms frame rate (stride 320).
TINY_WAV2VEC2: dict[str, Any] = {
    "hidden_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 96,
    "conv_dim": [32, 32, 32, 32, 32, 32, 32],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "mask_time_prob": 0.0,
    "hidden_dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.0,
    "layerdrop": 0.0,
}
MMS_ADAPTER_MARK = ".adapter_layer."  # transformers' name of MMS's attention adapters inside each encoder layer

__all__ = ["TINY_WAV2VEC2", "Wav2Vec2CTC", "normalise_waveforms"]


class Wav2Vec2CTC(torch.nn.Module):
    architecture = "wav2vec2_ctc"

    def __init__(
        self,
        encoder_config: Mapping[str, Any],
        vocab_size: int,
        freeze_feature_encoder: bool = True,
        freeze_encoder_steps: int = 0,
        adapter_languages: Sequence[str] = (),
        adapter_size: int = 32,
        head_dropout: float = 0.0,
        *,
        model_type: str = "wav2vec2",
        inputs: InputPolicy | Mapping[str, Any] | None = None,
        gradient_checkpointing: bool = False,
        encoder: torch.nn.Module | None = None,
    ) -> None:
        """`encoder`: an already loaded encoder of `encoder_config` (from `from_pretrained`), else one is built."""
        super().__init__()
        self.encoder_config = dict(encoder_config)
        self.model_type = model_type
        self.encoder = build_encoder(model_type, self.encoder_config) if encoder is None else encoder
        if inputs is None:
            inputs = default_input_policy(model_type, self.encoder_config)
        self.inputs = inputs if isinstance(inputs, InputPolicy) else InputPolicy.from_dict(inputs)
        self.encoder_inputs = EncoderInputs(self.inputs)
        self.settings = {
            "vocab_size": vocab_size, "freeze_feature_encoder": freeze_feature_encoder, "freeze_encoder_steps": freeze_encoder_steps,
            "adapter_languages": list(adapter_languages), "adapter_size": adapter_size, "head_dropout": head_dropout,
            "gradient_checkpointing": gradient_checkpointing,
        }
        if freeze_feature_encoder and hasattr(self.encoder, "freeze_feature_encoder"):  # w2v-BERT has no convolutions
            self.encoder.freeze_feature_encoder()
        if gradient_checkpointing:  # transformers 5 renamed it (the old name goes in 6)
            enable = getattr(self.encoder, "activation_checkpointing_enable", None) or self.encoder.gradient_checkpointing_enable
            enable()
        hidden = output_size(self.encoder)
        self.adapters = None
        if adapter_languages:
            if self.has_mms_adapters:
                raise FieldasrError(
                    "this checkpoint has its own MMS attention adapters (config.json: adapter_attn_dim); a second adapter stack "
                    "is not added on top. Remove model.adapter_languages and set model.train_only_adapters: true to train "
                    "its adapter and the output layer, MMS's way.")
            self.adapters = LanguageAdapters(adapter_languages, self.encoder.config.num_hidden_layers, hidden, adapter_size)
            self.adapters.attach(self.encoder.encoder.layers)
        self.dropout = torch.nn.Dropout(head_dropout)
        self.head = torch.nn.Linear(hidden, vocab_size)
        self.training_step = 0
        self.mms_adapter_language: str | None = None  # the language whose MMS adapter `load_mms_adapter` loaded

    @property
    def has_mms_adapters(self) -> bool:
        return getattr(self.encoder.config, "adapter_attn_dim", None) is not None

    @classmethod
    def from_pretrained(cls, directory: str | Path, vocab_size: int, overrides: Mapping[str, Any] | None = None,
                        **options: Any) -> "Wav2Vec2CTC":
        """Encoder weights from a local Hugging Face checkpoint folder of a supported family, with `overrides` of its
        fine-tuning settings (see `hf_encoder.ENCODER_OVERRIDES`); a new CTC head."""
        checkpoint = read_checkpoint(directory)
        encoder, _ = load_encoder(checkpoint, overrides)
        config = {**checkpoint.settings, **(overrides or {})}
        return cls(config, vocab_size, model_type=checkpoint.model_type, inputs=checkpoint.inputs, encoder=encoder, **options)

    @classmethod
    def from_model_config(cls, config: Mapping[str, Any]) -> "Wav2Vec2CTC":
        """The model a bundle describes, its encoder uninitialised: `load_matching_state` must fill every weight."""
        settings = dict(config)
        # Bundles from before the loader: wav2vec 2.0, always normalised, always with an attention mask.
        settings.setdefault("model_type", "wav2vec2")
        settings.setdefault("inputs", LEGACY_INPUT_POLICY)
        encoder = build_encoder(settings["model_type"], settings["encoder_config"], initialise=False)
        return cls(settings.pop("encoder_config"), settings.pop("vocab_size"), encoder=encoder, **settings)

    def model_config(self) -> dict[str, Any]:
        return {"encoder_config": self.encoder_config, "model_type": self.model_type, "inputs": self.inputs.to_dict(), **self.settings}

    def set_output_layer(self, head: torch.nn.Linear) -> None:
        """A new output layer, e.g. for another language's tokens (see output_transfer)."""
        self.head = head
        self.settings["vocab_size"] = head.out_features

    def set_training_step(self, step: int) -> None:
        self.training_step = step

    @property
    def freeze_encoder_steps(self) -> int:
        """Training only: the output layer (and adapters) alone learn for these many optimizer steps."""
        return self.settings["freeze_encoder_steps"]

    @freeze_encoder_steps.setter
    def freeze_encoder_steps(self, steps: int) -> None:
        self.settings["freeze_encoder_steps"] = steps

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder_inputs.frame_lengths(self.encoder, sample_lengths)

    def hidden_states(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder's last hidden states (batch, frames, width) for padded 16 kHz waveforms."""
        return self.encoder(**self.encoder_inputs(waveforms, lengths)).last_hidden_state

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, languages: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (batch, frames, vocabulary) and the number of real frames per utterance."""
        if self.adapters is not None:
            self.adapters.select(languages)
        frozen = self.training and self.training_step < self.freeze_encoder_steps
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            hidden = self.hidden_states(waveforms, lengths)
        return self.head(self.dropout(hidden)), self.frame_lengths(lengths)

    def train_only_adapters_and_head(self) -> None:
        """Adapter fine-tuning: everything frozen except the adapters and the output layer. An MMS checkpoint's own
        attention adapters are re-initialised first, as MMS's recipe does (`init_adapter_layers`), unless
        `load_mms_adapter` gave them a language's weights to start from."""
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        if self.has_mms_adapters:
            if self.mms_adapter_language is None:
                self.encoder.init_adapter_layers()
            for name, parameter in self.encoder.named_parameters():
                if MMS_ADAPTER_MARK in f".{name}":
                    parameter.requires_grad = True
        if self.adapters is not None:
            for parameter in self.adapters.parameters():
                parameter.requires_grad = True

    def load_mms_adapter(self, directory: str | Path, language: str, with_head: bool) -> None:
        """An MMS checkpoint's per-language adapter `adapter.<language>.safetensors` into the encoder (and, for
        zero-shot use, its output layer, rows in the file's token order)."""
        from fieldasr.models.mms import read_mms_adapter

        encoder_weights, head_weights = read_mms_adapter(Path(directory), language, self.encoder)
        self.encoder.load_state_dict(encoder_weights, strict=False)
        if with_head:
            if head_weights["weight"].shape[1] != self.head.in_features:
                raise EncoderCheckpointError(f"{directory}: adapter {language}'s output layer does not fit the encoder.")
            head = torch.nn.Linear(self.head.in_features, head_weights["weight"].shape[0])
            head.load_state_dict(head_weights)
            self.set_output_layer(head)
        self.mms_adapter_language = language
