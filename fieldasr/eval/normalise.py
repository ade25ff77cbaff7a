"""Named, composable text normalisation applied identically to references and hypotheses.

A normaliser is a sequence of named steps, written `nfc+lowercase+punctuation+whitespace`; its name goes
into every report so two scores are only compared when they were normalised the same way. Digits are
never rewritten: "3" and "three" stay different words, because spelling out numbers is language-specific.
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from fieldasr.eval.errors import EvaluationError

# Apostrophes and hyphens inside a word are kept: in many orthographies ' or ’ writes a glottal stop.
_WORD_INTERNAL = "'’‘-‐"


@functools.cache
def _punctuation_pattern() -> re.Pattern[str]:
    """Every Unicode punctuation character (category P*), except word-internal apostrophes and hyphens.

    Built once from the Unicode tables: one regular expression instead of a Python loop over characters,
    which matters for 100k utterances.
    """
    punctuation = "".join(
        chr(code) for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)).startswith("P") and chr(code) not in _WORD_INTERNAL
    )
    kept = re.escape(_WORD_INTERNAL)
    # A kept mark counts as punctuation unless a letter or digit stands on both sides.
    return re.compile(f"[{re.escape(punctuation)}]|(?<![^\\W_])[{kept}]|[{kept}](?![^\\W_])")


def _strip_punctuation(text: str) -> str:
    return _punctuation_pattern().sub(" ", text)


STEPS: dict[str, Callable[[str], str]] = {
    "nfc": lambda text: unicodedata.normalize("NFC", text),
    "nfd": lambda text: unicodedata.normalize("NFD", text),
    "lowercase": str.lower,
    "punctuation": _strip_punctuation,
    "whitespace": lambda text: " ".join(text.split()),
}

PRESETS: dict[str, tuple[str, ...]] = {
    "none": ("whitespace",),
    "unicode": ("nfc", "whitespace"),
    "default": ("nfc", "lowercase", "punctuation", "whitespace"),
    # For phone strings: case and punctuation-like IPA marks (ˈ, ., |) carry meaning.
    "phones": ("nfc", "whitespace"),
}


@dataclass(frozen=True)
class Normaliser:
    steps: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [step for step in self.steps if step not in STEPS]
        if unknown:
            raise EvaluationError(
                f"unknown normalisation step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)} "
                f"or a preset ({', '.join(PRESETS)}), joined with '+'."
            )

    @property
    def name(self) -> str:
        return "+".join(self.steps) or "none"

    def __call__(self, text: str) -> str:
        for step in self.steps:
            text = STEPS[step](text)
        return text


def normaliser_from_spec(spec: str) -> Normaliser:
    """`default`, `nfc+lowercase`, `unicode+punctuation`...: presets expand to their steps, order is kept."""
    steps: list[str] = []
    for part in filter(None, (piece.strip() for piece in spec.split("+"))):
        for step in PRESETS.get(part, (part,)):
            if step not in steps:
                steps.append(step)
    # Whitespace is always collapsed last so that removed punctuation leaves no empty tokens behind.
    if "whitespace" in steps:
        steps.remove("whitespace")
    steps.append("whitespace")
    return Normaliser(tuple(steps))
