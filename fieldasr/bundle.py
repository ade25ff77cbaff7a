"""A self-contained model bundle: everything transcription and evaluation need, in one folder.

    bundle/
      bundle.json        architecture, model config, label unit, language, the text normaliser's settings, file names, checksums
      model.safetensors  weights
      tokens.txt         CTC vocabulary, blank first
      g2p.yaml           the G2P spec used for the labels (optional), its paths rewritten to point inside the bundle:
      g2p.rules          ... its rule file and
      g2p-lexicon.txt    ... its lexicon, when it has them
      subwords.model     the sentencepiece model, when the labels are subwords
      lexicon.txt, lm.*  lexicon (checked line by line, bad lines left out and counted) and n-gram LM (optional)

Format 2 records each file's size and sha256, checked before a bundle is used, so a truncated copy or a file
edited by hand is named instead of failing later. Format-1 bundles (no checksums) still load: a bundle may be
the only copy of a trained model, so refusing it would cost more than not verifying it. The folder is written
with `fieldasr.files.atomic_directory`, so a crash never leaves half a bundle and an old bundle stays whole.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_directory
from fieldasr.models import build_model, load_matching_state
from fieldasr.text.normalise import NormalisationError, Normaliser, normaliser_from_settings
from fieldasr.text.vocabulary import BLANK, WORD_BOUNDARY, Vocabulary

BUNDLE_FORMAT = 2
READABLE_FORMATS = (1, 2)  # 1: no checksums (loaded unverified)
DESCRIPTION_FILE = "bundle.json"
EXPERIMENT_MODEL_FILE = "model.json"  # written by recipes into the experiment folder
REQUIRED_KEYS = ("format", "architecture", "model_config", "label_unit", "sampling_rate", "files")
REEXPORT_COMMAND = "`fieldasr export EXPERIMENT BUNDLE --overwrite`"
REEXPORT = f"Re-export it with {REEXPORT_COMMAND}"
BAD_LINES_RECORDED = 20
logger = logging.getLogger(__name__)


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
    normaliser: Any  # as bundle.json holds it: the settings of the labels' text normaliser (None in old bundles)
    sampling_rate: int
    g2p_spec: Path | None
    subword_model: Path | None
    lexicon: Path | None
    language_model: Path | None

    def text_normaliser(self) -> Normaliser:
        return text_normaliser(self.directory, self.normaliser)


def text_normaliser(directory: Path, recorded: Any) -> Normaliser:
    """The labels' normaliser as bundle.json records it, for text entering decoding (lexicon words, LM text); `none`
    if unrecorded. Read when used, not at load: a bundle with a value this version cannot read still transcribes greedily."""
    try:
        return normaliser_from_settings(recorded)
    except NormalisationError as error:
        raise BundleError(f"{directory / DESCRIPTION_FILE}: normaliser {recorded!r}: {error} "
                          f"Set it to the normaliser the labels were made with, e.g. \"none\".") from error


@dataclass(frozen=True)
class FileChecksum:
    size: int
    sha256: str


@dataclass(frozen=True)
class BundleDescription:
    """bundle.json, checked: every key a loader needs is there with the right type."""

    directory: Path
    format: int
    architecture: str
    model_config: Mapping[str, Any]
    label_unit: str
    language: str | None
    normaliser: Any
    sampling_rate: int
    files: Mapping[str, str | None]  # role -> file name inside the bundle
    checksums: Mapping[str, FileChecksum]  # file name -> size and sha256 (empty for format 1)
    lexicon_check: Mapping[str, Any] | None  # what export left out of the lexicon, and why

    def path(self, role: str) -> Path | None:
        name = self.files.get(role)
        return None if name is None else self.directory / name


def file_checksum(path: Path) -> FileChecksum:
    with path.open("rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    return FileChecksum(size=path.stat().st_size, sha256=digest)


def bundle_text_normaliser(directory: str | Path) -> Normaliser:
    """A bundle's label normaliser without loading its model (e.g. to build an LM whose words match the labels)."""
    description = read_bundle_description(directory)
    return text_normaliser(description.directory, description.normaliser)


