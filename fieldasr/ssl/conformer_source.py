"""What names a Conformer to pretrain: a `source:` mapping with `architecture: conformer`.

From scratch, `size` (the CTC recipes' Conformer sizes) with `config` over it and `quantizer` settings over
`ConformerPretrainingConfig`'s; or continued from `init_from`, an SSL checkpoint or experiment folder whose
config decides the shape (so `size`, `config` and `quantizer` must then be left out).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fieldasr.models.conformer_checkpoint import ConformerPretrainingConfig, SSLCheckpointError, find_ssl_checkpoint
from fieldasr.ssl.conformer_pretraining import ConformerPretrainingModel, load_conformer_checkpoint
from fieldasr.ssl.pretraining_task import PretrainingError
from fieldasr.train.config import KeyPath, Origins
from fieldasr.train.recipe_config import ModelSection, checked_model
from fieldasr.train.schema import SettingsReader, dotted

CONFORMER = "conformer"
SHAPE_SETTINGS = ("size", "config", "quantizer")


@dataclass(frozen=True)
class ConformerSource:
    architecture: Literal["conformer"]
    init_from: str | None = None  # an SSL checkpoint or experiment folder to continue from; null: from scratch
    size: str = "tiny"  # tiny | small, as conformer_ctc's model.size
    config: Mapping[str, Any] = field(default_factory=dict)  # over the size's ConformerConfig
    quantizer: Mapping[str, Any] = field(default_factory=dict)  # over ConformerPretrainingConfig's quantiser settings


def is_conformer_source(source: Any) -> bool:
    return isinstance(source, ConformerSource) or (isinstance(source, Mapping) and source.get("architecture") == CONFORMER)


def read_conformer_source(settings: Mapping[str, Any], reader: SettingsReader | None = None, path: KeyPath = ()) -> ConformerSource:
    """The checked mapping: keys, types, sizes, Conformer settings; errors name `path` (e.g. pretraining.source)."""
    reader = reader or SettingsReader(Origins("the pretraining source"))
    source = reader.build(ConformerSource, settings, path)
    if source.init_from is not None:
        given = [name for name in SHAPE_SETTINGS if name in settings]
        if given:
            where = path + (given[0],)
            raise reader.error(where, f"{dotted(where)}: with {dotted(path + ('init_from',))} the checkpoint's config decides the "
                                      f"model's shape; remove {', '.join(dotted(path + (name,)) for name in given)}.")
        return source
    model = checked_model(reader, ModelSection(architecture="conformer_ctc", size=source.size, config=source.config), path)
    if "conformer" in source.quantizer:
        where = path + ("quantizer", "conformer")
        raise reader.error(where, f"{dotted(where)}: the Conformer's settings go in {dotted(path + ('config',))}.")
    config = reader.build(ConformerPretrainingConfig, {**source.quantizer, "conformer": model.config}, path + ("quantizer",))
    try:
        config.validate()
    except SSLCheckpointError as error:
        raise reader.error(path + ("quantizer",), f"{dotted(path + ('quantizer',))}: {error}") from None
    return dataclasses.replace(source, config=model.config)


def pretraining_config(source: ConformerSource) -> ConformerPretrainingConfig:
    """The model's config of a from-scratch source read by `read_conformer_source` (its `config` complete)."""
    return ConformerPretrainingConfig.from_dict({**source.quantizer, "conformer": dict(source.config)})


def conformer_model(source: ConformerSource | Mapping[str, Any], out_dir: Path) -> ConformerPretrainingModel:
    """A new model, or the checkpoint's to continue; continued pretraining must write to a folder of its own
    (in the folder it started from it would resume that run, not restart the schedule)."""
    if not isinstance(source, ConformerSource):
        source = read_conformer_source(source)
    if source.init_from is None:
        return ConformerPretrainingModel(pretraining_config(source))
    checkpoint = find_ssl_checkpoint(source.init_from).resolve()
    if checkpoint.is_relative_to(out_dir.resolve()):
        raise PretrainingError(f"init_from {source.init_from} lies inside the output folder {out_dir}: continued "
                               "pretraining starts a new run (new optimizer, warm-up again); give it a new output folder.")
    return load_conformer_checkpoint(checkpoint)
