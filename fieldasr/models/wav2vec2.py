"""wav2vec 2.0 encoder (Hugging Face transformers) with our own CTC head: blank at index 0, never the pad.

Built from a config dict (tiny ones for tests and the demo) or from a local checkpoint directory
(`from_pretrained(directory)`, never a download). Options: freeze the convolutional feature encoder,
keep the whole encoder frozen for the first K optimizer steps, per-language adapters.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from fieldasr.errors import FieldasrError
from fieldasr.models.adapters import LanguageAdapters

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


def normalise_waveforms(waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per utterance over its real samples (what wav2vec 2.0 was trained on)."""
    mask = torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < lengths[:, None]
    count = lengths.clamp(min=1)[:, None].to(waveforms.dtype)
    mean = (waveforms * mask).sum(1, keepdim=True) / count
    variance = (((waveforms - mean) * mask) ** 2).sum(1, keepdim=True) / count
    return ((waveforms - mean) / torch.sqrt(variance + 1e-7)) * mask


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
    ) -> None:
        super().__init__()
        self.encoder_config = dict(encoder_config)
        self.encoder = Wav2Vec2Model(Wav2Vec2Config(**self.encoder_config))
        self.settings = {
            "vocab_size": vocab_size, "freeze_feature_encoder": freeze_feature_encoder, "freeze_encoder_steps": freeze_encoder_steps,
            "adapter_languages": list(adapter_languages), "adapter_size": adapter_size, "head_dropout": head_dropout,
        }
        if freeze_feature_encoder:
            self.encoder.freeze_feature_encoder()
        hidden = self.encoder.config.hidden_size
        self.adapters = None
        if adapter_languages:
            self.adapters = LanguageAdapters(adapter_languages, self.encoder.config.num_hidden_layers, hidden, adapter_size)
            self.adapters.attach(self.encoder.encoder.layers)
        self.dropout = torch.nn.Dropout(head_dropout)
        self.head = torch.nn.Linear(hidden, vocab_size)
        self.training_step = 0

    @classmethod
    def from_pretrained(cls, directory: str | Path, vocab_size: int, **options: Any) -> "Wav2Vec2CTC":
        """Encoder weights from a local Hugging Face checkpoint directory (config.json + weights); new CTC head."""
        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise FieldasrError(f"{directory}: not a Hugging Face checkpoint directory (no config.json). Give the folder holding config.json and the weights.")
        pretrained = Wav2Vec2Model.from_pretrained(str(directory), local_files_only=True)
        config = {key: value for key, value in pretrained.config.to_diff_dict().items() if key not in ("architectures", "transformers_version")}
        model = cls(config, vocab_size, **options)
        model.encoder.load_state_dict(pretrained.state_dict())
        return model

    @classmethod
    def from_model_config(cls, config: Mapping[str, Any]) -> "Wav2Vec2CTC":
        settings = dict(config)
        return cls(settings.pop("encoder_config"), settings.pop("vocab_size"), **settings)

    def model_config(self) -> dict[str, Any]:
        return {"encoder_config": self.encoder_config, **self.settings}

    def set_output_layer(self, head: torch.nn.Linear) -> None:
        """A new output layer, e.g. for another language's tokens (see output_transfer)."""
        self.head = head
        self.settings["vocab_size"] = head.out_features

    def set_training_step(self, step: int) -> None:
        self.training_step = step

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder._get_feat_extract_output_lengths(sample_lengths).to(torch.long)

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, languages: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (batch, frames, vocabulary) and the number of real frames per utterance."""
        attention_mask = (torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < lengths[:, None]).long()
        if self.adapters is not None:
            self.adapters.select(languages)
        frozen = self.training and self.training_step < self.settings["freeze_encoder_steps"]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            hidden = self.encoder(normalise_waveforms(waveforms, lengths), attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(hidden)), self.frame_lengths(lengths)

    def train_only_adapters_and_head(self) -> None:
        """MMS-style fine-tuning: everything frozen except the adapters and the output layer."""
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        if self.adapters is not None:
            for parameter in self.adapters.parameters():
                parameter.requires_grad = True