def read_bundle_description(directory: str | Path) -> BundleDescription:
    """Parse and check bundle.json; raises BundleError naming the file and the fix."""
    directory = Path(directory)
    path = directory / DESCRIPTION_FILE
    if not directory.is_dir() or not path.is_file():
        raise BundleError(f"{directory}: not a model bundle (no {DESCRIPTION_FILE}). Create one with `fieldasr export EXPERIMENT BUNDLE`.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: not valid JSON ({error}); the bundle is damaged. {REEXPORT}.") from error
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a JSON object; the bundle is damaged. {REEXPORT}.")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise BundleError(f"{path}: lacks {', '.join(missing)}; the bundle is damaged. {REEXPORT}.")
    if data["format"] not in READABLE_FORMATS:
        raise BundleError(f"{path}: bundle format {data['format']!r} is not one this fieldasr reads ({', '.join(map(str, READABLE_FORMATS))}). "
                          f"{REEXPORT} using this fieldasr version, or update fieldasr.")
    files, checksums = data["files"], data.get("checksums", {})
    if not isinstance(files, dict) or not all(isinstance(files.get(key), str) for key in ("weights", "tokens")) \
            or not isinstance(data["model_config"], dict) or not isinstance(checksums, dict):
        raise BundleError(f"{path}: `files` (with weights and tokens), `model_config` or `checksums` is malformed. {REEXPORT}.")
    if data["format"] >= 2 and not checksums:
        raise BundleError(f"{path}: lacks checksums; the bundle is damaged. {REEXPORT}.")
    try:
        sums = {name: FileChecksum(int(value["size"]), str(value["sha256"])) for name, value in checksums.items()}
        sampling_rate = int(data["sampling_rate"])
    except (TypeError, KeyError, ValueError) as error:
        raise BundleError(f"{path}: malformed checksums or sampling_rate ({error}). {REEXPORT}.") from error
    return BundleDescription(
        directory=directory, format=int(data["format"]), architecture=str(data["architecture"]), model_config=data["model_config"],
        label_unit=str(data["label_unit"]), language=data.get("language"), normaliser=data.get("normaliser"),
        sampling_rate=sampling_rate, files=files, checksums=sums, lexicon_check=data.get("lexicon_check"),
    )


def verify_bundle_files(description: BundleDescription) -> None:
    """Every file the bundle names is there, with the size and sha256 recorded at export (format 2)."""
    directory = description.directory
    for name in [name for name in description.files.values() if name] + list(description.checksums):
        if not (directory / name).is_file():
            raise BundleError(f"{directory}: {name} is missing from the bundle. Copy the whole bundle folder again, or re-export it with {REEXPORT_COMMAND}.")
    for name, expected in description.checksums.items():
        path = directory / name
        size = path.stat().st_size
        if size < expected.size:
            raise BundleError(f"{directory}: {name} is truncated: {size:,} of {expected.size:,} bytes (an interrupted copy?). "
                              f"Copy the bundle again, or re-export it with {REEXPORT_COMMAND}.")
        if size != expected.size or file_checksum(path).sha256 != expected.sha256:
            raise BundleError(f"{directory}: {name} has changed since export (its checksum differs). {REEXPORT}.")
    if description.format == 1:
        logger.warning("%s: bundle format 1 has no checksums, so its files are not verified. %s to add them.", directory, REEXPORT)


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise BundleError(f"{path}: cannot be read as safetensors weights ({error}). {REEXPORT}.") from error


def load_bundle(directory: str | Path, device: str = "cpu") -> Bundle:
    """Check bundle.json and every file's checksum, then build the model; all before any other work."""
    description = read_bundle_description(directory)
    verify_bundle_files(description)
    weights = description.path("weights")
    model = build_model(description.architecture, description.model_config)
    load_matching_state(model, _read_weights(weights), str(weights))  # type: ignore[arg-type]
    model.to(device).eval()
    return Bundle(
        directory=description.directory, model=model, vocabulary=Vocabulary.load(description.path("tokens")),  # type: ignore[arg-type]
        architecture=description.architecture, label_unit=description.label_unit, language=description.language,
        normaliser=description.normaliser, sampling_rate=description.sampling_rate, g2p_spec=description.path("g2p_spec"),
        subword_model=description.path("subword_model"), lexicon=description.path("lexicon"), language_model=description.path("language_model"),
    )


@dataclass(frozen=True)
class BundleSources:
    """What goes into a bundle besides the model, resolved and checked before anything is written."""

    g2p_spec: Any  # fieldasr.g2p.G2PSpec | None
    lexicon: Any  # fieldasr.g2p.lexicon.LexiconCheck | None
    language_model: Path | None
    subword_model: Path | None


def _existing_file(source: str | Path | None, what: str) -> Path | None:
    if source is None:
        return None
    path = Path(source)
    if not path.is_file():
        raise BundleError(f"{path}: {what} to put into the bundle not found. Check the path (or the experiment's {EXPERIMENT_MODEL_FILE}).")
    return path


