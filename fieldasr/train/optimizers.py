"""The Trainer's optimizer: a pretrained encoder and the new layers on top of it learn at different rates.

Fine-tuning recipes (SpeechBrain's wav2vec 2.0 CTC recipes, Hugging Face's) give the pretrained encoder a
learning rate 10-100 times lower than the freshly initialised output layer and adapters. Parameters are split by
name: those under a module called `encoder` (at any depth, e.g. `model.encoder.*`, or `module.model.encoder.*`
under DDP) form the encoder group, and so does all of a model that names its own new layers (`new_layers`: the
Conformer, whose encoder is the model itself and whose new layer is `head`) but those layers; everything else,
adapters included, is "new".
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch

ENCODER_MODULE = "encoder"


def encoder_parameter_names(module: torch.nn.Module) -> set[str]:
    """Names (as `module.named_parameters()` gives them) of the pretrained encoder's parameters."""
    names = {name for name, _ in module.named_parameters() if ENCODER_MODULE in name.split(".")[:-1]}
    for prefix, owner in module.named_modules():
        new_layers = getattr(owner, "new_layers", None)
        if new_layers is None:
            continue
        for name, _ in owner.named_parameters():
            if name.split(".")[0] not in new_layers:
                names.add(f"{prefix}.{name}" if prefix else name)
    return names


def parameter_groups(module: torch.nn.Module, lr: float, encoder_lr: float | None) -> list[dict]:
    """Trainable parameters as optimizer groups, each named: one group at `lr` when `encoder_lr` is None (or
    nothing is under an encoder), else "encoder" at `encoder_lr` and "new" at `lr`. Empty groups are left out."""
    trainable = [(name, parameter) for name, parameter in module.named_parameters() if parameter.requires_grad]
    if encoder_lr is None:
        return [{"name": "all", "params": [parameter for _, parameter in trainable], "lr": lr}]
    in_encoder = encoder_parameter_names(module)
    encoder = [parameter for name, parameter in trainable if name in in_encoder]
    new = [parameter for name, parameter in trainable if name not in in_encoder]
    groups = [{"name": "encoder", "params": encoder, "lr": encoder_lr}, {"name": "new", "params": new, "lr": lr}]
    return [group for group in groups if group["params"]]


def make_optimizer(kind: Literal["adamw", "sgd"], groups: Iterable[dict], weight_decay: float) -> torch.optim.Optimizer:
    groups = list(groups)
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=groups[0]["lr"], weight_decay=weight_decay)
    return torch.optim.AdamW(groups, lr=groups[0]["lr"], weight_decay=weight_decay)
