"""The settings of the CTC recipes (recipes/ctc, multilingual, transfer, demo): sections, defaults, checks.

Every default of these recipes lives in the dataclasses below. `read_ctc_recipe` checks the merged YAML
against them (keys, types, choices that depend on another setting, the model's own settings);
`check_ctc_paths` checks that the files and folders the settings name exist. Both run before anything
is written or loaded, so a mistake costs nothing.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fieldasr.errors import ManifestError
from fieldasr.models import SMALL_BILSTM, TINY_BILSTM, TINY_CONFORMER, TINY_WAV2VEC2, BiLSTMConfig, ConformerConfig
from fieldasr.train.config import ConfigError, KeyPath, RecipeSource, read_recipe, recipe_from
from fieldasr.train.schema import SettingsReader, did_you_mean, dotted, to_plain
from fieldasr.train.trainer import TrainerOptions, TrainingError

WAV2VEC2_SIZES: dict[str, dict[str, Any]] = {"tiny": TINY_WAV2VEC2, "base": {}}  # base: transformers' defaults (95 M)
CONFORMER_SIZES: dict[str, ConformerConfig] = {"tiny": TINY_CONFORMER, "small": ConformerConfig()}
BILSTM_SIZES: dict[str, BiLSTMConfig] = {"tiny": TINY_BILSTM, "small": SMALL_BILSTM, "persephone": BiLSTMConfig()}
MANIFEST_FOLDER = "a folder holding recordings.jsonl.gz and segments.jsonl.gz (from `fieldasr prepare`)"


@dataclass(frozen=True)
class DataSection:
    train: str = field(metadata={"help": f"Set data.train to {MANIFEST_FOLDER}, e.g. --set data.train=corpora_manifests/LANGUAGE/train."})
    valid: str | None = None  # manifest folder for validation; null: see valid_fraction
    valid_fraction: float = 0.0  # with valid: null, hold out this share of the training audio as the dev set (fieldasr.data.dev_split); 0: none
    languages: tuple[str, ...] | None = None  # keep only these languages of the manifests; null: all
    label_unit: Literal["phones", "characters", "subwords"] = "phones"
    subword_model: str | None = None  # sentencepiece .model file, needed for label_unit: subwords
    language: str | None = None  # written into the bundle
    g2p_spec: str | None = None  # G2P spec file, copied into the bundle
    normaliser: str | Mapping[str, Any] | None = None  # name or settings of the text normaliser, recorded in the bundle
    speed_factors: tuple[float, ...] = ()  # speed perturbation; [] for none
    max_batch_duration: float = 60.0  # seconds of audio per batch, padding included
    language_balance_alpha: float | None = None  # p(language) ∝ hours^alpha; null: natural proportions, no balancing


@dataclass(frozen=True)
class ModelSection:
    architecture: Literal["conformer_ctc", "bilstm_ctc", "wav2vec2_ctc"] = "conformer_ctc"
    size: str = "tiny"  # conformer_ctc: tiny | small; bilstm_ctc: tiny | small | persephone; wav2vec2_ctc without `pretrained`: tiny | base
    pretrained: str | None = None  # wav2vec2_ctc: a local Hugging Face checkpoint folder (wav2vec2/XLS-R/MMS, hubert, wavlm, data2vec-audio, wav2vec2-bert)
    # conformer_ctc: a Conformer SSL checkpoint or its experiment folder (`fieldasr pretrain`, recipes/continued_pretraining):
    # its encoder weights start the model (the shape in size/config must match), the output layer is new; null: random
    init_from: str | None = None
    # over the size's (ConformerConfig / BiLSTMConfig / Wav2Vec2Config); with `pretrained`: only fine-tuning overrides
    # (hf_encoder.ENCODER_OVERRIDES: masking, layerdrop, dropouts); null: none
    config: Mapping[str, Any] | None = field(default_factory=dict)
    gradient_checkpointing: bool = False  # wav2vec2_ctc: recompute activations in the backward pass (less memory, ~30 % slower)
    mms_adapter: str | None = None  # wav2vec2_ctc, MMS checkpoint: start its adapter from adapter.<lang>.safetensors; null: fresh
    freeze_feature_encoder: bool = True  # wav2vec2_ctc
    freeze_encoder_steps: int = 0  # wav2vec2_ctc, conformer_ctc: train only the output layer (and adapters) for these many steps
    adapter_languages: Literal["auto"] | tuple[str, ...] = ()  # wav2vec2_ctc; auto: one adapter per training language
    train_only_adapters: bool = False


@dataclass(frozen=True)
class TransferSection:
    init_from: str | None = None  # a bundle folder (`fieldasr export`); its output layer is mapped onto the new vocabulary
    nearest_phones: str | None = None  # YAML file `new_phone: [known_phone, distance]`; null: feature-nearest phones


@dataclass(frozen=True)
class CTCRecipe:
    experiment_dir: str = field(metadata={"help": "Set experiment_dir to the folder for checkpoints and logs, e.g. exp/ctc/LANGUAGE."})
    data: DataSection
    model: ModelSection
    trainer: TrainerOptions  # its experiment_dir is the recipe's (see `recipe_given`)
    transfer: TransferSection


def recipe_given(experiment_dir: Any) -> dict[str, Any]:
    """What the recipe sets itself: the trainer writes into the recipe's experiment folder."""
    return {"trainer": {"experiment_dir": experiment_dir}}


