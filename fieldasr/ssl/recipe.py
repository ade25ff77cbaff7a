"""The continued-pretraining recipe: self-supervised pretraining on untranscribed target audio, then CTC fine-tuning.

The YAML has three parts: `experiment_dir`, `pretraining` (the arguments of `continue_pretraining`, with
`data` the unlabelled manifest folder and `options` the masking/Gumbel settings) and `fine_tuning` (a CTC recipe
configuration, as in recipes/ctc, whose `model.pretrained` is set to the pretrained checkpoint). Both stages
live in sub-folders of the experiment folder (pretraining/, ctc/) and resume after a kill.

With a Conformer source (`source: {architecture: conformer, ...}`, `fieldasr.ssl.conformer_source`) the
fine-tuning model is a conformer_ctc whose `model.init_from` is the checkpoint, and its size/config must give
the encoder the source's shape (checked before anything runs).
"""
from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldasr.models.conformer_checkpoint import read_checkpoint_config
from fieldasr.ssl.conformer_source import is_conformer_source, read_conformer_source
from fieldasr.ssl.pretrain import CHECKPOINT_FOLDER, PretrainingSummary, continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingError
from fieldasr.train.config import KeyPath, RecipeSource, read_recipe, recipe_from, record_experiment
from fieldasr.train.recipe import parse_arguments, run_ctc_recipe
from fieldasr.train.recipe_config import (
    MANIFEST_FOLDER,
    CTCRecipe,
    ModelSection,
    check_ctc_paths,
    check_ssl_checkpoint,
    checked_ctc_recipe,
    refuse_encoder_mismatch,
    require_manifests,
    require_path,
)
from fieldasr.train.schema import SettingsReader, settings_from_signature, to_plain
from fieldasr.train.trainer import Precision, TrainingSummary

PRETRAINING_FOLDER = "pretraining"
FINE_TUNING_FOLDER = "ctc"

# The `pretraining:` section: continue_pretraining's keyword arguments, their defaults taken from its signature.
PretrainingSection = settings_from_signature(
    continue_pretraining, "PretrainingSection",
    ["source"] + [name for name, parameter in inspect.signature(continue_pretraining).parameters.items()
                  if parameter.kind is inspect.Parameter.KEYWORD_ONLY],
    narrowed={"source": str | Mapping[str, Any], "replay": str | None, "precision": Precision},
    extra={"data": str},
    helps={"source": "Set it to a local Hugging Face checkpoint folder (e.g. models/xlsr-53), a mapping of "
                     "wav2vec 2.0 config settings to pretrain from scratch, or a Conformer: {architecture: conformer, "
                     "init_from: SSL checkpoint or experiment folder} (or size/config instead of init_from: from scratch).",
           "data": f"Set it to the untranscribed audio's manifests: {MANIFEST_FOLDER}, e.g. from `fieldasr vad-chunk`.",
           "max_steps": "Set it to the number of optimizer updates, e.g. 10000."},
)


@dataclass(frozen=True)
class ContinuedPretrainingRecipe:
    experiment_dir: str = field(metadata={"help": "Set it to the folder for both stages, e.g. exp/continued_pretraining/LANGUAGE."})
    pretraining: PretrainingSection  # type: ignore[valid-type]
    fine_tuning: CTCRecipe  # its experiment_dir and model.pretrained are set by this recipe (see `recipe_given`)


@dataclass(frozen=True)
class RecipeSummary:
    pretraining: PretrainingSummary
    fine_tuning: TrainingSummary


def fine_tuning_start(source: Any, checkpoint: str) -> dict[str, str]:
    """How the CTC model after the pretraining stage starts from its checkpoint: a wav2vec2_ctc's `pretrained`, or
    a conformer_ctc's `init_from` when the source (as written in the settings) is a Conformer."""
    if is_conformer_source(source):
        return {"architecture": "conformer_ctc", "init_from": checkpoint}
    return {"architecture": "wav2vec2_ctc", "pretrained": checkpoint}


def started_from(model: ModelSection, checkpoint: Path) -> ModelSection:
    """`model` with the pretraining stage's checkpoint as `fine_tuning_start` says it starts."""
    key = "init_from" if model.architecture == "conformer_ctc" else "pretrained"
    return dataclasses.replace(model, **{key: str(checkpoint)})


def recipe_given(experiment_dir: Any, source: Any = None) -> dict[str, Any]:
    """The fine-tuning stage trains in ctc/ from the checkpoint the pretraining stage writes."""
    fine_tuning_dir = str(Path(str(experiment_dir)) / FINE_TUNING_FOLDER)
    checkpoint = str(Path(str(experiment_dir)) / PRETRAINING_FOLDER / CHECKPOINT_FOLDER)
    return {"fine_tuning": {"experiment_dir": fine_tuning_dir, "trainer": {"experiment_dir": fine_tuning_dir},
                            "model": fine_tuning_start(source, checkpoint)}}


def source_of(settings: Any) -> Any:
    """The `pretraining.source` setting as written (before checking), which decides how fine-tuning starts."""
    pretraining = settings.get("pretraining") if isinstance(settings, dict) else None
    return pretraining.get("source") if isinstance(pretraining, dict) else None


