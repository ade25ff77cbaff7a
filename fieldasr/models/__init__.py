"""Acoustic models with a CTC output layer (blank = index 0).

Every model has `forward(waveforms, lengths, languages=None) -> (logits, frame_lengths)`,
`frame_lengths(sample_lengths)`, `head` (the output `torch.nn.Linear`), `architecture` and
`model_config()`, which `build_model(architecture, config)` turns back into the same model;
`model_from_settings` makes a new one from a recipe's `model:` section (both in `factory`).
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

from fieldasr.errors import FieldasrError
from fieldasr.models.bilstm import SMALL_BILSTM, TINY_BILSTM, BiLSTMConfig, BiLSTMCTC
from fieldasr.models.conformer import TINY_CONFORMER, ConformerConfig, ConformerCTC
from fieldasr.models.factory import ARCHITECTURES, build_model, model_from_settings
from fieldasr.models.wav2vec2 import TINY_WAV2VEC2, Wav2Vec2CTC


class ModelMismatchError(FieldasrError):
    """Weights do not fit the model they are loaded into."""


def load_matching_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`, or raise ModelMismatchError listing missing, unexpected and mis-shaped weights."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [f"{name}: file {tuple(state[name].shape)} vs model {tuple(expected[name].shape)}"
                 for name in sorted(set(expected) & set(state)) if state[name].shape != expected[name].shape]
    if missing or unexpected or misshaped:
        def listing(title: str, items: list[str]) -> str:
            return f"\n  {title} ({len(items)}): " + ", ".join(items[:8]) + (" ..." if len(items) > 8 else "") if items else ""
        raise ModelMismatchError(
            f"{source}: the weights do not fit a {type(model).__name__} with this configuration."
            + listing("missing", missing) + listing("unexpected", unexpected) + listing("different shape", misshaped)
            + "\nCheck that the architecture, its size and the vocabulary match the checkpoint."
        )
    model.load_state_dict(state)


__all__ = ["ARCHITECTURES", "SMALL_BILSTM", "TINY_BILSTM", "TINY_CONFORMER", "BiLSTMCTC", "BiLSTMConfig", "TINY_WAV2VEC2", "ConformerCTC", "ConformerConfig", "ModelMismatchError",
           "Wav2Vec2CTC", "build_model", "load_matching_state", "model_from_settings"]
