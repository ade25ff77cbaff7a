"""The wav2vec 2.0 objective on the filterbank Conformer (Whistle's SSL baseline): cheap enough for a CPU.

The Conformer encoder is the phone model's (`fieldasr.models.conformer.ConformerEncoder`, same parameter names),
so a checkpoint initialises `ConformerCTC` (`model.init_from` in the CTC recipes, `fieldasr.train.ssl_init`).
Span masking replaces projected subsampled frames by a learned embedding before the Conformer blocks; the
targets are the unmasked subsampled frames (before the projection, as wav2vec 2.0 quantises its convolutions'
output) through transformers' Gumbel-softmax product quantiser. The objective is `fieldasr.ssl.objective`'s.

A checkpoint is a folder: `config.json` (`{"architecture": "conformer_pretraining", ...}`, the
`ConformerPretrainingConfig`) and `model.safetensors` (encoder, mask embedding, quantiser and projections).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import Wav2Vec2Config
from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2GumbelVectorQuantizer

from fieldasr.files import atomic_directory
from fieldasr.models.conformer import ConformerConfig, ConformerEncoder
from fieldasr.ssl.guard import GradientGuard
from fieldasr.ssl.objective import PretrainingStates
from fieldasr.ssl.pretraining_task import ContrastivePretrainingTask, PretrainingError, PretrainingOptions

ARCHITECTURE = "conformer_pretraining"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_PREFIX = "encoder."
# The Conformer settings that shape the encoder's weights (or, for num_heads, how they are read): a checkpoint only
# initialises a model that has the same. Dropout and SpecAugment may differ.
ENCODER_SHAPE_SETTINGS = ("hidden_size", "num_layers", "num_heads", "ffn_size", "conv_kernel_size", "num_mel_bins",
                          "subsampling_channels")


@dataclass(frozen=True)
class ConformerPretrainingConfig:
    """The encoder's shape and the quantiser's (wav2vec 2.0 base: 2 groups of 320 codevectors, 256 wide)."""

    conformer: ConformerConfig = ConformerConfig()
    num_codevector_groups: int = 2
    num_codevectors_per_group: int = 320
    codevector_dim: int = 256  # split among the groups
    proj_codevector_dim: int = 256  # where context and targets are compared
    contrastive_logits_temperature: float = 0.1

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> "ConformerPretrainingConfig":
        settings = dict(settings)
        settings.pop("architecture", None)
        return cls(**{**settings, "conformer": ConformerConfig(**settings.get("conformer", {}))})

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    def validate(self) -> None:
        if self.codevector_dim % self.num_codevector_groups:
            raise PretrainingError(f"codevector_dim ({self.codevector_dim}) must be divisible by num_codevector_groups "
                                   f"({self.num_codevector_groups}): each group holds an equal share.")
        if min(self.num_codevector_groups, self.num_codevectors_per_group, self.proj_codevector_dim) < 1:
            raise PretrainingError("num_codevector_groups, num_codevectors_per_group and proj_codevector_dim must be at least 1.")


class ConformerPretrainingModel(torch.nn.Module):
    def __init__(self, config: ConformerPretrainingConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = ConformerEncoder(config.conformer)
        hidden = config.conformer.hidden_size
        self.masked_spec_embed = torch.nn.Parameter(torch.empty(hidden).uniform_())  # as transformers initialises it
        quantizer_config = Wav2Vec2Config(
            conv_dim=(self.encoder.local_feature_size,), conv_stride=(1,), conv_kernel=(1,),
            num_codevector_groups=config.num_codevector_groups, num_codevectors_per_group=config.num_codevectors_per_group,
            codevector_dim=config.codevector_dim,
        )
        self.quantizer = Wav2Vec2GumbelVectorQuantizer(quantizer_config)
        # transformers' own initialisation of the quantiser (`_init_weights`): the module leaves the codebook empty.
        torch.nn.init.uniform_(self.quantizer.codevectors)
        torch.nn.init.normal_(self.quantizer.weight_proj.weight, mean=0.0, std=1.0)
        torch.nn.init.zeros_(self.quantizer.weight_proj.bias)
        self.project_hid = torch.nn.Linear(hidden, config.proj_codevector_dim)
        self.project_q = torch.nn.Linear(config.codevector_dim, config.proj_codevector_dim)

    @property
    def codebook_size(self) -> int:
        return self.config.num_codevector_groups * self.config.num_codevectors_per_group

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        # The span mask is the only masking: SpecAugment would hide from the targets what the mask leaves visible.
        local, frame_lengths = self.encoder.local_features(waveforms, lengths, augment=False)
        hidden = self.encoder.projection(local)
        hidden = torch.where(mask_time_indices[..., None], self.masked_spec_embed.to(hidden.dtype), hidden)
        context = self.encoder.context(hidden, frame_lengths)
        quantized, perplexity = self.quantizer(local, mask_time_indices=mask_time_indices)
        return PretrainingStates(self.project_hid(context), self.project_q(quantized.to(self.project_q.weight.dtype)), perplexity)

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The encoder's tensors under the names `ConformerCTC` gives them (no prefix)."""
        return {name.removeprefix(ENCODER_PREFIX): value for name, value in self.state_dict().items() if name.startswith(ENCODER_PREFIX)}


