"""A byte-level language model: GPT-2 over the 256 bytes (+ pad, end and unknown), no tokenizer to transfer.

The tokenizer is transformers' ByT5Tokenizer without extra ids (id = byte + 3), so the saved folder loads with
`AutoTokenizer` and `load_language_model` like any other, and `fieldasr transfer pretrain`, the LM-transfer recipe
(`model.byte_level: true`) and n-best rescoring use it unchanged. A causal line is conditioned on the end token
(the tokenizer has no start token; `lm_task.causal_start_id`). Lines are bytes, about 1–2 per letter, so give
pretraining a `max_length` that holds whole lines (e.g. 512), and `positions` at least as large as the longest
hypothesis to be rescored.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import ByT5Tokenizer, GPT2Config, GPT2LMHeadModel

from fieldasr.files import atomic_directory
from fieldasr.transfer.errors import TransferError


@dataclass(frozen=True)
class ByteLevelShape:
    """Size of the byte-level GPT-2: layers, width (embedding size), attention heads, longest input in bytes."""

    layers: int = 4
    width: int = 256
    heads: int = 4
    positions: int = 1024


def byte_tokenizer() -> ByT5Tokenizer:
    return ByT5Tokenizer(extra_ids=0)


def byte_level_model(shape: ByteLevelShape = ByteLevelShape(), seed: int = 0) -> GPT2LMHeadModel:
    """A freshly initialised byte-level GPT-2 (the same weights for the same seed; the global RNG is left alone)."""
    if shape.width % shape.heads:
        raise TransferError(f"byte-level model: width {shape.width} is not a multiple of heads {shape.heads}; "
                            "choose e.g. width 256 with 4 heads")
    tokenizer = byte_tokenizer()
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=shape.positions, n_embd=shape.width,
                        n_layer=shape.layers, n_head=shape.heads, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT2LMHeadModel(config)


def save_byte_level_model(output: str | Path, shape: ByteLevelShape = ByteLevelShape(), seed: int = 0,
                          overwrite: bool = False) -> Path:
    """An untrained byte-level model and its tokenizer as a local Hugging Face folder (`transfer byte-model`)."""
    with atomic_directory(output, overwrite=overwrite) as staging:
        byte_level_model(shape, seed).save_pretrained(staging)
        byte_tokenizer().save_pretrained(staging)
    return Path(output)
