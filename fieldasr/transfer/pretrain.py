"""Continued pretraining of a (transferred) language model on target text, through the common Trainer.

`continue_lm_pretraining` wraps `LanguageModelTask` in `fieldasr.train.Trainer`: checkpoints, resumption
(mid-epoch included), the CSV log and warm-up come from there. The masking random state of the collator is
saved with each checkpoint, so a resumed masked-LM run draws the masks the uninterrupted run would have.
Running the same call again with the same `out_dir` resumes; the end result is a plain Hugging Face model
folder (config, weights, tokenizer) in `out_dir`, usable by `fieldasr transfer rescore` and `--rescore-lm`.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, PretrainedConfig

from fieldasr.files import atomic_write_text
from fieldasr.train.trainer import Trainer, TrainerOptions
from fieldasr.transfer.errors import TargetTextError, TokenizerMismatchError, TransferError
from fieldasr.transfer.langsamp import LanguageScriptEmbeddings
from fieldasr.transfer.lm_task import (LanguageModelCollator, LanguageModelTask, TextLineDataset, causal_start_id,
                                       load_language_model)
from fieldasr.transfer.tokenizer import check_tokenizer_fits_model

TRAINING_FOLDER = "training"  # checkpoints and log.csv, inside out_dir
SUMMARY_FILE = "pretraining_summary.json"


@dataclass(frozen=True)
class LMPretrainingSummary:
    kind: str
    optimizer_steps: int
    step_losses: tuple[float, ...]  # of this run (after a resumption: the new steps only)
    valid_loss: float | None  # mean per-token loss on valid_lines after the last epoch, if given
    train_sequences: int
    skipped_lines: int  # lines with at most one token: nothing to predict
    output_dir: Path
    experiment_dir: Path

    def to_dict(self) -> dict:
        return {**asdict(self), "output_dir": str(self.output_dir), "experiment_dir": str(self.experiment_dir),
                "step_losses": list(self.step_losses)}


class _ValidationItem(list):
    """A validation sequence: masked with its own random generator, so validation never shifts training masks."""


class _ValidationLines(torch.utils.data.Dataset):
    def __init__(self, dataset: TextLineDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> _ValidationItem:
        return _ValidationItem(self.dataset[index])


class _TrainValidCollate:
    """One collate function for the Trainer's two loaders, with one masking generator each."""

    def __init__(self, train: LanguageModelCollator, valid: LanguageModelCollator) -> None:
        self.train, self.valid = train, valid

    def __call__(self, sequences: list[list[int]]) -> dict[str, torch.Tensor]:
        collator = self.valid if sequences and isinstance(sequences[0], _ValidationItem) else self.train
        return collator([list(sequence) for sequence in sequences])

    def save(self, path: Path) -> None:
        torch.save({"train": self.train.state_dict(), "valid": self.valid.state_dict()}, path)

    def load(self, path: Path, end_of_epoch: bool) -> None:
        state = torch.load(path)
        self.train.load_state_dict(state["train"])
        self.valid.load_state_dict(state["valid"])


def _load_tokenizer(tokenizer):
    if isinstance(tokenizer, (str, Path)):
        if not (Path(tokenizer) / "tokenizer_config.json").is_file() and not (Path(tokenizer) / "tokenizer.json").is_file():
            raise TokenizerMismatchError(f"{tokenizer} is not a tokenizer folder (no tokenizer.json); save one with "
                                         "`fieldasr transfer tokenizer` or tokenizer.save_pretrained()")
        tokenizer = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise TokenizerMismatchError("the tokenizer has neither a pad nor an end-of-sequence token; add a pad token")
        tokenizer.pad_token = tokenizer.eos_token  # GPT-2 style: padding is never predicted (labels are masked)
    return tokenizer


def _load_model(source, kind: str) -> nn.Module:
    if isinstance(source, nn.Module):
        return source
    if isinstance(source, (str, Path, PretrainedConfig)):
        return load_language_model(source, kind)
    raise TransferError(f"expected a model folder, a PretrainedConfig or a model, got {type(source).__name__}")


