"""Recipe settings as typed, frozen dataclasses, read from a merged YAML mapping by one generic reader.

A recipe's schema is a tree of dataclasses: each field is a setting, its type hint says what it may hold,
its default is the one place that default lives, and a field without a default is required (its
`metadata["help"]` says what to put there). `SettingsReader.build` checks a mapping against such a tree:
unknown keys get a did-you-mean, wrong types name the key, the value and what was expected, and every
message names the file (or `--set`) the offending key came from.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from fieldasr.train.config import ConfigError, KeyPath, Origins

# PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string, not a float; we read it as the number it looks like.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_PLURALS = {int: "whole numbers", float: "numbers", str: "texts", bool: "true/false values", Path: "paths"}
_NOUNS = {int: "a whole number", float: "a number", str: "a text", bool: "true or false", Path: "a path"}


def dotted(path: KeyPath) -> str:
    return ".".join(path) if path else "the top level"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean X?' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def shown(value: Any) -> str:
    """A value as the YAML file spells it."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value) if isinstance(value, str) else str(value)


def describe(hint: Any) -> str:
    """What a setting of type `hint` may hold, in words for the person editing the YAML."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(shown(choice) for choice in arguments)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(argument) for argument in arguments)
    if origin in (tuple, list):
        item = arguments[0]
        if typing.get_origin(item) is Literal:
            return "a list of: " + ", ".join(shown(choice) for choice in typing.get_args(item))
        return f"a list of {_PLURALS.get(item, describe(item))}"
    if dataclasses.is_dataclass(hint) or origin in (dict, Mapping) or hint in (dict, Mapping):
        return "a section of `key: value` settings"
    return _NOUNS.get(hint, getattr(hint, "__name__", str(hint)))


def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(cls) if field.init}


def is_required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


class _Mismatch(Exception):
    """A value does not fit a type; turned into a ConfigError with the key path by the caller."""


class SettingsReader:
    """Reads a merged YAML mapping into a dataclass tree; errors name the file each key came from."""

    def __init__(self, origins: Origins) -> None:
        self.origins = origins

    def error(self, path: KeyPath, problem: str) -> ConfigError:
        return ConfigError(f"{self.origins.of(path)}: {problem}")

    def build(self, cls: type, raw: Any, path: KeyPath = (), given: Mapping[str, Any] | None = None) -> Any:
        """`raw` as an instance of the dataclass `cls`. `given` holds values the recipe itself sets (a nested
        mapping for nested sections); a user setting one of them is refused rather than silently replaced."""
        if raw is None:
            raw = {}  # `section: null` in YAML means "nothing changed here"
        if not isinstance(raw, Mapping):
            raise self.error(path, f"{dotted(path)}: {shown(raw)} is not {describe(cls)}.")
        fields, hints, given = fields_of(cls), typing.get_type_hints(cls), dict(given or {})
        fixed = {name for name, value in given.items() if not isinstance(value, Mapping)}
        self._refuse_unknown(raw, path, set(fields) - fixed, {name: given[name] for name in fixed})
        values = {}
        for name, field in fields.items():
            key = path + (name,)
            nested = given.get(name) if name not in fixed else None
            if name in fixed:
                values[name] = self.convert(hints[name], given[name], key)
            elif name in raw and not (raw[name] is None and is_required(field)):  # `key: null` is as good as absent
                values[name] = self.convert(hints[name], raw[name], key, nested)
            elif dataclasses.is_dataclass(hints[name]) and (is_required(field) or nested):
                values[name] = self.build(hints[name], {}, key, nested)
            elif is_required(field):
                raise self.error(key, f"{dotted(key)} is not set. {field.metadata.get('help', '')}".rstrip())
        return cls(**values)

    def _refuse_unknown(self, raw: Mapping, path: KeyPath, known: set[str], fixed: Mapping[str, Any]) -> None:
        for key in raw:
            where = path + (str(key),)
            if key in fixed and raw[key] is not None and raw[key] != fixed[key]:  # null or the same value: no conflict
                raise self.error(where, f"{dotted(where)} is set by the recipe itself (to {shown(fixed[key])}); remove it here.")
            if key not in known and key not in fixed:
                section = f"in {dotted(path)}" if path else "at the top level"
                raise self.error(where, f"{dotted(where)} is not a setting of this recipe.{did_you_mean(str(key), known)} "
                                        f"Settings {section}: {', '.join(sorted(known))}.")

    def convert(self, hint: Any, value: Any, path: KeyPath, given: Mapping[str, Any] | None = None) -> Any:
        if dataclasses.is_dataclass(hint):
            return self.build(hint, value, path, given)
        try:
            return _convert(hint, value)
        except _Mismatch as mismatch:
            detail = f" {mismatch}" if str(mismatch) else ""
            raise self.error(path, f"{dotted(path)}: {shown(value)} is not {describe(hint)}.{detail}") from None

    def choice(self, path: KeyPath, value: str, choices: Iterable[str], what: str = "") -> None:
        """Refuse `value` unless it is one of `choices` (for choices that depend on another setting)."""
        choices = list(choices)
        if value not in choices:
            raise self.error(path, f"{dotted(path)}: {shown(value)} is not one of {', '.join(map(shown, choices))}"
                                   f"{what}.{did_you_mean(str(value), choices)}")


def _convert(hint: Any, value: Any) -> Any:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch()
    if origin in (typing.Union, types.UnionType):
        return _convert_union(arguments, value)
    if origin is Literal:
        if value in arguments:
            return value
        raise _Mismatch(did_you_mean(str(value), [str(choice) for choice in arguments]).strip())
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch("Write a YAML list, e.g. [a, b], or [] for none.")
        items = []
        for number, item in enumerate(value, start=1):
            try:
                items.append(_convert(arguments[0], item))
            except _Mismatch as mismatch:
                raise _Mismatch(f"Item {number}, {shown(item)}, is not {describe(arguments[0])}. {mismatch}".rstrip()) from None
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if isinstance(value, Mapping):
            return dict(value)
        raise _Mismatch()
    return _convert_scalar(hint, value)


def _convert_union(arguments: tuple, value: Any) -> Any:
    for argument in sorted(arguments, key=lambda a: a is not type(None)):  # null first: `x | None` takes null as is
        try:
            return _convert(argument, value)
        except _Mismatch:
            continue
    raise _Mismatch()


def _convert_scalar(hint: Any, value: Any) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
    else:
        raise TypeError(f"settings of type {hint!r} are not supported by the recipe reader")  # a schema bug, not the user's
    raise _Mismatch()


def to_plain(instance: Any, omit: Mapping[str, Any] | None = None) -> Any:
    """A dataclass tree as plain YAML-able values; `omit` (shaped like `given`) leaves out what the recipe sets."""
    if dataclasses.is_dataclass(instance):
        omit = omit or {}
        plain = {}
        for field in dataclasses.fields(instance):
            if field.name in omit and not isinstance(omit[field.name], Mapping):
                continue
            plain[field.name] = to_plain(getattr(instance, field.name), omit.get(field.name))
        return plain
    if isinstance(instance, Mapping):
        return {key: to_plain(value) for key, value in instance.items()}
    if isinstance(instance, (list, tuple)):
        return [to_plain(item) for item in instance]
    if isinstance(instance, Path):
        return str(instance)
    return instance


def settings_from_signature(function: Callable, name: str, names: Iterable[str], *, narrowed: Mapping[str, Any] | None = None,
                            helps: Mapping[str, str] | None = None, extra: Mapping[str, Any] | None = None) -> type:
    """A frozen dataclass whose fields are `function`'s parameters `names`, with their type hints and defaults:
    a YAML section of a function's arguments keeps its defaults in one place, the signature. `narrowed` narrows a
    hint to what YAML can hold (a path as text, not `Corpus | str | Path`); `extra` adds required settings that
    are not parameters (name → type); `helps` says what to put in a required setting."""
    signature, hints = inspect.signature(function), typing.get_type_hints(function)
    required = [(key, hint, dataclasses.field(metadata={"help": (helps or {}).get(key, "")})) for key, hint in (extra or {}).items()]
    optional = []
    for parameter_name in names:
        parameter = signature.parameters[parameter_name]
        hint = (narrowed or {}).get(parameter_name, hints[parameter_name])
        if parameter.default is inspect.Parameter.empty:
            required.append((parameter_name, hint, dataclasses.field(metadata={"help": (helps or {}).get(parameter_name, "")})))
        else:
            optional.append((parameter_name, hint, dataclasses.field(default=parameter.default)))
    return dataclasses.make_dataclass(name, required + optional, frozen=True)
