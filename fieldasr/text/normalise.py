"""The one text normaliser: transcripts for training labels, G2P and lexicon words, n-gram LM text, decoding and scoring.

A normaliser is an ordered list of named steps, written `nfc+lowercase+punctuation+whitespace`, plus the
settings three of the steps read. Its `settings()` go into a model bundle, so decoding normalises lexicon words
and LM text exactly as the labels were normalised; its `name` goes into every score report.

Steps:
- `nfc`, `nfd`, `nfkc`, `nfkd`: Unicode normal form (NFC: ā typed as a + ̄ is the same letter as ā).
- `lowercase`.
- `apostrophes`: every apostrophe, okina and glottal-stop look-alike (' ’ ‘ ʼ ʻ ` ´ ʹ ʾ ʿ) becomes `apostrophe`.
- `replace`: the `replace` pairs, in order (spelling variants of one orthography).
- `punctuation`: Unicode punctuation (categories P*) becomes a word break, by the rule below.
- `symbols`: Unicode symbols (categories S*: = + $ ...) become word breaks too, by the same rule.
- `whitespace`: runs of white space become one space, ends trimmed; always applied last.

The apostrophe and hyphen rule, decided here and nowhere else: an apostrophe or hyphen (' ’ ‘ - ‐) with a letter
or digit on both sides is part of the word and kept (in many orthographies ' writes a glottal stop, and - joins a
compound: ka'a, tūtū-nui stay one word each); at the edge of a word it is punctuation (a quotation mark, a dash)
and removed ('quoted' gives quoted). Characters listed in `keep` are letters of the orthography and kept
everywhere, word edges included (keep: "'" for a word-final glottal stop, as in K'iche'); a word made of kept
characters alone is not a word. Apostrophe letters of Unicode (ʼ U+02BC, ʻ U+02BB) are letters, never removed.
Digits are never rewritten: "3" and "three" stay different words, because spelling out numbers is language-specific.
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldasr.errors import FieldasrError

APOSTROPHE_VARIANTS = "'’‘ʼʻ`´ʹʾʿ"
WORD_INTERNAL = "'’‘-‐"  # kept between two letters or digits
UNICODE_FORMS = ("nfc", "nfd", "nfkc", "nfkd")
STEP_NAMES = (*UNICODE_FORMS, "lowercase", "apostrophes", "replace", "punctuation", "symbols", "whitespace")

PRESETS: dict[str, tuple[str, ...]] = {
    "none": ("whitespace",),
    "unicode": ("nfc", "whitespace"),
    "default": ("nfc", "lowercase", "punctuation", "whitespace"),
    # For phone strings: case and punctuation-like IPA marks (ˈ, ., |) carry meaning.
    "phones": ("nfc", "whitespace"),
    # For spelling (G2P specs): apostrophe variants unified, symbols split words too.
    "orthography": ("nfc", "apostrophes", "lowercase", "replace", "punctuation", "symbols", "whitespace"),
}


class NormalisationError(FieldasrError):
    """A normaliser is named or configured wrongly."""


@functools.cache
def _characters_of(categories: str) -> str:
    """Every character whose Unicode category starts with one of `categories` (e.g. "PS"), found once."""
    return "".join(chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code))[0] in categories)


@functools.cache
def _break_pattern(categories: str, keep: str) -> re.Pattern[str]:
    """One regular expression for the rule above (not a Python loop over characters: 100k utterances)."""
    internal = "".join(character for character in WORD_INTERNAL if character not in keep) if "P" in categories else ""
    removed = "".join(character for character in _characters_of(categories) if character not in internal + keep)
    alternatives = [f"[{re.escape(removed)}]"]
    if internal:
        # A word-internal mark is a break unless a letter or digit stands on both sides.
        alternatives.append(f"(?<![^\\W_])[{re.escape(internal)}]|[{re.escape(internal)}](?![^\\W_])")
    return re.compile("|".join(alternatives))


def _break_words(text: str, categories: str, keep: str) -> str:
    text = _break_pattern(categories, keep).sub(" ", text)
    if not keep:
        return text
    return " ".join(word for word in text.split() if word.strip(keep))


@dataclass(frozen=True)
class Normaliser:
    steps: tuple[str, ...]
    apostrophe: str = "'"  # what `apostrophes` writes for every variant
    keep: str = ""  # punctuation or symbols that are letters of the orthography, kept everywhere
    replace: tuple[tuple[str, str], ...] = ()  # what `replace` applies, in order

    def __post_init__(self) -> None:
        unknown = [step for step in self.steps if step not in STEP_NAMES]
        if unknown:
            raise NormalisationError(
                f"unknown normalisation step(s) {', '.join(unknown)}; choose from {', '.join(STEP_NAMES)} "
                f"or a preset ({', '.join(PRESETS)}), joined with '+'."
            )
        if len(self.apostrophe) != 1:
            raise NormalisationError(f"the apostrophe must be one character; got {self.apostrophe!r}.")

    @property
    def name(self) -> str:
        return "+".join(self.steps) or "none"

    def __call__(self, text: str) -> str:
        for step in self.steps:
            if step == "symbols" and "punctuation" in self.steps:
                continue  # applied together with punctuation, so the apostrophe rule sees both at once
            text = self._apply(step, text)
        return text

    def _apply(self, step: str, text: str) -> str:
        if step in UNICODE_FORMS:
            return unicodedata.normalize(step.upper(), text)
        if step == "lowercase":
            return text.lower()
        if step == "apostrophes":
            return text.translate({ord(variant): self.apostrophe for variant in APOSTROPHE_VARIANTS})
        if step == "replace":
            for old, new in self.replace:
                text = text.replace(old, new)
            return text
        if step in ("punctuation", "symbols"):
            categories = ("P" if "punctuation" in self.steps else "") + ("S" if "symbols" in self.steps else "")
            return _break_words(text, categories, self.keep)
        return " ".join(text.split())

    def words(self, text: str) -> list[str]:
        return self(text).split()

    def settings(self) -> dict[str, Any]:
        """Everything that defines this normaliser, as JSON (for bundle.json); `normaliser_from_settings` reads it."""
        return {"steps": list(self.steps), "apostrophe": self.apostrophe, "keep": self.keep,
                "replace": [list(pair) for pair in self.replace]}


def _with_whitespace_last(steps: list[str]) -> tuple[str, ...]:
    # Whitespace is always collapsed last so that removed punctuation leaves no empty tokens behind.
    return (*[step for step in steps if step != "whitespace"], "whitespace")


def normaliser_from_spec(spec: str) -> Normaliser:
    """`default`, `nfc+lowercase`, `unicode+punctuation`...: presets expand to their steps, order is kept."""
    steps: list[str] = []
    for part in filter(None, (piece.strip() for piece in spec.split("+"))):
        for step in PRESETS.get(part, (part,)):
            if step not in steps:
                steps.append(step)
    return Normaliser(_with_whitespace_last(steps))


def orthography_normaliser(
    unicode_form: str = "NFC", lowercase: bool = True, apostrophe: str = "'", keep: str = "'",
    replace: tuple[tuple[str, str], ...] = (),
) -> Normaliser:
    """The normaliser of a G2P spec's `normalization:` section (defaults as documented in g2p/README.md)."""
    if unicode_form.lower() not in UNICODE_FORMS:
        raise NormalisationError(f"unicode_form must be NFC, NFD, NFKC or NFKD; got {unicode_form!r}.")
    steps = [unicode_form.lower() if step == "nfc" else step for step in PRESETS["orthography"] if lowercase or step != "lowercase"]
    return Normaliser(tuple(steps), apostrophe=apostrophe, keep=keep, replace=tuple(replace))


def normaliser_from_settings(value: Normaliser | str | Mapping[str, Any] | None) -> Normaliser:
    """A normaliser from what a recipe or bundle.json holds: None (the `none` preset), a spec string, or `settings()`."""
    if isinstance(value, Normaliser):
        return value
    if value is None:
        return normaliser_from_spec("none")
    if isinstance(value, str):
        return normaliser_from_spec(value)
    if isinstance(value, Mapping) and isinstance(value.get("steps"), (list, tuple)):
        unknown = sorted(set(value) - {"steps", "apostrophe", "keep", "replace"})
        if unknown:
            raise NormalisationError(f"unknown normaliser setting(s) {unknown}; known: steps, apostrophe, keep, replace.")
        replace = tuple((str(old), str(new)) for old, new in value.get("replace") or ())
        return Normaliser(_with_whitespace_last([str(step) for step in value["steps"]]), apostrophe=str(value.get("apostrophe", "'")),
                          keep=str(value.get("keep", "")), replace=replace)
    raise NormalisationError(
        f"normaliser {value!r} is neither a name such as `default` or `nfc+lowercase` nor a mapping with `steps`."
    )
