"""Continued pretraining of a Hugging Face language model (causal or masked) as a Trainer task.

`LanguageModelTask.forward(batch) -> TaskOutput` follows the common task contract: loss averaged over
predicted tokens, stats, and weight = number of predicted tokens. Batches come from `TextLineDataset` and
`LanguageModelCollator`; masking for the masked LM happens in the collator (80 % <mask>, 10 % random,
10 % unchanged, as in BERT/RoBERTa), seeded so a resumed run sees the same masks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, PretrainedConfig

from fieldasr.train.task import TaskOutput
from fieldasr.transfer.errors import TokenizerMismatchError, TransferError
from fieldasr.transfer.langsamp import LanguageScriptEmbeddings

KINDS = ("causal", "masked")
IGNORE = -100


def load_language_model(source: str | Path | PretrainedConfig, kind: str) -> nn.Module:
    """A model from a local directory (never the hub) or a fresh one from a config."""
    if kind not in KINDS:
        raise TransferError(f"unknown language-model kind {kind!r}; choose one of {KINDS}")
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForMaskedLM
    if isinstance(source, PretrainedConfig):
        return auto.from_config(source)
    read_model_config(source)
    return auto.from_pretrained(Path(source), local_files_only=True)


def read_model_config(source: str | Path) -> PretrainedConfig:
    """The config of a local model directory (never the hub)."""
    path = Path(source)
    if not (path / "config.json").is_file():
        raise TransferError(f"{path} is not a local model directory (no config.json); models are never downloaded")
    return AutoConfig.from_pretrained(path, local_files_only=True)


def causal_start_id(tokenizer) -> int | None:
    """The token a causal LM is conditioned on before the first word (<s>, or GPT-2's <|endoftext|>)."""
    return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id


class TextLineDataset(torch.utils.data.Dataset):
    """Each text line tokenised once and cut to `max_length` tokens (with the tokenizer's special tokens).

    With `start_id` (causal LMs: `causal_start_id(tokenizer)`), lines the tokenizer does not already start with
    it get it prepended, so the first word is predicted too, as rescoring scores it.
    """

    def __init__(self, lines: Sequence[str], tokenizer, max_length: int = 128, start_id: int | None = None) -> None:
        encoded = tokenizer(list(lines), truncation=True, max_length=max_length, add_special_tokens=True)
        sequences = encoded["input_ids"]
        if start_id is not None:
            sequences = [ids if ids[:1] == [start_id] else [start_id, *ids][:max_length] for ids in sequences]
        self.items = [ids for ids in sequences if len(ids) > 1]
        self.skipped = len(lines) - len(self.items)  # lines of one token or less: nothing to predict

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> list[int]:
        return self.items[index]


@dataclass
class LanguageModelCollator:
    """Pads a list of id lists into input_ids/attention_mask/labels; masks tokens for a masked LM."""

    tokenizer: object
    kind: str
    mask_probability: float = 0.15
    seed: int = 0
    language_id: int | None = None  # LangSAMP: added to every batch as language_ids / script_ids
    script_id: int | None = None

    def __post_init__(self) -> None:
        if self.tokenizer.pad_token_id is None:
            raise TokenizerMismatchError("the tokenizer has no pad token; set tokenizer.pad_token before training")
        if self.kind == "masked" and self.tokenizer.mask_token_id is None:
            raise TokenizerMismatchError("a masked LM needs a tokenizer with a mask token (e.g. <mask>)")
        self.generator = torch.Generator().manual_seed(self.seed)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The masking random state, saved with a checkpoint so a resumed run draws the same masks."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])

    def __call__(self, sequences: list[list[int]]) -> dict[str, torch.Tensor]:
        length = max(len(sequence) for sequence in sequences)
        input_ids = torch.full((len(sequences), length), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            input_ids[row, :len(sequence)] = torch.tensor(sequence)
            attention_mask[row, :len(sequence)] = 1
        labels = input_ids.masked_fill(attention_mask == 0, IGNORE)
        if self.kind == "masked":
            input_ids, labels = self._mask(input_ids, labels)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        if self.language_id is not None:
            batch["language_ids"] = torch.full((len(sequences),), self.language_id, dtype=torch.long)
        if self.script_id is not None:
            batch["script_ids"] = torch.full((len(sequences),), self.script_id, dtype=torch.long)
        return batch

    def _mask(self, input_ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        special = torch.isin(input_ids, torch.tensor(self.tokenizer.all_special_ids))
        chosen = (torch.rand(input_ids.shape, generator=self.generator) < self.mask_probability) & ~special
        labels = labels.masked_fill(~chosen, IGNORE)
        roll = torch.rand(input_ids.shape, generator=self.generator)
        masked = input_ids.masked_fill(chosen & (roll < 0.8), self.tokenizer.mask_token_id)
        random_tokens = torch.randint(len(self.tokenizer), input_ids.shape, generator=self.generator)
        replace = chosen & (roll >= 0.8) & (roll < 0.9)
        return torch.where(replace, random_tokens, masked), labels


class LanguageModelTask(nn.Module):
    """Causal or masked LM loss of `model`, optionally with LangSAMP language/script embeddings."""

    def __init__(self, model: nn.Module, kind: str, langsamp: LanguageScriptEmbeddings | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise TransferError(f"unknown language-model kind {kind!r}; choose one of {KINDS}")
        self.model, self.kind, self.langsamp = model, kind, langsamp

    def logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.langsamp is None:
            return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        if "language_ids" not in batch or "script_ids" not in batch:
            raise TransferError("LangSAMP needs language_ids and script_ids in each batch; give the collator "
                                "language_id and script_id")
        hidden = self.model.base_model(input_ids=batch["input_ids"],
                                       attention_mask=batch["attention_mask"]).last_hidden_state
        hidden = self.langsamp(hidden, batch["language_ids"], batch["script_ids"])
        return self.model.lm_head(hidden)

    def forward(self, batch: dict[str, torch.Tensor]) -> TaskOutput:
        logits = self.logits(batch)
        labels = batch["labels"]
        if self.kind == "causal":  # token t predicts token t+1
            logits, labels = logits[:, :-1], labels[:, 1:]
        predicted = int((labels != IGNORE).sum())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=IGNORE,
                               reduction="sum") / max(predicted, 1)
        value = float(loss.detach())
        return TaskOutput(loss=loss, stats={"loss": value, "perplexity": float(torch.exp(loss.detach().clamp(max=50))),
                                            "tokens": float(predicted)}, weight=float(predicted))