def check_bundle_sources(
    vocabulary: Vocabulary, label_unit: str, *, g2p_spec: str | Path | None = None, lexicon: str | Path | None = None,
    language_model: str | Path | None = None, subword_model: str | Path | None = None, strict: bool = False,
) -> BundleSources:
    """Load the G2P spec (and its rules), read the lexicon line by line; strict: a bad lexicon line is an error."""
    from fieldasr.g2p import load_spec
    from fieldasr.g2p.backends import build_backends
    from fieldasr.g2p.lexicon import check_lexicon

    spec = None
    if g2p_spec is not None:
        spec = load_spec(g2p_spec)
        if spec.path is None or spec.path.suffix not in (".yaml", ".yml"):
            raise BundleError(f"{g2p_spec}: a bundle needs a YAML G2P spec; convert the table with `fieldasr g2p-import-table`.")
        build_backends(spec)  # parses rule and lexicon files now, so a broken one stops the export before any work
    if (lexicon is not None or language_model is not None) and WORD_BOUNDARY not in vocabulary:
        raise BundleError(
            f"the model's vocabulary (tokens.txt) has no word boundary {WORD_BOUNDARY!r}, so beam decoding with a lexicon or language "
            f"model cannot tell where a word ends. Retrain on labels with word boundaries (phones: `fieldasr g2p "
            f"--word-boundaries`), or export without --lexicon/--lm for greedy decoding."
        )
    units = None if label_unit == "subwords" else set(vocabulary.tokens) - {BLANK, WORD_BOUNDARY}
    checked = None if lexicon is None else check_lexicon(_existing_file(lexicon, "lexicon"), units)  # type: ignore[arg-type]
    if strict and checked is not None and checked.bad_lines:
        raise BundleError(f"{checked.problem()}. Correct these lines, or export without --strict to leave them out (counted).")
    return BundleSources(spec, checked, _existing_file(language_model, "language model"), _existing_file(subword_model, "subword model"))


def _copy_g2p_spec(spec: Any, folder: Path) -> dict[str, str]:
    """The spec YAML with `rules:`/`lexicon:` pointing at copies inside the bundle (comments are not kept)."""
    data = yaml.safe_load(spec.path.read_text(encoding="utf-8"))
    copied = {"g2p_spec": "g2p.yaml"}
    for key, source, name in (("rules", spec.rules_path, "g2p.rules"), ("lexicon", spec.lexicon_path, "g2p-lexicon.txt")):
        if source is not None:
            shutil.copyfile(source, folder / name)
            data[key] = copied[f"g2p_{key}"] = name
    header = f"# Copied from {spec.path} by `fieldasr export`; paths point at files inside this bundle.\n"
    (folder / "g2p.yaml").write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copied


def _write_sources(sources: BundleSources, folder: Path) -> dict[str, str | None]:
    files: dict[str, str | None] = {"g2p_spec": None, "lexicon": None, "language_model": None, "subword_model": None}
    if sources.g2p_spec is not None:
        files.update(_copy_g2p_spec(sources.g2p_spec, folder))
    if sources.lexicon is not None:
        (folder / "lexicon.txt").write_text(sources.lexicon.text(), encoding="utf-8")
        files["lexicon"] = "lexicon.txt"
    if sources.language_model is not None:
        files["language_model"] = "lm" + "".join(sources.language_model.suffixes)
        shutil.copyfile(sources.language_model, folder / files["language_model"])  # type: ignore[operator]
    if sources.subword_model is not None:
        shutil.copyfile(sources.subword_model, folder / "subwords.model")
        files["subword_model"] = "subwords.model"
    return files


def _lexicon_record(check: Any) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"source": str(check.path), "entries": len(check.entries), "bad_lines": len(check.bad_lines),
            "first_bad_lines": [bad.describe() for bad in check.bad_lines[:BAD_LINES_RECORDED]],
            "trailing_boundaries_removed": check.trailing_boundaries}


def _normaliser_settings(normaliser: Any) -> dict[str, Any]:
    """Full settings, so decoding applies exactly the labels' normalisation (None: the labels' text was not normalised)."""
    try:
        return normaliser_from_settings(normaliser).settings()
    except NormalisationError as error:
        raise BundleError(f"normaliser {normaliser!r}: {error}") from error


def _refuse_existing(directory: Path, overwrite: bool) -> None:
    if directory.exists() and not overwrite:
        raise BundleError(f"{directory}: already exists; nothing was written. Choose another folder or pass --overwrite to replace it.")


