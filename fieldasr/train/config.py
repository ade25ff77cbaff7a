"""Recipe configuration: plain YAML, one base file per recipe, small per-language files that override it.

A file may start with `base: other.yaml` (relative to itself); its values are merged over the base,
recursively for mappings. Command-line overrides `key.subkey=value` come last (values parsed as YAML).
No variable substitution happens anywhere, so transcripts and paths are taken literally.
Each key remembers where it came from (a file or a `--set`), so that an error can name the place to fix;
the typed schema that checks the merged settings is in `fieldasr.train.schema`.
"""
from __future__ import annotations

import copy
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_write_text

KeyPath = tuple[str, ...]


class ConfigError(FieldasrError):
    """A recipe configuration file or override is malformed."""


@dataclass(frozen=True)
class Origins:
    """Which file or `--set` gave each key (the last one that set it, after merging)."""

    default: str
    by_path: Mapping[KeyPath, str] = field(default_factory=dict)

    def of(self, path: KeyPath) -> str:
        for length in range(len(path), 0, -1):
            if path[:length] in self.by_path:
                return self.by_path[path[:length]]
        return self.default


@dataclass(frozen=True)
class RecipeSource:
    """The merged settings of a recipe file (its bases and the `--set` overrides applied) and their origins."""

    settings: dict[str, Any]
    origins: Origins

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], name: str = "the recipe configuration") -> "RecipeSource":
        return cls(copy.deepcopy(dict(settings)), Origins(name))


Recipe = TypeVar("Recipe")


def recipe_from(config: Recipe | Mapping[str, Any], recipe_type: type[Recipe], read: Callable[[RecipeSource], Recipe],
                check: Callable[[RecipeSource, Recipe], None]) -> Recipe:
    """A typed recipe as it is; a plain mapping (given by code, e.g. the demo) read and checked as a file would be."""
    if isinstance(config, recipe_type):
        return config
    source = RecipeSource.from_mapping(config)
    recipe = read(source)
    check(source, recipe)
    return recipe


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _key_origins(mapping: Mapping[str, Any], origin: str, prefix: KeyPath = ()) -> dict[KeyPath, str]:
    origins = {}
    for key, value in mapping.items():
        origins[prefix + (str(key),)] = origin
        if isinstance(value, Mapping):
            origins.update(_key_origins(value, origin, prefix + (str(key),)))
    return origins


def _missing_base(path: Path, base: str, named_by: Path) -> ConfigError:
    return ConfigError(
        f"{named_by}: its `base: {base}` does not resolve: `base:` is relative to the YAML file that names it, "
        f"so it points to {path}, which does not exist. If you copied this file out of its recipe folder, copy "
        f"{Path(base).name} next to it too, or change `base:` to a path relative to {named_by.resolve().parent}."
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def _read_yaml(path: Path, label: str, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[KeyPath, str]]:
    if path in chain:
        raise ConfigError(f"{label}: `base:` files refer to each other in a loop ({' → '.join(map(str, chain + (path,)))}).")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{label}: configuration file not found.") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{label}: not UTF-8 text (byte {error.start}); save it as UTF-8.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{label}: not valid YAML: {_yaml_problem(error)}.") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{label}: the top level must be a mapping of settings (`key: value` lines).")
    base = content.pop("base", None)
    origins = _key_origins(content, label)
    if base is None:
        return content, origins
    if not isinstance(base, str):
        raise ConfigError(f"{label}: `base:` must be a file name, relative to {path.parent}, not {base!r}.")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise _missing_base(base_path, base, Path(label))
    base_settings, base_origins = _read_yaml(base_path, f"{base_path} (the base of {path.name})", chain + (path,))
    return merge(base_settings, content), {**base_origins, **origins}


def apply_override(config: dict[str, Any], assignment: str, where: str = "") -> KeyPath:
    """Set `key.subkey=value` (value parsed as YAML) in `config`; returns the key path it set."""
    prefix = f"{where}: " if where else ""
    key, separator, raw_value = assignment.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"{prefix}--set {assignment!r} must look like key.subkey=value, e.g. --set trainer.lr=0.001.")
    path = tuple(part.strip() for part in key.split("."))
    target = config
    for depth, part in enumerate(path[:-1]):
        if target.get(part) is None:  # a missing or null section becomes one
            target[part] = {}
        target = target[part]
        if not isinstance(target, dict):
            raise ConfigError(f"{prefix}--set {assignment}: {'.'.join(path[:depth + 1])} is a value, not a section.")
    try:
        target[path[-1]] = yaml.safe_load(raw_value) if raw_value else None
    except yaml.YAMLError as error:
        raise ConfigError(f"{prefix}--set {assignment}: the value is not valid YAML ({error}).") from None
    return path


def read_recipe(path: str | Path, overrides: Sequence[str] = ()) -> RecipeSource:
    """The merged settings of `path` (its `base:` chain, then `overrides`), each key with its origin."""
    label = str(path)
    settings, origins = _read_yaml(Path(path).resolve(), label, ())
    for assignment in overrides:
        key_path = apply_override(settings, assignment, label)
        origins = {key: origin for key, origin in origins.items() if key[:len(key_path)] != key_path}
        origins[key_path] = f"{label}, --set {assignment}"
    return RecipeSource(settings, Origins(label, origins))


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The merged settings as a plain mapping, unchecked (each recipe checks them against its schema)."""
    return read_recipe(path, overrides).settings


def record_experiment(experiment_dir: Path, config: Mapping[str, Any], argv: Sequence[str]) -> None:
    """Write the resolved configuration and the command line into the experiment folder."""
    experiment_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(experiment_dir / "config.yaml", yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True, default_flow_style=None))
    atomic_write_text(experiment_dir / "command.txt", shlex.join(argv) + "\n")
