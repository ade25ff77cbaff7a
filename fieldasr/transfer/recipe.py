"""The LM-transfer recipe's steps: read target text, optionally transfer a source model's vocabulary, continue pretraining.

`recipes/lm_transfer/train.py` is a thin wrapper around `main`; languages differ only by their YAML override.
The tokenizer is trained on the training text only (never on the validation text).
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldasr.files import atomic_write_text
from fieldasr.train.config import ConfigError, load_config, record_experiment
from fieldasr.train.recipe import parse_arguments
from fieldasr.transfer.pretrain import LMPretrainingSummary, continue_lm_pretraining
from fieldasr.transfer.tokenizer import read_target_text

PRETRAINING_SETTINGS = ("max_steps", "lr", "batch_size", "seed", "max_length", "mask_probability", "warmup_steps",
                        "weight_decay", "checkpoint_interval_steps", "checkpoint_interval_minutes", "device")


def transferred_model(section: Mapping[str, Any], train_lines: list[str], kind: str, experiment_dir: Path):
    """Source model with a tokenizer trained on the target training text, embeddings initialised by `method`."""
    from transformers import AutoTokenizer

    from fieldasr.transfer.apply import transfer_model_embeddings
    from fieldasr.transfer.embeddings import read_bilingual_dictionary
    from fieldasr.transfer.lm_task import load_language_model
    from fieldasr.transfer.registry import build_resources, make_initialiser
    from fieldasr.transfer.tokenizer import train_target_tokenizer

    source = section["source_model"]
    method, seed = section.get("method", "focus"), int(section.get("seed", 0))
    tokenizer = train_target_tokenizer(train_lines, int(section.get("vocab_size", 8000)), section.get("style", "byte-bpe"))
    source_lines = read_target_text(section["source_text"]) if section.get("source_text") else None
    dictionary = read_bilingual_dictionary(section["dictionary"]) if section.get("dictionary") else None
    resources = build_resources(method, tokenizer, source_lines, train_lines, dictionary,
                                min_count=section.get("min_count"), dim=int(section.get("dim", 100)), seed=seed)
    model = load_language_model(source, kind)
    source_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    result = transfer_model_embeddings(model, source_tokenizer, tokenizer, make_initialiser(method, seed=seed, **resources))
    report = {"method": method, **result.summary()}
    atomic_write_text(experiment_dir / "transfer_report.json", json.dumps(report, indent=1))
    print(f"vocabulary transfer ({method}): {report}")
    return model, tokenizer


def run_lm_transfer_recipe(config: Mapping[str, Any], argv: Sequence[str] = ()) -> LMPretrainingSummary:
    experiment_dir = Path(config["experiment_dir"])
    record_experiment(experiment_dir, config, argv)
    data, model_section = config["data"], config.get("model", {})
    settings = dict(config.get("pretraining", {}))
    unknown = sorted(set(settings) - set(PRETRAINING_SETTINGS))
    if unknown:
        raise ConfigError(f"unknown pretraining setting(s) {unknown}; known: {sorted(PRETRAINING_SETTINGS)}.")
    kind = model_section.get("kind", "causal")
    train_lines = read_target_text(data["train_text"])
    valid_lines = read_target_text(data["valid_text"]) if data.get("valid_text") else None
    transfer = config.get("transfer") or {}
    if transfer.get("source_model"):
        model, tokenizer = transferred_model(transfer, train_lines, kind, experiment_dir)
    elif model_section.get("path"):
        model, tokenizer = model_section["path"], model_section.get("tokenizer") or model_section["path"]
    else:
        raise ConfigError("give model.path (a local model folder with its tokenizer) or transfer.source_model.")
    return continue_lm_pretraining(model, tokenizer, train_lines, experiment_dir, kind=kind, valid_lines=valid_lines,
                                   **settings)


def main(argv: Sequence[str] | None = None) -> LMPretrainingSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    config = load_config(arguments.hparams, arguments.overrides)
    summary = run_lm_transfer_recipe(config, [sys.argv[0], *argv])
    print(f"done: {summary.optimizer_steps} steps, valid loss {summary.valid_loss}; model in {summary.output_dir}")
    return summary