def export_bundle(
    directory: str | Path, model: torch.nn.Module, vocabulary: Vocabulary, *, label_unit: str = "phones",
    language: str | None = None, normaliser: Normaliser | str | Mapping[str, Any] | None = None, g2p_spec: str | Path | None = None,
    lexicon: str | Path | None = None, language_model: str | Path | None = None, subword_model: str | Path | None = None,
    overwrite: bool = False, strict: bool = False,
) -> Path:
    """Write a verified, self-contained bundle; every input is checked before anything is written."""
    directory = Path(directory)
    _refuse_existing(directory, overwrite)
    if model.head.out_features != len(vocabulary):
        raise BundleError(f"the model outputs {model.head.out_features} tokens but the vocabulary has {len(vocabulary)}.")
    sources = check_bundle_sources(vocabulary, label_unit, g2p_spec=g2p_spec, lexicon=lexicon, language_model=language_model,
                                   subword_model=subword_model, strict=strict)
    with atomic_directory(directory, overwrite=overwrite) as staging:
        save_file({name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}, str(staging / "model.safetensors"))
        vocabulary.save(staging / "tokens.txt")
        files = {"weights": "model.safetensors", "tokens": "tokens.txt", **_write_sources(sources, staging)}
        checksums = {path.name: vars(file_checksum(path)) for path in sorted(staging.iterdir())}
        description = {"format": BUNDLE_FORMAT, "architecture": model.architecture, "model_config": model.model_config(),
                       "label_unit": label_unit, "language": language, "normaliser": _normaliser_settings(normaliser),
                       "sampling_rate": TARGET_SAMPLING_RATE, "files": files, "checksums": checksums,
                       "lexicon_check": _lexicon_record(sources.lexicon)}
        (staging / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")
    return directory


def write_experiment_model(experiment_dir: Path, model: torch.nn.Module, vocabulary: Vocabulary, extras: Mapping[str, Any]) -> None:
    """What `export_experiment` needs besides the weights: architecture, config, tokens, label settings."""
    experiment_dir.mkdir(parents=True, exist_ok=True)
    vocabulary.save(experiment_dir / "tokens.txt")
    description = {"architecture": model.architecture, "model_config": model.model_config(), **extras}
    (experiment_dir / EXPERIMENT_MODEL_FILE).write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")


AVERAGED_FOLDER = "averaged"  # written by fieldasr.train.averaging
TASK_FILE = "task.ckpt"


def averaged_weights(experiment_dir: str | Path) -> Path | None:
    """The task weights averaged over the best checkpoints, if newer than every checkpoint (a later run without
    averaging makes them stale)."""
    path = Path(experiment_dir) / AVERAGED_FOLDER / TASK_FILE
    if not path.is_file():
        return None
    checkpoints = list((Path(experiment_dir) / "checkpoints").glob("CKPT+*"))
    newest = max((folder.stat().st_mtime for folder in checkpoints), default=0.0)
    return path if path.stat().st_mtime >= newest else None


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


def _read_experiment(experiment_dir: Path) -> dict[str, Any]:
    path = experiment_dir / EXPERIMENT_MODEL_FILE
    if not path.is_file():
        raise BundleError(f"{experiment_dir}: no {EXPERIMENT_MODEL_FILE}; is this a folder written by a fieldasr recipe (`fieldasr train`)?")
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: not valid JSON ({error}). Run `fieldasr train` again to rewrite it.") from error
    if not isinstance(description, dict) or "architecture" not in description or "model_config" not in description:
        raise BundleError(f"{path}: lacks `architecture` or `model_config`. Run `fieldasr train` again to rewrite it.")
    return description


def export_experiment(
    experiment_dir: str | Path, output: str | Path, metric: str | None = None, mode: str = "min", overwrite: bool = False,
    lexicon: str | Path | None = None, language_model: str | Path | None = None, strict: bool = False,
) -> Path:
    """Bundle of the best checkpoint by `metric` (the newest when None) of a recipe's experiment folder; with a
    `metric`, the average of the best checkpoints instead when the recipe wrote one (`averaged/`)."""
    experiment_dir, output = Path(experiment_dir), Path(output)
    _refuse_existing(output, overwrite)
    description = _read_experiment(experiment_dir)
    averaged = averaged_weights(experiment_dir) if metric is not None else None
    weights = averaged or _pick_checkpoint(experiment_dir, metric, mode) / TASK_FILE
    vocabulary = Vocabulary.load(experiment_dir / "tokens.txt")
    label_unit = description.get("label_unit", "phones")
    sources = dict(g2p_spec=description.get("g2p_spec"), lexicon=lexicon or description.get("lexicon"),
                   language_model=language_model or description.get("language_model"), subword_model=description.get("subword_model"))
    check_bundle_sources(vocabulary, label_unit, strict=strict, **sources)  # before the checkpoint is read
    model = build_model(description["architecture"], description["model_config"])
    task_state = torch.load(weights, map_location="cpu", weights_only=True)
    state = {name.removeprefix("model."): tensor for name, tensor in task_state.items() if name.startswith("model.")}
    load_matching_state(model, state, str(weights))
    return export_bundle(output, model, vocabulary, label_unit=label_unit, language=description.get("language"),
                         normaliser=description.get("normaliser"), overwrite=overwrite, strict=strict, **sources)
