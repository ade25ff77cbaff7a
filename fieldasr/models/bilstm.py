"""Bidirectional LSTM on log-mel filterbanks with a CTC head: the architecture of Persephone (Adams et al. 2018),
the fieldwork reference for phone recognition from a few hours of one speaker.

Filterbanks (25 ms windows, 10 ms hop, mean-normalised per utterance; the Conformer's front end) → SpecAugment
masks while training → `frame_stacking` neighbouring frames concatenated (2: 20 ms frames, half the LSTM steps) →
stacked bidirectional LSTM layers with dropout between them → linear layer over the vocabulary (blank = 0).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torchaudio

from fieldasr.models.conformer import HOP_SAMPLES, WINDOW_SAMPLES, SpecAugment, log_mel_features


@dataclass(frozen=True)
class BiLSTMConfig:
    num_mel_bins: int = 80
    hidden_size: int = 256  # per direction (Persephone: 250)
    num_layers: int = 3  # Persephone: 3
    dropout: float = 0.2  # between LSTM layers and before the output layer
    frame_stacking: int = 2  # filterbank frames concatenated into one LSTM step (1: 10 ms steps)
    time_masks: int = 2  # SpecAugment, as in ConformerConfig
    time_mask_width: int = 20  # filterbank frames
    frequency_masks: int = 2
    frequency_mask_width: int = 10  # mel bins


TINY_BILSTM = BiLSTMConfig(num_mel_bins=40, hidden_size=32, num_layers=1, dropout=0.0)
# About the CPU time per step of the small-data recipe's Conformer (recipes/ctc/hparams/small_real_data.yaml).
SMALL_BILSTM = BiLSTMConfig(num_mel_bins=40, hidden_size=128, num_layers=3, dropout=0.1, frame_stacking=3)


class BiLSTMCTC(torch.nn.Module):
    architecture = "bilstm_ctc"

    def __init__(self, config: BiLSTMConfig, vocab_size: int) -> None:
        super().__init__()
        if config.frame_stacking < 1 or config.num_layers < 1:
            raise ValueError("frame_stacking and num_layers must be at least 1")  # the recipe reader checks user settings first
        self.config = config
        self.vocab_size = vocab_size
        self.filterbank = torchaudio.transforms.MelSpectrogram(
            sample_rate=16_000, n_fft=WINDOW_SAMPLES, hop_length=HOP_SAMPLES, n_mels=config.num_mel_bins
        )
        self.spec_augment = SpecAugment(config.time_masks, config.time_mask_width, config.frequency_masks, config.frequency_mask_width)
        self.lstm = torch.nn.LSTM(
            config.num_mel_bins * config.frame_stacking, config.hidden_size, num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0, bidirectional=True, batch_first=True,
        )
        self.dropout = torch.nn.Dropout(config.dropout)
        self.head = torch.nn.Linear(2 * config.hidden_size, vocab_size)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> "BiLSTMCTC":
        return cls(BiLSTMConfig(**config["bilstm"]), config["vocab_size"])

    def model_config(self) -> dict[str, Any]:
        return {"bilstm": asdict(self.config), "vocab_size": self.vocab_size}

    def set_output_layer(self, head: torch.nn.Linear) -> None:
        """A new output layer, e.g. for another language's tokens (see output_transfer)."""
        self.head = head
        self.vocab_size = head.out_features

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        frames = sample_lengths // HOP_SAMPLES + 1  # centred STFT frames
        return (frames // self.config.frame_stacking).clamp(min=0).to(torch.long)

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, languages: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.spec_augment(log_mel_features(self.filterbank, waveforms, lengths))
        stack = self.config.frame_stacking
        batch, frames, bins = features.shape
        steps = frames // stack
        stacked = features[:, : steps * stack].reshape(batch, steps, stack * bins)
        frame_lengths = self.frame_lengths(lengths).clamp(min=1, max=max(1, steps))
        packed = torch.nn.utils.rnn.pack_padded_sequence(stacked, frame_lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = torch.nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=steps)
        return self.head(self.dropout(hidden)), frame_lengths