def read_ctc_recipe(source: RecipeSource) -> CTCRecipe:
    """The checked settings of a CTC recipe (keys, types, choices, model settings); no file is looked at."""
    reader = SettingsReader(source.origins)
    # experiment_dir is the first field, so a missing or malformed one is reported before the trainer uses it.
    recipe = reader.build(CTCRecipe, source.settings, (), recipe_given(source.settings.get("experiment_dir")))
    return checked_ctc_recipe(reader, recipe)


def checked_ctc_recipe(reader: SettingsReader, recipe: CTCRecipe, path: KeyPath = ()) -> CTCRecipe:
    """The checks that involve more than one setting; `path` places the recipe inside a larger one."""
    model = checked_model(reader, recipe.model, path + ("model",))
    if model.init_from is not None and recipe.transfer.init_from is not None:
        where = path + ("model", "init_from")
        raise reader.error(where, f"{dotted(where)} and {dotted(path + ('transfer', 'init_from'))} both say where the model starts; "
                                  "keep one (a bundle's model already holds its encoder).")
    if not 0 <= recipe.data.valid_fraction < 1:
        raise reader.error(path + ("data", "valid_fraction"), f"{dotted(path + ('data', 'valid_fraction'))}: {recipe.data.valid_fraction} "
                                                              "is not a share of the training audio; use a number from 0 (no dev set) below 1, e.g. 0.1.")
    if recipe.data.label_unit == "subwords" and not recipe.data.subword_model:
        raise reader.error(path + ("data",), f"{dotted(path + ('data', 'label_unit'))} is subwords: set "
                                             f"{dotted(path + ('data', 'subword_model'))} to a sentencepiece .model file.")
    try:
        recipe.trainer.validate()
    except TrainingError as error:
        raise reader.error(path + ("trainer",), f"{dotted(path + ('trainer',))}: {error}") from None
    return dataclasses.replace(recipe, model=model)


def checked_model(reader: SettingsReader, model: ModelSection, path: KeyPath) -> ModelSection:
    """Size and `config` checked against the architecture; `config` returned complete (the size's settings
    with the recipe's over them), so the recorded configuration shows every effective model setting."""
    model = dataclasses.replace(model, config=model.config or {})  # null drops a base file's settings (merging cannot)
    from_scratch = {"conformer_ctc": (CONFORMER_SIZES, ConformerConfig, "Conformer"), "bilstm_ctc": (BILSTM_SIZES, BiLSTMConfig, "BiLSTM")}
    if model.init_from is not None and model.architecture != "conformer_ctc":
        where = path + ("init_from",)
        raise reader.error(where, f"{dotted(where)} starts a conformer_ctc model from a Conformer SSL checkpoint; for "
                                  f"{model.architecture} remove it{' (use model.pretrained)' if model.architecture == 'wav2vec2_ctc' else ''}.")
    if model.architecture in from_scratch:
        for name in ("pretrained", "mms_adapter", "gradient_checkpointing"):
            if getattr(model, name):
                where = path + (name,)
                raise reader.error(where, f"{dotted(where)} is a wav2vec2_ctc setting; {model.architecture} does not use it. "
                                          f"Remove it, or set {dotted(path + ('architecture',))}: wav2vec2_ctc.")
        if model.architecture == "bilstm_ctc" and model.freeze_encoder_steps:
            where = path + ("freeze_encoder_steps",)
            raise reader.error(where, f"{dotted(where)}: bilstm_ctc has no pretrained encoder to keep frozen; remove it.")
        sizes, config_type, name = from_scratch[model.architecture]
        reader.choice(path + ("size",), model.size, sizes, f" for {model.architecture}")
        _refuse_unknown_model_settings(reader, model.config, dataclasses.asdict(config_type()), path, name)
        complete = {**dataclasses.asdict(sizes[model.size]), **model.config}
        config = dataclasses.asdict(reader.build(config_type, complete, path + ("config",)))
        return dataclasses.replace(model, config=config)
    from transformers import Wav2Vec2Config

    from fieldasr.models.hf_encoder import ENCODER_OVERRIDES

    if model.pretrained is not None:  # the checkpoint's own config.json decides, but for fine-tuning overrides
        overrides = {key: None for key in ENCODER_OVERRIDES}
        _refuse_unknown_model_settings(reader, model.config, overrides, path, "fine-tuning override of a pretrained encoder "
                                       f"(with {dotted(path + ('pretrained',))} only {', '.join(ENCODER_OVERRIDES)} can be set)")
        return model
    if model.mms_adapter is not None:
        where = path + ("mms_adapter",)
        raise reader.error(where, f"{dotted(where)} needs {dotted(path + ('pretrained',))}: an MMS checkpoint folder with adapter files.")
    _refuse_unknown_model_settings(reader, model.config, Wav2Vec2Config().to_dict(), path, "wav2vec 2.0 (transformers' Wav2Vec2Config)")
    reader.choice(path + ("size",), model.size, WAV2VEC2_SIZES, " for wav2vec2_ctc")
    return dataclasses.replace(model, config={**WAV2VEC2_SIZES[model.size], **model.config})


