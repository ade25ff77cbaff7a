"""The three-stage adaptation of a pretrained speech model to a new language (the Ainu study's protocol):

1. continued wav2vec 2.0 pretraining on untranscribed target-language audio (`pretraining:`, as recipes/continued_pretraining);
2. multilingual phone CTC fine-tuning from that checkpoint, on related languages (`multilingual:`, a CTC recipe
   as recipes/multilingual; its `model.pretrained` is the stage-1 checkpoint);
3. target-language fine-tuning from the stage-2 model, its output layer mapped onto the target's phones
   (`target:`, a CTC recipe as recipes/transfer; its `transfer.init_from` is the stage-2 bundle).

Folders inside `experiment_dir`: pretraining/ (stage 1, its checkpoint in pretraining/checkpoint), multilingual/
(stage 2), multilingual_bundle/ (stage 2 exported, the best checkpoint by its validation metric), target/ (stage 3).
Each stage resumes after a kill; rerunning a finished recipe redoes nothing but the export.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldasr.bundle import export_experiment
from fieldasr.ssl.pretrain import CHECKPOINT_FOLDER, PretrainingSummary
from fieldasr.ssl.recipe import (
    PRETRAINING_FOLDER,
    PretrainingSection,
    check_pretraining_options,
    check_pretraining_paths,
    check_source_fits,
    fine_tuning_start,
    run_pretraining_section,
    source_of,
    started_from,
)
from fieldasr.train.config import RecipeSource, read_recipe, recipe_from, record_experiment
from fieldasr.train.recipe import parse_arguments, run_ctc_recipe
from fieldasr.train.recipe_config import CTCRecipe, check_ctc_paths, checked_ctc_recipe
from fieldasr.train.schema import SettingsReader, to_plain
from fieldasr.train.trainer import TrainingSummary

MULTILINGUAL_FOLDER = "multilingual"
BUNDLE_FOLDER = "multilingual_bundle"
TARGET_FOLDER = "target"


@dataclass(frozen=True)
class StagedRecipe:
    experiment_dir: str = field(metadata={"help": "Set it to the folder for all three stages, e.g. exp/xlsr_finetune/LANGUAGE."})
    pretraining: PretrainingSection  # type: ignore[valid-type]
    multilingual: CTCRecipe  # its experiment_dir and model.pretrained are set by this recipe (see `recipe_given`)
    target: CTCRecipe  # its experiment_dir and transfer.init_from are set by this recipe


@dataclass(frozen=True)
class StagedSummary:
    pretraining: PretrainingSummary
    multilingual: TrainingSummary
    multilingual_bundle: Path
    target: TrainingSummary


def recipe_given(experiment_dir: Any, source: Any = None) -> dict[str, Any]:
    """Where each stage trains and what it starts from: the folders of the stage before it (a Conformer source:
    stage 2 is a conformer_ctc started from the checkpoint's encoder)."""
    root = Path(str(experiment_dir))
    multilingual, target = str(root / MULTILINGUAL_FOLDER), str(root / TARGET_FOLDER)
    return {
        "multilingual": {"experiment_dir": multilingual, "trainer": {"experiment_dir": multilingual},
                         "model": fine_tuning_start(source, str(root / PRETRAINING_FOLDER / CHECKPOINT_FOLDER))},
        "target": {"experiment_dir": target, "trainer": {"experiment_dir": target},
                   "transfer": {"init_from": str(root / BUNDLE_FOLDER)}},
    }


def read_staged_recipe(source: RecipeSource) -> StagedRecipe:
    """The checked settings (keys, types, choices) of all three stages; no file is looked at."""
    reader = SettingsReader(source.origins)
    given = recipe_given(source.settings.get("experiment_dir"), source_of(source.settings))
    recipe = reader.build(StagedRecipe, source.settings, (), given)
    check_pretraining_options(reader, recipe.pretraining)
    recipe = dataclasses.replace(recipe, multilingual=checked_ctc_recipe(reader, recipe.multilingual, ("multilingual",)),
                                 target=checked_ctc_recipe(reader, recipe.target, ("target",)))
    check_source_fits(reader, recipe.pretraining, recipe.multilingual.model, ("multilingual", "model"), read_checkpoint=False)
    return recipe


def check_paths(source: RecipeSource, recipe: StagedRecipe) -> None:
    """The files and folders the settings name; the ones earlier stages write (checkpoint, bundle) come later."""
    reader = SettingsReader(source.origins)
    check_pretraining_paths(reader, recipe.pretraining)
    check_source_fits(reader, recipe.pretraining, recipe.multilingual.model, ("multilingual", "model"), read_checkpoint=True)
    check_ctc_paths(source, recipe.multilingual, ("multilingual",), pretrained_later=True)
    written_later = dataclasses.replace(recipe.target.transfer, init_from=None)
    check_ctc_paths(source, dataclasses.replace(recipe.target, transfer=written_later), ("target",))


def resolved_settings(recipe: StagedRecipe) -> dict[str, Any]:
    """Every setting, defaults filled in, as written to the experiment folder (it loads again as this recipe)."""
    return to_plain(recipe, omit=recipe_given(None, recipe.pretraining.source))


def as_recipe(config: StagedRecipe | Mapping[str, Any]) -> StagedRecipe:
    return recipe_from(config, StagedRecipe, read_staged_recipe, check_paths)


def run_staged_recipe(config: StagedRecipe | Mapping[str, Any], argv: Sequence[str] = ()) -> StagedSummary:
    recipe = as_recipe(config)
    root = Path(recipe.experiment_dir)
    record_experiment(root, resolved_settings(recipe), argv)
    pretrained = run_pretraining_section(recipe.pretraining, root / PRETRAINING_FOLDER)
    stage_two = recipe.multilingual
    model = started_from(stage_two.model, pretrained.checkpoint)
    multilingual = run_ctc_recipe(dataclasses.replace(stage_two, model=model), argv)
    trainer = stage_two.trainer
    bundle = export_experiment(root / MULTILINGUAL_FOLDER, root / BUNDLE_FOLDER, metric=trainer.valid_metric,
                               mode=trainer.valid_metric_mode, overwrite=True)
    print(f"multilingual: {multilingual.optimizer_steps} steps; bundle {bundle}")
    target = run_ctc_recipe(recipe.target, argv)
    return StagedSummary(pretraining=pretrained, multilingual=multilingual, multilingual_bundle=bundle, target=target)


def main(argv: Sequence[str] | None = None) -> StagedSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    source = read_recipe(arguments.hparams, arguments.overrides)
    recipe = read_staged_recipe(source)
    check_paths(source, recipe)
    summary = run_staged_recipe(recipe, [sys.argv[0], *argv])
    print(f"done: {summary.pretraining.steps} pretraining steps, {summary.multilingual.optimizer_steps} multilingual and "
          f"{summary.target.optimizer_steps} target CTC steps; target checkpoints in {summary.target.checkpoint_dir}")
    return summary
