"""Recipe configuration: plain YAML, one base file per recipe, small per-language files that override it.

A file may start with `base: other.yaml` (relative to itself); its values are merged over the base,
recursively for mappings. Command-line overrides `key.subkey=value` come last (values parsed as YAML).
No variable substitution happens anywhere, so transcripts and paths are taken literally.
"""
from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_write_text


class ConfigError(FieldasrError):
    """A recipe configuration file or override is malformed."""


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_yaml(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if path in chain:
        raise ConfigError(f"{path}: `base:` files refer to each other in a loop ({' → '.join(map(str, chain))}).")
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found.")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error}).") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings.")
    base = content.pop("base", None)
    if base is None:
        return content
    return merge(_read_yaml((path.parent / base).resolve(), chain + (path,)), content)


def apply_override(config: dict[str, Any], assignment: str) -> None:
    key, separator, raw_value = assignment.partition("=")
    if not separator or not key:
        raise ConfigError(f"override {assignment!r} must look like key.subkey=value.")
    *parents, last = key.split(".")
    target = config
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"override {assignment!r}: {part!r} is a value, not a section.")
    target[last] = yaml.safe_load(raw_value) if raw_value else None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    config = _read_yaml(Path(path).resolve(), ())
    for assignment in overrides:
        apply_override(config, assignment)
    return config


def record_experiment(experiment_dir: Path, config: Mapping[str, Any], argv: Sequence[str]) -> None:
    """Write the resolved configuration and the command line into the experiment folder."""
    experiment_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(experiment_dir / "config.yaml", yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True))
    atomic_write_text(experiment_dir / "command.txt", shlex.join(argv) + "\n")
