"""The LM-transfer recipe's steps: read target text, optionally transfer a source model's vocabulary, continue pretraining.

`recipes/lm_transfer/train.py` is a thin wrapper around `main`; languages differ only by their YAML override.
The tokenizer is trained on the training text only (never on the validation text). The recipe's settings and
their defaults are the dataclasses below; `continue_lm_pretraining`'s signature holds those of `pretraining:`.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fieldasr.files import atomic_write_text
from fieldasr.train.config import RecipeSource, read_recipe, recipe_from, record_experiment
from fieldasr.train.recipe import parse_arguments
from fieldasr.train.recipe_config import require_path
from fieldasr.train.schema import SettingsReader, settings_from_signature, to_plain
from fieldasr.transfer.byte_level import ByteLevelShape, byte_level_model, byte_tokenizer
from fieldasr.transfer.pretrain import LMPretrainingSummary, continue_lm_pretraining
from fieldasr.transfer.tokenizer import STYLES, read_target_text

PRETRAINING_SETTINGS = ("max_steps", "lr", "batch_size", "seed", "max_length", "mask_probability", "warmup_steps",
                        "weight_decay", "checkpoint_interval_steps", "checkpoint_interval_minutes", "device", "progress_bar")
LMPretrainingSection = settings_from_signature(continue_lm_pretraining, "LMPretrainingSection", PRETRAINING_SETTINGS)
TEXT_FILE = "a UTF-8 text file, one sentence per line"


@dataclass(frozen=True)
class LMDataSection:
    train_text: str = field(metadata={"help": f"Set it to the target language's training text: {TEXT_FILE}."})
    valid_text: str | None = None  # held-out lines for the validation loss


@dataclass(frozen=True)
class LMModelSection:
    kind: Literal["causal", "masked"] = "causal"  # causal: GPT-2 style; masked: RoBERTa / XLM-R style
    path: str | None = None  # continue pretraining this local model folder as is ...
    tokenizer: str | None = None  # ... with this tokenizer folder instead of the model's own
    byte_level: bool = False  # ... or: train a fresh causal GPT-2 over bytes (no tokenizer), of this shape:
    byte_shape: ByteLevelShape = ByteLevelShape()


@dataclass(frozen=True)
class LMTransferSection:
    source_model: str | None = None  # ... or: a local source-language model folder whose vocabulary is replaced
    source_text: str | None = None  # source-language text (wechsel, ofa)
    dictionary: str | None = None  # source<TAB>target word pairs (wechsel, ofa)
    method: str = "focus"  # one of fieldasr.transfer.registry.INITIALISERS
    vocab_size: int = 8000
    style: str = "byte-bpe"  # one of fieldasr.transfer.tokenizer.STYLES; like-source: the source model's tokenizer type
    min_count: int | None = None  # fastText min_count; null: each method's default
    dim: int = 100  # size of the static fastText vectors
    seed: int = 0


@dataclass(frozen=True)
class LMTransferRecipe:
    experiment_dir: str = field(metadata={"help": "Set it to the folder for checkpoints and the final model, e.g. exp/lm_transfer/LANGUAGE."})
    data: LMDataSection
    model: LMModelSection
    transfer: LMTransferSection
    pretraining: LMPretrainingSection  # type: ignore[valid-type]


def read_lm_transfer_recipe(source: RecipeSource) -> LMTransferRecipe:
    """The checked settings (keys, types, choices); no file is looked at."""
    from fieldasr.transfer.registry import INITIALISERS

    reader = SettingsReader(source.origins)
    recipe = reader.build(LMTransferRecipe, source.settings)
    reader.choice(("transfer", "method"), recipe.transfer.method, sorted(INITIALISERS))
    reader.choice(("transfer", "style"), recipe.transfer.style, STYLES)
    return recipe


def check_inputs(source: RecipeSource, recipe: LMTransferRecipe) -> None:
    """A model to start from is named (a base file may leave that to the files over it), and every path exists."""
    reader = SettingsReader(source.origins)
    starts = [bool(recipe.transfer.source_model), bool(recipe.model.path), recipe.model.byte_level]
    if sum(starts) != 1:
        raise reader.error((), "give one of model.path (a local model folder with its tokenizer), transfer.source_model "
                               "(a local source-language model whose vocabulary is replaced) or model.byte_level: true "
                               "(a fresh byte-level model)" + ("; more than one is set." if sum(starts) else "."))
    if recipe.model.byte_level and recipe.model.kind != "causal":
        raise reader.error(("model", "kind"), "model.kind: a byte-level model is causal; set model.kind: causal.")
    files = {("data", "train_text"): recipe.data.train_text, ("data", "valid_text"): recipe.data.valid_text,
             ("transfer", "source_text"): recipe.transfer.source_text}
    folders = {("model", "path"): recipe.model.path, ("model", "tokenizer"): recipe.model.tokenizer,
               ("transfer", "source_model"): recipe.transfer.source_model}
    for key, value in files.items():
        require_path(reader, key, value, TEXT_FILE, folder=False)
    require_path(reader, ("transfer", "dictionary"), recipe.transfer.dictionary, "a file of source<TAB>target word pairs", folder=False)
    if recipe.transfer.dictionary:  # a malformed line stops the run here, before the experiment folder is made
        from fieldasr.transfer.dictionary import read_bilingual_dictionary

        read_bilingual_dictionary(recipe.transfer.dictionary)
    for key, value in folders.items():
        require_path(reader, key, value, "a local Hugging Face model or tokenizer folder", folder=True)


def transferred_model(section: LMTransferSection, train_lines: list[str], kind: str, experiment_dir: Path):
    """Source model with a tokenizer trained on the target training text, embeddings initialised by `method`."""
    from fieldasr.transfer.dictionary import read_bilingual_dictionary
    from fieldasr.transfer.target_model import transfer_language_model
    from transformers import AutoTokenizer

    from fieldasr.transfer.tokenizer import make_target_tokenizer

    source_tokenizer = None
    if section.style == "like-source":
        source_tokenizer = AutoTokenizer.from_pretrained(section.source_model, local_files_only=True)
    tokenizer = make_target_tokenizer(train_lines, section.vocab_size, section.style, source_tokenizer)
    source_lines = read_target_text(section.source_text) if section.source_text else None
    dictionary = read_bilingual_dictionary(section.dictionary) if section.dictionary else None
    transferred = transfer_language_model(section.source_model, tokenizer, section.method, kind, source_lines, train_lines,
                                          dictionary, min_count=section.min_count, dim=section.dim, seed=section.seed)
    atomic_write_text(experiment_dir / "transfer_report.json", json.dumps(transferred.report, indent=1))
    print(f"vocabulary transfer ({section.method}): {transferred.report}")
    return transferred.model, tokenizer


def resolved_settings(recipe: LMTransferRecipe) -> dict:
    """Every setting, defaults filled in, as written to the experiment folder (it loads again as this recipe)."""
    return to_plain(recipe)


def as_recipe(config: LMTransferRecipe | Mapping) -> LMTransferRecipe:
    return recipe_from(config, LMTransferRecipe, read_lm_transfer_recipe, check_inputs)


def run_lm_transfer_recipe(config: LMTransferRecipe | Mapping, argv: Sequence[str] = ()) -> LMPretrainingSummary:
    recipe = as_recipe(config)
    experiment_dir, model_section = Path(recipe.experiment_dir), recipe.model
    record_experiment(experiment_dir, resolved_settings(recipe), argv)
    train_lines = read_target_text(recipe.data.train_text)
    valid_lines = read_target_text(recipe.data.valid_text) if recipe.data.valid_text else None
    if recipe.transfer.source_model:
        model, tokenizer = transferred_model(recipe.transfer, train_lines, model_section.kind, experiment_dir)
    elif model_section.byte_level:
        model, tokenizer = byte_level_model(model_section.byte_shape, recipe.pretraining.seed), byte_tokenizer()
    else:
        model, tokenizer = model_section.path, model_section.tokenizer or model_section.path
    settings = dataclasses.asdict(recipe.pretraining)
    return continue_lm_pretraining(model, tokenizer, train_lines, experiment_dir, kind=model_section.kind,
                                   valid_lines=valid_lines, **settings)


def main(argv: Sequence[str] | None = None) -> LMPretrainingSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    source = read_recipe(arguments.hparams, arguments.overrides)
    recipe = read_lm_transfer_recipe(source)
    check_inputs(source, recipe)
    summary = run_lm_transfer_recipe(recipe, [sys.argv[0], *argv])
    print(f"done: {summary.optimizer_steps} steps, valid loss {summary.valid_loss}; model in {summary.output_dir}")
    return summary
