"""Text normalisation before G2P: Unicode form, case, apostrophe variants, punctuation, word splitting."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Characters people type for an apostrophe, an okina or a glottal stop letter; all become `Normalization.apostrophe`.
APOSTROPHE_VARIANTS = "'’‘ʼʻ`´ʹʾʿ"


@dataclass(frozen=True)
class Normalization:
    lowercase: bool = True
    unicode_form: str = "NFC"
    apostrophe: str = "'"  # the one character every apostrophe/okina variant becomes
    keep: str = "'"  # punctuation that is part of spelling (e.g. ' for a glottal stop); everything else splits words
    replace: tuple[tuple[str, str], ...] = ()  # applied in order, after lowercasing, before punctuation is removed


def _is_punctuation(character: str) -> bool:
    return unicodedata.category(character)[0] in {"P", "S"}


def normalize_words(text: str, normalization: Normalization) -> list[str]:
    """The words of `text` as the G2P backend should see them."""
    text = unicodedata.normalize(normalization.unicode_form, text)
    for variant in APOSTROPHE_VARIANTS:
        text = text.replace(variant, normalization.apostrophe)
    if normalization.lowercase:
        text = text.lower()
    for old, new in normalization.replace:
        text = text.replace(old, new)
    kept = "".join(
        " " if _is_punctuation(character) and character not in normalization.keep else character for character in text
    )
    words = []
    for word in kept.split():
        # Kept punctuation only counts inside or before a letter: a lone "'" or trailing "-" is not a word.
        stripped = word.strip("".join(c for c in normalization.keep if c != normalization.apostrophe))
        if any(not _is_punctuation(character) for character in stripped):
            words.append(stripped)
    return words
