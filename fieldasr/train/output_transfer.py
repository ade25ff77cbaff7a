"""Start training from a bundle: its model, with the output layer mapped onto the new vocabulary.

The mapping itself is `fieldasr.models.output_transfer`; this step adds what a recipe brings: the bundle
folder, an optional hand-edited `transfer.nearest_phones` file, and the report in the experiment folder.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml

from fieldasr.bundle import load_bundle
from fieldasr.files import atomic_write_text
from fieldasr.models.output_transfer import nearest_known_phones, transfer_output_layer
from fieldasr.text import Vocabulary
from fieldasr.train.config import ConfigError
from fieldasr.train.distributed import is_main_process
from fieldasr.train.recipe_config import TransferSection


def transfer_model(section: TransferSection | Mapping[str, Any], vocabulary: Vocabulary, experiment_dir: Path) -> torch.nn.Module:
    """Start from a bundle; its output layer is mapped onto the new vocabulary (report in the experiment folder)."""
    if isinstance(section, Mapping):
        section = TransferSection(**section)
    bundle = load_bundle(section.init_from)
    if section.nearest_phones:
        nearest = read_nearest_phones(Path(section.nearest_phones))
    else:
        nearest = nearest_known_phones(bundle.vocabulary, vocabulary)
    head, report = transfer_output_layer(bundle.model.head, bundle.vocabulary, vocabulary, nearest)
    bundle.model.set_output_layer(head)
    if is_main_process():  # under torchrun, one process writes the report
        atomic_write_text(experiment_dir / "output_transfer.json", json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        print(report.summary())
    return bundle.model.train()


def save_nearest_phones(path: Path, nearest: Mapping[str, Any]) -> Path:
    """`nearest_known_phones`' mapping as the file `read_nearest_phones` reads, for a person to check and edit."""
    entries = {phone: [match.phone, round(float(match.distance), 4)] for phone, match in nearest.items()}
    return atomic_write_text(path, yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), make_parents=True)


def read_nearest_phones(path: Path) -> dict[str, Any]:
    """The file of `transfer.nearest_phones`: lines `new_phone: [known_phone, distance]`."""
    try:
        nearest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} (transfer.nearest_phones): not valid YAML ({error}).") from None
    if not isinstance(nearest, dict):
        raise ConfigError(f"{path} (transfer.nearest_phones): expected lines `new_phone: [known_phone, distance]`.")
    return nearest