def _refuse_unknown_model_settings(reader: SettingsReader, config: Mapping[str, Any], known: Mapping[str, Any],
                                   path: KeyPath, kind: str) -> None:
    for key in config:
        if key not in known:
            where = path + ("config", str(key))
            raise reader.error(where, f"{dotted(where)} is not a {kind} model setting.{did_you_mean(str(key), known)}")


def check_ctc_paths(source: RecipeSource, recipe: CTCRecipe, path: KeyPath = (), pretrained_later: bool = False) -> None:
    """Every file and folder the settings name must exist (relative paths: from the folder the command runs in)."""
    reader, data = SettingsReader(source.origins), recipe.data
    require_manifests(reader, path + ("data", "train"), data.train)
    require_manifests(reader, path + ("data", "valid"), data.valid)
    folders = {("transfer", "init_from"): (recipe.transfer.init_from, "a model bundle folder (from `fieldasr export`)")}
    files = {("data", "subword_model"): (data.subword_model, "a sentencepiece .model file"),
             ("data", "g2p_spec"): (data.g2p_spec, "a G2P spec file (see g2p/)"),
             ("transfer", "nearest_phones"): (recipe.transfer.nearest_phones, "a YAML file of new_phone: [known_phone, distance]")}
    if recipe.transfer.init_from is None and recipe.model.architecture == "wav2vec2_ctc" and not pretrained_later:
        folders[("model", "pretrained")] = (recipe.model.pretrained, "a local Hugging Face checkpoint folder (config.json + weights)")
    for key, (value, what) in folders.items():
        require_path(reader, path + key, value, what, folder=True)
    for key, (value, what) in files.items():
        require_path(reader, path + key, value, what, folder=False)
    if ("model", "pretrained") in folders and recipe.model.pretrained is not None:
        check_pretrained_checkpoint(reader, recipe.model, path + ("model",))
    if recipe.model.init_from is not None and not pretrained_later:
        check_ssl_checkpoint(reader, recipe.model.init_from, path + ("model", "init_from"), recipe.model, path + ("model",))


def check_ssl_checkpoint(reader: SettingsReader, init_from: str, key: KeyPath, model: ModelSection, model_path: KeyPath) -> None:
    """`init_from` (the setting at `key`) names a Conformer SSL checkpoint whose encoder has the shape of the
    recipe's (complete) model config at `model_path`."""
    from fieldasr.models.conformer_checkpoint import SSLCheckpointError, find_ssl_checkpoint, read_checkpoint_config

    require_path(reader, key, init_from, "a Conformer SSL checkpoint or experiment folder", folder=True)
    try:
        folder = find_ssl_checkpoint(init_from)
    except SSLCheckpointError as error:
        raise reader.error(key, f"{dotted(key)}: {error}") from None
    pretrained = read_checkpoint_config(folder).conformer  # type: ignore[union-attr]
    refuse_encoder_mismatch(reader, dataclasses.asdict(pretrained), model.config or {}, model_path, f"the SSL checkpoint {folder}")


