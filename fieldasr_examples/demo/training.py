"""Stages 3 and 4 of the demo: multilingual phone CTC on the seen languages, then transfer to the target.

Both run the project's own recipes (`recipes/demo/hparams/*.yaml`, on top of `recipes/multilingual` and
`recipes/transfer`) through `fieldasr.train.recipe.run_ctc_recipe`, with the demo's paths and sizes
merged in. A stage whose bundle exists is done; an interrupted one resumes from its last checkpoint.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldasr.bundle import export_bundle, export_experiment, load_bundle
from fieldasr.errors import FieldasrError
from fieldasr.models.output_transfer import nearest_known_phones
from fieldasr.resources import find_recipe
from fieldasr.train.config import load_config, merge
from fieldasr.train.data import build_vocabulary, load_corpus
from fieldasr.train.output_transfer import save_nearest_phones, transfer_model
from fieldasr.train.recipe import run_ctc_recipe
from fieldasr_examples.demo.settings import DemoSettings


class DemoError(FieldasrError):
    """The demo cannot run as asked (missing recipe files, a stage that produced nothing)."""


@dataclass(frozen=True)
class TrainedModel:
    experiment_dir: Path
    bundle: Path
    optimizer_steps: int
    first_loss: float | None  # mean training loss of the first logged interval
    last_loss: float | None  # ... and of the last one
    valid_metrics: Mapping[str, float]  # the last validation (empty without a validation set)


def recipe_config(name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The demo's recipe recipes/demo/hparams/NAME.yaml, found by name among the recipes fieldasr ships."""
    return merge(load_config(find_recipe(f"demo/{name}")), overrides)


def training_overrides(settings: DemoSettings, steps: int) -> dict[str, Any]:
    return {"trainer": {"max_steps": steps, "lr": settings.lr, "seed": settings.seed, "checkpoint_interval_minutes": 1,
                        "log_interval_steps": max(1, min(10, steps // 20))},
            "data": {"max_batch_duration": settings.max_batch_duration}}


def train_multilingual(train: Path, dev: Path, experiment_dir: Path, bundle: Path, settings: DemoSettings, steps: int,
                       init_from: Path | None) -> TrainedModel:
    """Conformer phone CTC on the seen languages, its encoder from an SSL checkpoint or random; bundle of the
    checkpoint with the best dev PER."""
    config = recipe_config("multilingual", merge(training_overrides(settings, steps), {
        "experiment_dir": str(experiment_dir), "data": {"train": str(train), "valid": str(dev)},
        "model": {"config": dict(settings.conformer), "init_from": None if init_from is None else str(init_from)},
    }))
    steps = _train_unless_exported(config, bundle)
    if not bundle.exists():
        export_experiment(experiment_dir, bundle, metric="token_error_rate", mode="min")
    return _trained(experiment_dir, bundle, steps)


def write_nearest_phones(multilingual: Path, train: Path, path: Path) -> Path:
    """Each target phone the multilingual model lacks → its panphon feature-nearest known phone, as the YAML
    file the transfer recipe reads (`transfer.nearest_phones`), so the mapping is there to read and edit."""
    target = build_vocabulary(load_corpus(train, None, "phones"), "phones")
    return save_nearest_phones(path, nearest_known_phones(load_bundle(multilingual).vocabulary, target))


def zero_shot_bundle(multilingual: Path, train: Path, nearest_phones: Path, bundle: Path, experiment_dir: Path,
                     settings: DemoSettings, lexicon: Path, language_model: Path) -> Path:
    """The multilingual model with its output layer mapped onto the target phones, before any target training:
    what transfer starts from, and the "before" of the before/after comparison."""
    if bundle.exists():
        return bundle
    vocabulary = build_vocabulary(load_corpus(train, None, "phones"), "phones")
    experiment_dir.mkdir(parents=True, exist_ok=True)
    model = transfer_model({"init_from": str(multilingual), "nearest_phones": str(nearest_phones)}, vocabulary, experiment_dir)
    return export_bundle(bundle, model.eval(), vocabulary, label_unit="phones", language=settings.target_language,
                         lexicon=lexicon, language_model=language_model)


def train_transfer(multilingual: Path, train: Path, nearest_phones: Path, experiment_dir: Path, bundle: Path,
                   settings: DemoSettings, g2p_spec: Path, lexicon: Path, language_model: Path) -> TrainedModel:
    """Fine-tune the transferred model on the target's few minutes of labels; the bundle carries lexicon and LM."""
    config = recipe_config("transfer", merge(training_overrides(settings, settings.transfer_steps), {
        "experiment_dir": str(experiment_dir), "transfer": {"init_from": str(multilingual), "nearest_phones": str(nearest_phones)},
        "data": {"train": str(train), "language": settings.target_language, "g2p_spec": str(g2p_spec)},
    }))
    steps = _train_unless_exported(config, bundle)
    if not bundle.exists():
        export_experiment(experiment_dir, bundle, lexicon=lexicon, language_model=language_model)
    return _trained(experiment_dir, bundle, steps)


def _train_unless_exported(config: Mapping[str, Any], bundle: Path) -> int | None:
    if bundle.exists():
        return None
    summary = run_ctc_recipe(config, ["python", "-m", "fieldasr_examples.demo"])
    return summary.optimizer_steps


def _trained(experiment_dir: Path, bundle: Path, steps: int | None) -> TrainedModel:
    rows = read_log(experiment_dir / "log.csv")
    train_losses = [value for stage, _, name, value in rows if stage == "train" and name == "loss"]
    valid = {name: value for stage, _, name, value in rows if stage == "valid_epoch"}
    if steps is None:
        steps = max((step for _, step, _, _ in rows), default=0)
    return TrainedModel(experiment_dir, bundle, steps, train_losses[0] if train_losses else None,
                        train_losses[-1] if train_losses else None, valid)


def read_log(path: Path) -> list[tuple[str, int, str, float]]:
    """The trainer's long-format log as (stage, step, name, value) rows; empty when there is none yet."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as stream:
        return [(row["stage"], int(row["step"]), row["name"], float(row["value"])) for row in csv.DictReader(stream)]