class ConformerPretrainingTask(ContrastivePretrainingTask):
    """The objective on `ConformerPretrainingModel`; waveforms enter as the CTC model takes them (not normalised:
    the log-mel features are mean-normalised per utterance)."""

    normalise_input = False

    def __init__(self, model: ConformerPretrainingModel, options: PretrainingOptions = PretrainingOptions(),
                 guard: GradientGuard | None = None) -> None:
        self.logits_temperature = model.config.contrastive_logits_temperature
        super().__init__(model, options, guard, model.codebook_size)

    def set_gumbel_temperature(self, temperature: float) -> None:
        self.model.quantizer.temperature = temperature

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        return self.model.encoder.frame_lengths(sample_lengths)

    def states(self, batch: dict[str, torch.Tensor], attention_mask: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        return self.model(batch["input_values"], attention_mask.sum(-1), mask_time_indices.bool())

    def save_checkpoint(self, folder: str | Path) -> Path:
        return save_conformer_checkpoint(self.model, folder)


def save_conformer_checkpoint(model: ConformerPretrainingModel, folder: str | Path) -> Path:
    """config.json + model.safetensors, written whole or not at all (`atomic_directory`)."""
    folder = Path(folder)
    with atomic_directory(folder, overwrite=True) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(model.config.to_dict(), indent=2), encoding="utf-8")
        save_file({name: value.contiguous() for name, value in model.state_dict().items()}, str(staging / WEIGHTS_FILE))
    return folder


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
        raise PretrainingError(f"{config_file}: not readable JSON ({error}).") from None
    if not isinstance(settings, dict) or settings.get("architecture") != ARCHITECTURE:
        return None
    try:
        return ConformerPretrainingConfig.from_dict(settings)
    except TypeError as error:
        raise PretrainingError(f"{config_file}: not a Conformer SSL config this version of fieldasr reads ({error}).") from None


def find_ssl_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder that `path` names: the folder itself, or the one a pretraining run (`checkpoint/`) or a
    continued-pretraining recipe (`pretraining/checkpoint/`) wrote inside it."""
    path = Path(path)
    for candidate in (path, path / "checkpoint", path / "pretraining" / "checkpoint"):
        if read_checkpoint_config(candidate) is not None:
            if not (candidate / WEIGHTS_FILE).is_file():
                raise PretrainingError(f"{candidate}: {CONFIG_FILE} but no {WEIGHTS_FILE}; the checkpoint is incomplete.")
            return candidate
    raise PretrainingError(
        f"{path}: no Conformer SSL checkpoint here, nor in its checkpoint/ or pretraining/checkpoint/ folder. "
        f"Point to the folder holding {CONFIG_FILE} (architecture {ARCHITECTURE}) and {WEIGHTS_FILE}, or to the "
        "experiment folder of a finished `fieldasr pretrain` or continued-pretraining run."
    )


def load_conformer_checkpoint(path: str | Path) -> ConformerPretrainingModel:
    """The whole pretraining model (to continue pretraining) from a checkpoint or experiment folder."""
    folder = find_ssl_checkpoint(path)
    model = ConformerPretrainingModel(read_checkpoint_config(folder))  # type: ignore[arg-type]
    weights = load_file(str(folder / WEIGHTS_FILE))
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise PretrainingError(f"{folder}: the weights do not fit its config.json ({error}).") from None
    return model


def load_encoder_weights(model: ConformerEncoder, path: str | Path) -> Path:
    """Copy a checkpoint's encoder tensors into `model` (a `ConformerCTC`: its output layer stays as it is; the
    quantiser and projections are left behind). Every encoder tensor must be there with its shape, or the error
    names the first that is not. Returns the checkpoint folder read."""
    folder = find_ssl_checkpoint(path)
    pretrained = {name.removeprefix(ENCODER_PREFIX): value for name, value in load_file(str(folder / WEIGHTS_FILE)).items()
                  if name.startswith(ENCODER_PREFIX)}
    own = {name: value for name, value in model.state_dict().items() if not name.startswith("head.")}
    for name, value in own.items():
        if name not in pretrained:
            raise PretrainingError(f"{folder}: the checkpoint has no encoder tensor {name}; it was not written by this "
                                   "version's Conformer pretraining.")
        if pretrained[name].shape != value.shape:
            raise PretrainingError(f"{folder}: encoder tensor {name} is {tuple(pretrained[name].shape)} in the checkpoint but "
                                   f"{tuple(value.shape)} in the model; pretrain and fine-tune with the same Conformer settings.")
    model.load_state_dict({name: pretrained[name] for name in own}, strict=False)
    return folder