def refuse_encoder_mismatch(reader: SettingsReader, pretrained: Mapping[str, Any], wanted: Mapping[str, Any], path: KeyPath,
                            what: str) -> None:
    """The first Conformer setting that shapes the encoder's weights and differs, named with the fix."""
    from fieldasr.models.conformer_checkpoint import ENCODER_SHAPE_SETTINGS

    for name in ENCODER_SHAPE_SETTINGS:
        if pretrained[name] != wanted.get(name):
            where = path + ("config", name)
            sizes = [size for size, config in CONFORMER_SIZES.items()
                     if all(getattr(config, setting) == pretrained[setting] for setting in ENCODER_SHAPE_SETTINGS)]
            fix = f"set {dotted(path + ('size',))}: {sizes[0]}" if sizes else f"set {dotted(where)}: {pretrained[name]}"
            raise reader.error(where, f"{dotted(where)} is {wanted.get(name)}, but {what} was pretrained with {name} = "
                                      f"{pretrained[name]}, so its encoder weights do not fit; {fix} (or pretrain with this shape).")


def check_pretrained_checkpoint(reader: SettingsReader, model: ModelSection, path: KeyPath) -> None:
    """The checkpoint's family, config.json, preprocessor and (MMS) adapter file, read before anything is written."""
    from fieldasr.models.hf_encoder import EncoderCheckpointError, read_checkpoint
    from fieldasr.models.mms import ADAPTER_FILE, available_adapters

    key = path + ("pretrained",)
    try:
        checkpoint = read_checkpoint(model.pretrained)  # type: ignore[arg-type]
    except EncoderCheckpointError as error:
        raise reader.error(key, f"{dotted(key)}: {error}") from None
    if model.mms_adapter is not None and not (checkpoint.directory / ADAPTER_FILE.format(model.mms_adapter)).is_file():
        where = path + ("mms_adapter",)
        known = available_adapters(checkpoint.directory)
        raise reader.error(where, f"{dotted(where)}: {model.pretrained} has no {ADAPTER_FILE.format(model.mms_adapter)}; "
                                  f"available: {', '.join(known) if known else 'none (not an MMS checkpoint with adapters)'}.")


def require_manifests(reader: SettingsReader, key: KeyPath, value: str | None) -> None:
    """A manifest folder with its two files (read later, after the experiment folder exists)."""
    from fieldasr.data.manifest import manifest_file, refuse_text_only

    require_path(reader, key, value, MANIFEST_FOLDER, folder=True)
    if value is not None:
        try:
            refuse_text_only(value)
        except ManifestError as error:
            raise reader.error(key, f"{dotted(key)}: {error}") from None
        for stem in ("recordings", "segments"):
            try:
                manifest_file(Path(value), stem)
            except ManifestError as error:
                raise reader.error(key, f"{dotted(key)}: {error}") from None


def require_path(reader: SettingsReader, key: KeyPath, value: str | None, what: str, folder: bool) -> None:
    if value is None:
        return
    location = Path(value)
    exists = location.is_dir() if folder else location.is_file()
    if not exists:
        kind = "folder" if folder else "file"
        relative = f" (relative to {Path.cwd()})" if not location.is_absolute() else ""
        problem = "is a file, not a folder" if folder and location.exists() else ("is a folder, not a file" if location.exists() else "does not exist")
        raise reader.error(key, f"{dotted(key)}: the {kind} {value}{relative} {problem}. Set {dotted(key)} to {what}.")


def load_ctc_recipe(path: str | Path, overrides: Sequence[str] = ()) -> tuple[CTCRecipe, dict[str, Any]]:
    """A recipe file with its overrides, checked, and its resolved settings (defaults filled in) for the record."""
    source = read_recipe(path, overrides)
    recipe = read_ctc_recipe(source)
    check_ctc_paths(source, recipe)
    return recipe, ctc_settings(recipe)


def as_ctc_recipe(config: CTCRecipe | Mapping[str, Any]) -> CTCRecipe:
    """A recipe given as a plain mapping (by code, e.g. the demo) gets the same checks as a file."""
    return recipe_from(config, CTCRecipe, read_ctc_recipe, check_ctc_paths)


def ctc_settings(recipe: CTCRecipe) -> dict[str, Any]:
    """The resolved settings, every default filled in, as written to the experiment folder's config.yaml."""
    return to_plain(recipe, omit=recipe_given(None))


__all__ = ["CONFORMER_SIZES", "WAV2VEC2_SIZES", "CTCRecipe", "ConfigError", "DataSection", "ModelSection", "TransferSection",
           "as_ctc_recipe", "check_ctc_paths", "ctc_settings", "load_ctc_recipe", "read_ctc_recipe"]
