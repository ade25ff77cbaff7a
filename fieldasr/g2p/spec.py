"""G2P specs: one YAML file per language in the repository's g2p/ folder (format in g2p/README.md), which
ships inside fieldasr as `fieldasr.g2p.specs` (found by `fieldasr.resources.spec_folder`)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fieldasr.g2p.errors import SpecError
from fieldasr.g2p.segment import IPAOptions
from fieldasr.resources import spec_folder
from fieldasr.text.normalise import NormalisationError, Normaliser, orthography_normaliser

BACKENDS = ("espeak", "epitran", "rules", "lexicon")
TOP_LEVEL_KEYS = {"language", "name", "backend", "voice", "epitran", "rules", "lexicon", "normalization", "ipa", "examples", "source"}
NORMALIZATION_KEYS = {"lowercase", "unicode_form", "apostrophe", "keep", "replace"}
IPA_KEYS = {"strip_stress", "strip_length", "strip_tone", "join_affricates", "affricates", "split_diphthongs", "replace"}


@dataclass(frozen=True)
class G2PSpec:
    language: str
    name: str
    backends: tuple[str, ...]  # tried in order for each word (a chain such as lexicon -> rules)
    voice: str | None = None  # espeak-ng voice
    epitran_code: str | None = None
    rules_path: Path | None = None
    lexicon_path: Path | None = None
    normalization: Normaliser = field(default_factory=orthography_normaliser)  # fieldasr.text.normalise
    ipa: IPAOptions = field(default_factory=IPAOptions)
    examples: tuple[tuple[str, str], ...] = ()  # (word, expected IPA) checked by the tests
    source: str | None = None  # the published description rules and examples follow
    path: Path | None = None

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that affects the output changes (used as a cache key)."""
        parts = [repr((self.language, self.backends, self.voice, self.epitran_code, self.normalization, self.ipa))]
        for file in (self.rules_path, self.lexicon_path):
            parts.append(file.read_text(encoding="utf-8") if file is not None and file.is_file() else "")
        return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def available_specs() -> list[str]:
    return sorted(path.stem for path in spec_folder().glob("*.yaml"))


def load_spec(path_or_language: str | Path) -> G2PSpec:
    """Load a spec from a YAML path, or by name from the specs shipped with fieldasr (g2p/: e.g. "sw", "mi")."""
    candidate = Path(path_or_language)
    if not candidate.is_file():
        named = spec_folder() / f"{path_or_language}.yaml"
        if not named.is_file():
            raise SpecError(
                f"G2P spec {str(path_or_language)!r} not found (neither a file nor a name in {spec_folder()}). "
                f"Available: {', '.join(available_specs())}. Write a new one following g2p/README.md."
            )
        candidate = named
    from fieldasr.g2p.table import looks_like_table

    if looks_like_table(candidate):
        return spec_from_table(candidate)
    try:
        data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SpecError(f"{candidate}: not valid YAML ({error}).") from error
    if not isinstance(data, dict):
        raise SpecError(f"{candidate}: a spec must be a YAML mapping with at least `language` and `backend`.")
    return spec_from_mapping(data, candidate)


def spec_from_mapping(data: Mapping[str, Any], path: Path | None = None) -> G2PSpec:
    where = str(path) if path else "G2P spec"
    _check_keys(data, TOP_LEVEL_KEYS, where)
    if "language" not in data or "backend" not in data:
        raise SpecError(f"{where}: `language` and `backend` are required (backend: one of {', '.join(BACKENDS)} or a list).")
    backends = tuple(data["backend"]) if isinstance(data["backend"], list) else (str(data["backend"]),)
    unknown = [backend for backend in backends if backend not in BACKENDS]
    if unknown or not backends:
        raise SpecError(f"{where}: unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}.")
    base = path.parent if path else Path.cwd()
    required = {"espeak": "voice", "epitran": "epitran", "rules": "rules", "lexicon": "lexicon"}
    for backend in backends:
        if not data.get(required[backend]):
            raise SpecError(f"{where}: backend {backend!r} needs `{required[backend]}:` in the spec.")
    return G2PSpec(
        language=str(data["language"]),
        name=str(data.get("name", data["language"])),
        backends=backends,
        voice=data.get("voice"),
        epitran_code=data.get("epitran"),
        rules_path=base / data["rules"] if data.get("rules") else None,
        lexicon_path=base / data["lexicon"] if data.get("lexicon") else None,
        normalization=_normalization(data.get("normalization") or {}, where),
        ipa=_ipa_options(data.get("ipa") or {}, where),
        examples=_examples(data.get("examples") or {}, where),
        source=str(data["source"]) if data.get("source") else None,
        path=path,
    )


def spec_from_table(path: Path) -> G2PSpec:
    """An Elpis letter-to-sound table used as it is: its lines are the rules, words are lowercased (as in Elpis)."""
    from fieldasr.g2p.table import read_table

    read_table(path)  # an unreadable table is an error now, not at the first word
    return G2PSpec(language=path.stem, name=f"{path.name} (letter-to-sound table)", backends=("rules",), rules_path=path,
                   normalization=orthography_normaliser(lowercase=True), path=path)


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(data).__name__}.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; allowed here: {', '.join(sorted(allowed))}.")


def _pairs(value: Any, where: str, what: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: `{what}` must be a mapping of old -> new strings.")
    return tuple((str(old), "" if new is None else str(new)) for old, new in value.items())


def _normalization(data: Mapping[str, Any], where: str) -> Normaliser:
    _check_keys(data, NORMALIZATION_KEYS, f"{where} (normalization)")
    options = {key: data[key] for key in ("lowercase", "unicode_form", "apostrophe", "keep") if key in data}
    if options.get("unicode_form", "NFC") not in {"NFC", "NFD", "NFKC", "NFKD"}:
        raise SpecError(f"{where}: normalization.unicode_form must be NFC, NFD, NFKC or NFKD.")
    try:
        return orthography_normaliser(**options, replace=_pairs(data.get("replace", {}), where, "normalization.replace"))
    except NormalisationError as error:
        raise SpecError(f"{where}: normalization: {error}") from error


def _ipa_options(data: Mapping[str, Any], where: str) -> IPAOptions:
    _check_keys(data, IPA_KEYS, f"{where} (ipa)")
    flags = {key: bool(data[key]) for key in ("strip_stress", "strip_length", "strip_tone", "join_affricates", "split_diphthongs") if key in data}
    affricates = tuple(str(pair) for pair in data.get("affricates", ()))
    return IPAOptions(**flags, affricates=affricates, replace=_pairs(data.get("replace", {}), where, "ipa.replace"))


def _examples(data: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: `examples` must map example words to their expected IPA.")
    return tuple((str(word), str(ipa)) for word, ipa in data.items())

