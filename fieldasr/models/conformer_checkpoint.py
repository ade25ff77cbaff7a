"""Conformer SSL checkpoints as the phone recipes read them: the format, finding one, and its encoder's weights.

A checkpoint is a folder: `config.json` (`{"architecture": "conformer_pretraining", ...}`, the
`ConformerPretrainingConfig`) and `model.safetensors` (encoder under `encoder.`, mask embedding, quantiser and
projections), written by `fieldasr.ssl.conformer_pretraining`. `load_encoder_weights` starts a `ConformerCTC`
from it (`model.init_from` in the CTC recipes): the encoder's tensors copied, the rest left behind.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_directory
from fieldasr.models.conformer import ConformerConfig, ConformerEncoder

ARCHITECTURE = "conformer_pretraining"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_PREFIX = "encoder."
# The Conformer settings that shape the encoder's weights (or, for num_heads, how they are read): a checkpoint only
# initialises a model that has the same. Dropout and SpecAugment may differ.
ENCODER_SHAPE_SETTINGS = ("hidden_size", "num_layers", "num_heads", "ffn_size", "conv_kernel_size", "num_mel_bins",
                          "subsampling_channels")


class SSLCheckpointError(FieldasrError):
    """A Conformer SSL checkpoint is missing, incomplete, or does not fit the model asked for."""


@dataclass(frozen=True)
class ConformerPretrainingConfig:
    """The encoder's shape and the quantiser's (wav2vec 2.0 base: 2 groups of 320 codevectors, 256 wide)."""

    conformer: ConformerConfig = ConformerConfig()
    num_codevector_groups: int = 2
    num_codevectors_per_group: int = 320
    codevector_dim: int = 256  # split among the groups
    proj_codevector_dim: int = 256  # where context and targets are compared
    contrastive_logits_temperature: float = 0.1
    # Std of the code-logit weights over the layer-normalised frames: None is 1 / sqrt(frame width), logits near unit
    # size (codes spread out, drawn mostly by the Gumbel noise at first); 1.0 is fairseq's and transformers' (codes
    # decided by the frame from the start). docs/training.md says which learned sooner on which audio.
    quantizer_weight_init_std: float | None = None

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> "ConformerPretrainingConfig":
        settings = dict(settings)
        settings.pop("architecture", None)
        return cls(**{**settings, "conformer": ConformerConfig(**settings.get("conformer", {}))})

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    def validate(self) -> None:
        if self.codevector_dim % self.num_codevector_groups:
            raise SSLCheckpointError(f"codevector_dim ({self.codevector_dim}) must be divisible by num_codevector_groups "
                                     f"({self.num_codevector_groups}): each group holds an equal share.")
        if self.quantizer_weight_init_std is not None and self.quantizer_weight_init_std <= 0:
            raise SSLCheckpointError(f"quantizer_weight_init_std must be positive, got {self.quantizer_weight_init_std}.")
        if min(self.num_codevector_groups, self.num_codevectors_per_group, self.proj_codevector_dim) < 1:
            raise SSLCheckpointError("num_codevector_groups, num_codevectors_per_group and proj_codevector_dim must be at least 1.")


def write_checkpoint(config: ConformerPretrainingConfig, weights: Mapping[str, torch.Tensor], folder: str | Path) -> Path:
    """config.json + model.safetensors, written whole or not at all (`atomic_directory`)."""
    folder = Path(folder)
    with atomic_directory(folder, overwrite=True) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
        save_file({name: value.contiguous() for name, value in weights.items()}, str(staging / WEIGHTS_FILE))
    return folder


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / WEIGHTS_FILE))


def is_conformer_checkpoint(folder: str | Path) -> bool:
    """Whether `folder` holds a Conformer SSL checkpoint (its config.json names the architecture)."""
    return read_checkpoint_config(Path(folder)) is not None


def read_checkpoint_config(folder: Path) -> ConformerPretrainingConfig | None:
    """The config of a Conformer SSL checkpoint folder; None when the folder holds none (or another kind)."""
    config_file = folder / CONFIG_FILE
    if not config_file.is_file():
        return None
    try:
        settings = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SSLCheckpointError(f"{config_file}: not readable JSON ({error}).") from None
    if not isinstance(settings, dict) or settings.get("architecture") != ARCHITECTURE:
        return None
    try:
        return ConformerPretrainingConfig.from_dict(settings)
    except TypeError as error:
        raise SSLCheckpointError(f"{config_file}: not a Conformer SSL config this version of fieldasr reads ({error}).") from None


def find_ssl_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder that `path` names: the folder itself, or the one a pretraining run (`checkpoint/`) or a
    continued-pretraining recipe (`pretraining/checkpoint/`) wrote inside it."""
    path = Path(path)
    for candidate in (path, path / "checkpoint", path / "pretraining" / "checkpoint"):
        if read_checkpoint_config(candidate) is not None:
            if not (candidate / WEIGHTS_FILE).is_file():
                raise SSLCheckpointError(f"{candidate}: {CONFIG_FILE} but no {WEIGHTS_FILE}; the checkpoint is incomplete.")
            return candidate
    raise SSLCheckpointError(
        f"{path}: no Conformer SSL checkpoint here, nor in its checkpoint/ or pretraining/checkpoint/ folder. "
        f"Point to the folder holding {CONFIG_FILE} (architecture {ARCHITECTURE}) and {WEIGHTS_FILE}, or to the "
        "experiment folder of a finished `fieldasr pretrain` or continued-pretraining run."
    )


def load_encoder_weights(model: ConformerEncoder, path: str | Path) -> Path:
    """Copy a checkpoint's encoder tensors into `model` (a `ConformerCTC`: its output layer stays as it is; the
    quantiser and projections are left behind). Every encoder tensor must be there with its shape, or the error
    names the first that is not. Returns the checkpoint folder read."""
    folder = find_ssl_checkpoint(path)
    pretrained = {name.removeprefix(ENCODER_PREFIX): value for name, value in read_weights(folder).items()
                  if name.startswith(ENCODER_PREFIX)}
    own = {name: value for name, value in model.state_dict().items() if not name.startswith("head.")}  # ConformerCTC's new layer
    for name, value in own.items():
        if name not in pretrained:
            raise SSLCheckpointError(f"{folder}: the checkpoint has no encoder tensor {name}; it was not written by this "
                                     "version's Conformer pretraining.")
        if pretrained[name].shape != value.shape:
            raise SSLCheckpointError(f"{folder}: encoder tensor {name} is {tuple(pretrained[name].shape)} in the checkpoint but "
                                     f"{tuple(value.shape)} in the model; pretrain and fine-tune with the same Conformer settings.")
    model.load_state_dict({name: pretrained[name] for name in own}, strict=False)
    return folder
