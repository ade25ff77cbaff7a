"""The continued-pretraining recipe: self-supervised pretraining on untranscribed target audio, then CTC fine-tuning.

The YAML has three parts: `experiment_dir`, `pretraining` (the arguments of `continue_pretraining`, with
`data` the unlabelled manifest folder and `options` the masking/Gumbel settings) and `fine_tuning` (a CTC recipe
configuration, as in recipes/ctc, whose `model.pretrained` is set to the pretrained checkpoint). Both stages
live in sub-folders of the experiment folder (pretraining/, ctc/) and resume after a kill.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fieldasr.ssl.pretrain import PretrainingSummary, continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingOptions
from fieldasr.train.config import ConfigError, load_config, merge, record_experiment
from fieldasr.train.recipe import parse_arguments, run_ctc_recipe
from fieldasr.train.trainer import TrainingSummary

PRETRAINING_FOLDER = "pretraining"
FINE_TUNING_FOLDER = "ctc"
# Settings of the pretraining section that are not keyword arguments of continue_pretraining.
SECTION_ONLY = {"source", "data", "replay", "options"}


@dataclass(frozen=True)
class RecipeSummary:
    pretraining: PretrainingSummary
    fine_tuning: TrainingSummary


def pretraining_arguments(section: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `continue_pretraining` from the YAML section; unknown keys are refused, by name."""
    allowed = {name for name, parameter in inspect.signature(continue_pretraining).parameters.items()
               if parameter.kind is inspect.Parameter.KEYWORD_ONLY} - {"options"}
    unknown = sorted(set(section) - allowed - SECTION_ONLY)
    if unknown:
        raise ConfigError(f"unknown pretraining setting(s) {unknown}; known: {sorted(allowed | SECTION_ONLY)}.")
    option_names = {field.name for field in fields(PretrainingOptions)}
    options = dict(section.get("options") or {})
    unknown_options = sorted(set(options) - option_names)
    if unknown_options:
        raise ConfigError(f"unknown pretraining.options {unknown_options}; known: {sorted(option_names)}.")
    for required in ("source", "data", "max_steps"):
        if section.get(required) is None:
            raise ConfigError(f"pretraining.{required} is not set; see recipes/continued_pretraining/hparams/base.yaml.")
    arguments = {key: value for key, value in section.items() if key in allowed}
    return {**arguments, "replay": section.get("replay"), "options": PretrainingOptions(**options)}


def fine_tuning_config(config: Mapping[str, Any], checkpoint: Path, experiment_dir: Path) -> dict[str, Any]:
    section = config.get("fine_tuning")
    if not isinstance(section, Mapping) or "data" not in section:
        raise ConfigError("the fine_tuning section (a CTC recipe configuration with data.train) is missing.")
    return merge(section, {
        "experiment_dir": str(experiment_dir / FINE_TUNING_FOLDER),
        "model": {"architecture": "wav2vec2_ctc", "pretrained": str(checkpoint)},
    })


def run_continued_pretraining_recipe(config: Mapping[str, Any], argv: Sequence[str] = ()) -> RecipeSummary:
    experiment_dir = Path(config["experiment_dir"])
    record_experiment(experiment_dir, config, argv)
    section = config.get("pretraining") or {}
    arguments = pretraining_arguments(section)
    pretrained = continue_pretraining(section["source"], section["data"], experiment_dir / PRETRAINING_FOLDER, **arguments)
    print(f"pretraining: {pretrained.steps} steps, loss {pretrained.first_loss:.3f} -> {pretrained.final_loss:.3f}; "
          f"checkpoint {pretrained.checkpoint}")
    for warning in pretrained.warnings:
        print(f"guard: {warning.message}")
    fine_tuned = run_ctc_recipe(fine_tuning_config(config, pretrained.checkpoint, experiment_dir), argv)
    return RecipeSummary(pretraining=pretrained, fine_tuning=fine_tuned)


def main(argv: Sequence[str] | None = None) -> RecipeSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    config = load_config(arguments.hparams, arguments.overrides)
    summary = run_continued_pretraining_recipe(config, [sys.argv[0], *argv])
    print(f"done: {summary.pretraining.steps} pretraining steps, {summary.fine_tuning.optimizer_steps} CTC steps; "
          f"CTC checkpoints in {summary.fine_tuning.checkpoint_dir}")
    return summary