def _save_final(model: nn.Module, tokenizer, langsamp: nn.Module | None, out_dir: Path) -> None:
    """Weights and tokenizer written to a temporary folder first, then moved in: no half-written model."""
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".final-") as temporary:
        model.save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        if langsamp is not None:
            torch.save(langsamp.state_dict(), Path(temporary) / "langsamp.pt")
        for item in Path(temporary).iterdir():
            os.replace(item, out_dir / item.name)


def continue_lm_pretraining(model_dir_or_model, tokenizer, train_lines: Sequence[str], out_dir: str | Path, *,
                            kind: str = "causal", valid_lines: Sequence[str] | None = None, max_steps: int = 1000,
                            lr: float = 5e-4, batch_size: int = 16, seed: int = 0,
                            langsamp: LanguageScriptEmbeddings | None = None, language_id: int = 0, script_id: int = 0,
                            max_length: int = 128, mask_probability: float = 0.15, warmup_steps: int = 0,
                            weight_decay: float = 0.01, checkpoint_interval_steps: int = 0,
                            checkpoint_interval_minutes: float = 15.0, device: str = "cpu",
                            progress_bar: bool = True) -> LMPretrainingSummary:
    """Continue training a causal or masked LM on `train_lines`; resumable; final model + tokenizer in `out_dir`.

    `model_dir_or_model`: a local Hugging Face folder (GPT-2, RoBERTa, XLM-R, ... never downloaded), a config
    (a fresh model), or a model object. With `langsamp`, its language/script rows (`language_id`, `script_id`)
    are added before the LM head during training and saved as `langsamp.pt` next to the model.
    """
    tokenizer = _load_tokenizer(tokenizer)
    model = _load_model(model_dir_or_model, kind)
    check_tokenizer_fits_model(tokenizer, model)
    start_id = causal_start_id(tokenizer) if kind == "causal" else None  # so the first word is learnt as it is scored
    train_set = TextLineDataset(train_lines, tokenizer, max_length, start_id)
    if len(train_set) == 0:
        raise TargetTextError(f"none of the {len(train_lines)} training lines has a token to predict; give sentences")
    valid_set = _ValidationLines(TextLineDataset(valid_lines, tokenizer, max_length, start_id)) if valid_lines else None
    ids = {"language_id": language_id, "script_id": script_id} if langsamp is not None else {}
    collate = _TrainValidCollate(LanguageModelCollator(tokenizer, kind, mask_probability, seed, **ids),
                                 LanguageModelCollator(tokenizer, kind, mask_probability, seed + 1, **ids))
    out_dir = Path(out_dir)
    experiment_dir = out_dir / TRAINING_FOLDER
    options = TrainerOptions(
        experiment_dir=experiment_dir, lr=lr, weight_decay=weight_decay, warmup_steps=warmup_steps,
        max_epochs=math.ceil(max_steps * batch_size / len(train_set)) + 1, max_steps=max_steps, seed=seed,
        checkpoint_interval_steps=checkpoint_interval_steps, checkpoint_interval_minutes=checkpoint_interval_minutes,
        device=device, progress_bar=progress_bar, valid_batch_size=batch_size,
    )
    task = LanguageModelTask(model, kind, langsamp)
    trainer = Trainer(task, options, train_set, collate, batch_size=batch_size, valid_set=valid_set)
    trainer.brain.checkpointer.add_recoverable("masking", collate, custom_load_hook=_TrainValidCollate.load,
                                               custom_save_hook=_TrainValidCollate.save)
    result = trainer.fit()
    _save_final(task.model.cpu(), tokenizer, langsamp, out_dir)
    summary = LMPretrainingSummary(kind, result.optimizer_steps, result.step_losses, result.valid_metrics.get("loss"),
                                   len(train_set), train_set.skipped, out_dir, experiment_dir)
    atomic_write_text(out_dir / SUMMARY_FILE, json.dumps(summary.to_dict(), indent=1))
    return summary