def read_continued_pretraining_recipe(source: RecipeSource) -> ContinuedPretrainingRecipe:
    """The checked settings (keys, types, choices); no file is looked at."""
    reader = SettingsReader(source.origins)
    given = recipe_given(source.settings.get("experiment_dir"), source_of(source.settings))
    recipe = reader.build(ContinuedPretrainingRecipe, source.settings, (), given)
    check_pretraining_options(reader, recipe.pretraining)
    recipe = dataclasses.replace(recipe, fine_tuning=checked_ctc_recipe(reader, recipe.fine_tuning, ("fine_tuning",)))
    check_source_fits(reader, recipe.pretraining, recipe.fine_tuning.model, ("fine_tuning", "model"), read_checkpoint=False)
    return recipe


def check_pretraining_options(reader: SettingsReader, section: PretrainingSection) -> None:  # type: ignore[valid-type]
    try:
        section.options.validate()
    except PretrainingError as error:
        raise reader.error(("pretraining", "options"), f"pretraining.options: {error}") from None
    if is_conformer_source(section.source):
        read_conformer_source(section.source, reader, ("pretraining", "source"))


def check_source_fits(reader: SettingsReader, section: PretrainingSection, model: ModelSection, model_path: KeyPath,  # type: ignore[valid-type]
                      read_checkpoint: bool) -> None:
    """A Conformer source must give the CTC model's encoder shape, or fine-tuning would fail after pretraining.
    From scratch the settings say the shape; continued (`init_from`) the checkpoint does, read with the files."""
    if not is_conformer_source(section.source):
        return
    key = ("pretraining", "source")
    source = read_conformer_source(section.source, reader, key)
    if source.init_from is None:
        refuse_encoder_mismatch(reader, source.config, model.config or {}, model_path, "the pretraining source (pretraining.source)")
    elif read_checkpoint:
        check_ssl_checkpoint(reader, source.init_from, key + ("init_from",), model, model_path)


def check_paths(source: RecipeSource, recipe: ContinuedPretrainingRecipe) -> None:
    reader = SettingsReader(source.origins)
    check_pretraining_paths(reader, recipe.pretraining)
    check_source_fits(reader, recipe.pretraining, recipe.fine_tuning.model, ("fine_tuning", "model"), read_checkpoint=True)
    check_ctc_paths(source, recipe.fine_tuning, ("fine_tuning",), pretrained_later=True)


def resolved_settings(recipe: ContinuedPretrainingRecipe) -> dict[str, Any]:
    """Every setting, defaults filled in, as written to the experiment folder (it loads again as this recipe)."""
    return to_plain(recipe, omit=recipe_given(None, recipe.pretraining.source))


def as_recipe(config: ContinuedPretrainingRecipe | Mapping[str, Any]) -> ContinuedPretrainingRecipe:
    return recipe_from(config, ContinuedPretrainingRecipe, read_continued_pretraining_recipe, check_paths)


def run_pretraining_section(section: PretrainingSection, out_dir: Path) -> PretrainingSummary:  # type: ignore[valid-type]
    """The `pretraining:` stage of a recipe: `continue_pretraining` with the section's settings, its outcome printed."""
    arguments = {name: getattr(section, name) for name in (f.name for f in dataclasses.fields(section)) if name not in ("source", "data")}
    pretrained = continue_pretraining(section.source, section.data, out_dir, **arguments)
    print(f"pretraining: {pretrained.steps} steps, loss {pretrained.first_loss:.3f} -> {pretrained.final_loss:.3f}; "
          f"checkpoint {pretrained.checkpoint}")
    for warning in pretrained.warnings:
        print(f"guard: {warning.message}")
    return pretrained


def check_pretraining_paths(reader: SettingsReader, section: PretrainingSection) -> None:  # type: ignore[valid-type]
    if isinstance(section.source, str):
        require_path(reader, ("pretraining", "source"), section.source, "a local Hugging Face checkpoint folder", folder=True)
        if read_checkpoint_config(Path(section.source)) is not None:
            raise reader.error(("pretraining", "source"), f"pretraining.source: {section.source} is a Conformer SSL checkpoint; "
                                                          f"write `source: {{architecture: conformer, init_from: {section.source}}}`.")
    require_manifests(reader, ("pretraining", "data"), section.data)
    require_manifests(reader, ("pretraining", "replay"), section.replay)


def run_continued_pretraining_recipe(config: ContinuedPretrainingRecipe | Mapping[str, Any], argv: Sequence[str] = ()) -> RecipeSummary:
    recipe = as_recipe(config)
    experiment_dir = Path(recipe.experiment_dir)
    record_experiment(experiment_dir, resolved_settings(recipe), argv)
    pretrained = run_pretraining_section(recipe.pretraining, experiment_dir / PRETRAINING_FOLDER)
    fine_tuning = recipe.fine_tuning
    model = started_from(fine_tuning.model, pretrained.checkpoint)
    fine_tuned = run_ctc_recipe(dataclasses.replace(fine_tuning, model=model), argv)
    return RecipeSummary(pretraining=pretrained, fine_tuning=fine_tuned)


def main(argv: Sequence[str] | None = None) -> RecipeSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    source = read_recipe(arguments.hparams, arguments.overrides)
    recipe = read_continued_pretraining_recipe(source)
    check_paths(source, recipe)
    summary = run_continued_pretraining_recipe(recipe, [sys.argv[0], *argv])
    print(f"done: {summary.pretraining.steps} pretraining steps, {summary.fine_tuning.optimizer_steps} CTC steps; "
          f"CTC checkpoints in {summary.fine_tuning.checkpoint_dir}")
    return summary
