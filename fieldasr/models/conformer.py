"""Conformer on log-mel filterbanks, trained from scratch or from self-supervised weights (Whistle's architecture),
with a CTC head.

Filterbanks (25 ms windows, 10 ms hop) → SpecAugment masks while training → two stride-2 convolutions
(4× subsampling, 40 ms frames) → torchaudio's Conformer → linear layer over the vocabulary (blank = 0).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torchaudio

HOP_SAMPLES = 160
WINDOW_SAMPLES = 400


@dataclass(frozen=True)
class ConformerConfig:
    num_mel_bins: int = 80
    hidden_size: int = 144
    num_layers: int = 4
    num_heads: int = 4
    ffn_size: int = 576
    conv_kernel_size: int = 15
    dropout: float = 0.1
    subsampling_channels: int = 64
    time_masks: int = 2  # SpecAugment: number of time masks per utterance while training (0: off)
    time_mask_width: int = 20  # frames
    frequency_masks: int = 2
    frequency_mask_width: int = 10  # mel bins


TINY_CONFORMER = ConformerConfig(num_mel_bins=40, hidden_size=64, num_layers=2, num_heads=2, ffn_size=128,
                                 conv_kernel_size=7, dropout=0.0, subsampling_channels=16)


def log_mel_features(filterbank: torch.nn.Module, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Log-mel filterbanks (batch, frames, bins), mean-normalised per utterance over its real frames."""
    with torch.autocast(device_type=waveforms.device.type, enabled=False):
        features = torch.log(filterbank(waveforms.float()) + 1e-6).transpose(1, 2)
    frames = lengths // HOP_SAMPLES + 1
    mask = (torch.arange(features.shape[1], device=features.device)[None, :] < frames[:, None]).unsqueeze(-1)
    mean = (features * mask).sum(1, keepdim=True) / frames.clamp(min=1)[:, None, None]
    return (features - mean) * mask


class SpecAugment(torch.nn.Module):
    """Time and frequency masking (Park et al. 2019), different masks for each utterance; identity in eval mode."""

    def __init__(self, time_masks: int, time_mask_width: int, frequency_masks: int, frequency_mask_width: int) -> None:
        super().__init__()
        self.time = [torchaudio.transforms.TimeMasking(time_mask_width, iid_masks=True) for _ in range(time_masks)]
        self.frequency = [torchaudio.transforms.FrequencyMasking(frequency_mask_width, iid_masks=True) for _ in range(frequency_masks)]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features: (batch, frames, bins)."""
        if not self.training or not (self.time or self.frequency):
            return features
        spectrogram = features.transpose(1, 2).unsqueeze(1)  # (batch, 1, bins, frames)
        for mask in [*self.time, *self.frequency]:
            spectrogram = mask(spectrogram)
        return spectrogram.squeeze(1).transpose(1, 2)


class ConformerEncoder(torch.nn.Module):
    """Filterbanks → SpecAugment → 4× subsampling → projection → Conformer blocks: the part that CTC training and
    self-supervised pretraining (`fieldasr.ssl.conformer_pretraining`) share, under the same parameter names."""

    def __init__(self, config: ConformerConfig) -> None:
        super().__init__()
        self.config = config
        self.filterbank = torchaudio.transforms.MelSpectrogram(
            sample_rate=16_000, n_fft=WINDOW_SAMPLES, hop_length=HOP_SAMPLES, n_mels=config.num_mel_bins
        )
        self.spec_augment = SpecAugment(config.time_masks, config.time_mask_width, config.frequency_masks, config.frequency_mask_width)
        channels = config.subsampling_channels
        self.subsampling = torch.nn.Sequential(
            torch.nn.Conv2d(1, channels, 3, stride=2), torch.nn.ReLU(),
            torch.nn.Conv2d(channels, channels, 3, stride=2), torch.nn.ReLU(),
        )
        self.projection = torch.nn.Linear(self.local_feature_size, config.hidden_size)
        self.conformer = torchaudio.models.Conformer(
            input_dim=config.hidden_size, num_heads=config.num_heads, ffn_dim=config.ffn_size,
            num_layers=config.num_layers, depthwise_conv_kernel_size=config.conv_kernel_size, dropout=config.dropout,
        )

    @property
    def local_feature_size(self) -> int:
        """Width of a subsampled frame before the projection: channels × the mel bins left after two convolutions."""
        reduced_bins = ((self.config.num_mel_bins - 1) // 2 - 1) // 2
        return self.config.subsampling_channels * reduced_bins

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        frames = sample_lengths // HOP_SAMPLES + 1  # centred STFT frames
        for _ in range(2):
            frames = (frames - 3) // 2 + 1
        return frames.clamp(min=0).to(torch.long)

    def features(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return log_mel_features(self.filterbank, waveforms, lengths)

    def local_features(self, waveforms: torch.Tensor, lengths: torch.Tensor, augment: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Subsampled frames (batch, frames, local_feature_size) and frames per utterance; SpecAugment when
        `augment` and training."""
        features = self.features(waveforms, lengths)
        if augment:
            features = self.spec_augment(features)
        subsampled = self.subsampling(features.unsqueeze(1))  # (batch, channels, frames, bins)
        batch, channels, frames, bins = subsampled.shape
        frame_lengths = self.frame_lengths(lengths).clamp(min=1, max=frames)
        # torchaudio's Conformer builds its padding mask from max(lengths): drop frames past the longest utterance.
        local = subsampled.permute(0, 2, 1, 3).reshape(batch, frames, channels * bins)[:, : int(frame_lengths.max())]
        return local, frame_lengths

    def context(self, hidden: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """The Conformer blocks over projected frames (batch, frames, hidden_size)."""
        return self.conformer(hidden, frame_lengths)[0]


class ConformerCTC(ConformerEncoder):
    architecture = "conformer_ctc"
    new_layers = ("head",)  # everything else is the encoder (`trainer.encoder_lr`, `model.freeze_encoder_steps`)

    def __init__(self, config: ConformerConfig, vocab_size: int) -> None:
        super().__init__(config)
        self.vocab_size = vocab_size
        self.head = torch.nn.Linear(config.hidden_size, vocab_size)
        # Training only, not part of model_config: the output layer alone learns for the first steps, so a new head
        # over a pretrained encoder (SSL weights, another language's bundle) does not push large random gradients into it.
        self.freeze_encoder_steps = 0
        self.training_step = 0

    def set_training_step(self, step: int) -> None:
        self.training_step = step

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> "ConformerCTC":
        return cls(ConformerConfig(**config["conformer"]), config["vocab_size"])

    def model_config(self) -> dict[str, Any]:
        return {"conformer": asdict(self.config), "vocab_size": self.vocab_size}

    def set_output_layer(self, head: torch.nn.Linear) -> None:
        """A new output layer, e.g. for another language's tokens (see output_transfer)."""
        self.head = head
        self.vocab_size = head.out_features

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, languages: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        frozen = self.training and self.training_step < self.freeze_encoder_steps
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            local, frame_lengths = self.local_features(waveforms, lengths)
            hidden = self.context(self.projection(local), frame_lengths)
        return self.head(hidden), frame_lengths
