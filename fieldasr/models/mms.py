"""MMS checkpoints (e.g. mms-1b-all): per-language attention adapters in `adapter.<lang>.safetensors` beside the
model, and a vocabulary per language in vocab.json (`{lang: {token: id}}`).

An adapter file holds what transformers' `Wav2Vec2ForCTC.load_adapter(lang)` loads: every `adapter_layer` weight of
the encoder (named `wav2vec2.encoder.layers.N.adapter_layer.*`) and the language's `lm_head`. It is read here with
the same checks (no missing, no unexpected weight), into fieldasr's own encoder and head.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from fieldasr.models.hf_encoder import EncoderCheckpointError

ADAPTER_FILE = "adapter.{}.safetensors"
ENCODER_PREFIX = "wav2vec2."


def available_adapters(directory: Path) -> list[str]:
    return sorted(path.name[len("adapter."):-len(".safetensors")] for path in directory.glob("adapter.*.safetensors"))


def read_mms_adapter(directory: Path, language: str, encoder: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(encoder adapter weights named as in `encoder`, head weights {weight, bias}) of `language`'s adapter file."""
    path = directory / ADAPTER_FILE.format(language)
    if not path.is_file():
        known = available_adapters(directory)
        raise EncoderCheckpointError(f"{directory}: no adapter for language {language!r} ({path.name} is not there); "
                                     f"available: {', '.join(known) if known else 'none'}.")
    try:
        weights = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise EncoderCheckpointError(f"{path}: cannot be read as safetensors ({error}); copy the checkpoint again.") from error
    expected = {name for name, _ in encoder.named_parameters() if ".adapter_layer." in f".{name}"}
    encoder_weights = {name[len(ENCODER_PREFIX):]: tensor for name, tensor in weights.items() if name.startswith(ENCODER_PREFIX)}
    head = {name[len("lm_head."):]: tensor for name, tensor in weights.items() if name.startswith("lm_head.")}
    missing = sorted(expected - set(encoder_weights))
    unexpected = sorted(set(encoder_weights) - expected) + sorted(
        name for name in weights if not name.startswith((ENCODER_PREFIX, "lm_head.")))
    if missing or unexpected or set(head) != {"weight", "bias"}:
        raise EncoderCheckpointError(
            f"{path}: does not fit this checkpoint's adapters (missing {missing[:4]}, unexpected {unexpected[:4]}, "
            f"output layer {sorted(head)}). Use the adapter files published with this checkpoint.")
    return encoder_weights, head
