"""A self-contained model bundle: everything transcription and evaluation need, in one folder.

    bundle/
      bundle.json        architecture, model config, label unit, language, normaliser, file names
      model.safetensors  weights
      tokens.txt         CTC vocabulary, blank first
      g2p.yaml           the G2P spec used for the labels (optional)
      subwords.model     the sentencepiece model, when the labels are subwords
      lexicon.txt, lm.*  lexicon and n-gram LM for decoding (optional)

The folder is written next to its destination and renamed into place, so a crash never leaves half a bundle.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.errors import FieldasrError
from fieldasr.models import build_model, load_matching_state
from fieldasr.text.vocabulary import Vocabulary

BUNDLE_FORMAT = 1
EXPERIMENT_MODEL_FILE = "model.json"  # written by recipes into the experiment folder


class BundleError(FieldasrError):
    """A bundle or an experiment folder cannot be exported or loaded."""


@dataclass(frozen=True)
class Bundle:
    directory: Path
    model: torch.nn.Module
    vocabulary: Vocabulary
    architecture: str
    label_unit: str  # "phones" | "characters" | "subwords"
    language: str | None
    normaliser: Any  # name or settings of the text normaliser used for the labels
    sampling_rate: int
    g2p_spec: Path | None
    subword_model: Path | None
    lexicon: Path | None
    language_model: Path | None


def _copy_optional(source: str | Path | None, folder: Path, name: str) -> str | None:
    if source is None:
        return None
    source = Path(source)
    if not source.is_file():
        raise BundleError(f"{source}: file to put into the bundle not found.")
    target = name + ("".join(source.suffixes) if name == "lm" else "")
    shutil.copyfile(source, folder / target)
    return target


def export_bundle(
    directory: str | Path, model: torch.nn.Module, vocabulary: Vocabulary, *, label_unit: str = "phones",
    language: str | None = None, normaliser: Any = None, g2p_spec: str | Path | None = None,
    lexicon: str | Path | None = None, language_model: str | Path | None = None, subword_model: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise BundleError(f"{directory}: already exists. Choose another folder or pass overwrite=True (--overwrite).")
    if model.head.out_features != len(vocabulary):
        raise BundleError(f"the model outputs {model.head.out_features} tokens but the vocabulary has {len(vocabulary)}.")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        save_file({name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}, str(staging / "model.safetensors"))
        vocabulary.save(staging / "tokens.txt")
        files = {"weights": "model.safetensors", "tokens": "tokens.txt", "g2p_spec": _copy_optional(g2p_spec, staging, "g2p.yaml"),
                 "subword_model": _copy_optional(subword_model, staging, "subwords.model"),
                 "lexicon": _copy_optional(lexicon, staging, "lexicon.txt"), "language_model": _copy_optional(language_model, staging, "lm")}
        description = {"format": BUNDLE_FORMAT, "architecture": model.architecture, "model_config": model.model_config(),
                       "label_unit": label_unit, "language": language, "normaliser": normaliser,
                       "sampling_rate": TARGET_SAMPLING_RATE, "files": files}
        (staging / "bundle.json").write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load_bundle(directory: str | Path, device: str = "cpu") -> Bundle:
    directory = Path(directory)
    description_path = directory / "bundle.json"
    if not description_path.is_file():
        raise BundleError(f"{directory}: not a model bundle (no bundle.json). Create one with `fieldasr export`.")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    if description.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{directory}: bundle format {description.get('format')} is not {BUNDLE_FORMAT}; re-export it with this fieldasr version.")
    files = description["files"]
    model = build_model(description["architecture"], description["model_config"])
    load_matching_state(model, load_file(str(directory / files["weights"])), str(directory / files["weights"]))
    model.to(device).eval()

    def optional(key: str) -> Path | None:
        return None if files.get(key) is None else directory / files[key]

    return Bundle(
        directory=directory, model=model, vocabulary=Vocabulary.load(directory / files["tokens"]),
        architecture=description["architecture"], label_unit=description["label_unit"], language=description.get("language"),
        normaliser=description.get("normaliser"), sampling_rate=int(description["sampling_rate"]),
        g2p_spec=optional("g2p_spec"), subword_model=optional("subword_model"), lexicon=optional("lexicon"), language_model=optional("language_model"),
    )


def write_experiment_model(experiment_dir: Path, model: torch.nn.Module, vocabulary: Vocabulary, extras: Mapping[str, Any]) -> None:
    """What `export_experiment` needs besides the weights: architecture, config, tokens, label settings."""
    experiment_dir.mkdir(parents=True, exist_ok=True)
    vocabulary.save(experiment_dir / "tokens.txt")
    description = {"architecture": model.architecture, "model_config": model.model_config(), **extras}
    (experiment_dir / EXPERIMENT_MODEL_FILE).write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")


def _pick_checkpoint(experiment_dir: Path, metric: str | None, mode: str) -> Path:
    checkpoints = sorted((experiment_dir / "checkpoints").glob("CKPT+*"))
    if not checkpoints:
        raise BundleError(f"{experiment_dir}: no checkpoints yet (checkpoints/CKPT+*). Train first, or check the folder.")
    if metric is None:
        return checkpoints[-1]
    import yaml

    scored = []
    for folder in checkpoints:
        meta = yaml.safe_load((folder / "CKPT.yaml").read_text()) or {}
        if metric in meta:
            scored.append((float(meta[metric]), folder))
    if not scored:
        return checkpoints[-1]
    return (min if mode == "min" else max)(scored, key=lambda pair: pair[0])[1]


def export_experiment(
    experiment_dir: str | Path, output: str | Path, metric: str | None = None, mode: str = "min", overwrite: bool = False,
    lexicon: str | Path | None = None, language_model: str | Path | None = None,
) -> Path:
    """Bundle of the best checkpoint by `metric` (the newest when None) of a recipe's experiment folder."""
    experiment_dir = Path(experiment_dir)
    description_path = experiment_dir / EXPERIMENT_MODEL_FILE
    if not description_path.is_file():
        raise BundleError(f"{experiment_dir}: no {EXPERIMENT_MODEL_FILE}; is this a folder written by a fieldasr recipe?")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    model = build_model(description["architecture"], description["model_config"])
    checkpoint = _pick_checkpoint(experiment_dir, metric, mode)
    task_state = torch.load(checkpoint / "task.ckpt", map_location="cpu", weights_only=True)
    state = {name.removeprefix("model."): tensor for name, tensor in task_state.items() if name.startswith("model.")}
    load_matching_state(model, state, str(checkpoint / "task.ckpt"))
    return export_bundle(
        output, model, Vocabulary.load(experiment_dir / "tokens.txt"), label_unit=description.get("label_unit", "phones"),
        language=description.get("language"), normaliser=description.get("normaliser"), g2p_spec=description.get("g2p_spec"),
        subword_model=description.get("subword_model"), lexicon=lexicon or description.get("lexicon"), language_model=language_model or description.get("language_model"),
        overwrite=overwrite,
    )
