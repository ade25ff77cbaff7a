"""Phones for corpus segments through fieldasr.g2p, when a G2P spec exists for the language.

A builder takes any `Phonemizer`: texts and an ISO 639-3 code in, one phone tuple per text out,
or None when the language has no G2P spec (the builder then leaves `Segment.phones` empty and
counts those segments in its result).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from fieldasr.errors import FieldasrError

Phonemizer = Callable[[Sequence[str], str], "list[tuple[str, ...]] | None"]


def g2p_phonemizer(texts: Sequence[str], language_code: str) -> list[tuple[str, ...]] | None:
    """Phones from `fieldasr.g2p`, trying the ISO 639-3 code, then the espeak-ng voice code of the language."""
    try:
        from fieldasr import g2p
    except ImportError:
        return None
    from fieldasr.corpora.text_sources import LANGUAGES

    candidates = [language_code]
    if language_code in LANGUAGES:
        candidates.append(LANGUAGES[language_code].espeak_voice)
    for candidate in candidates:
        try:
            spec = g2p.load_spec(candidate)
        except (FieldasrError, LookupError, FileNotFoundError):
            continue
        return [tuple(phones) for phones in g2p.phonemize(list(texts), spec)]
    return None


def no_phonemizer(texts: Sequence[str], language_code: str) -> None:
    """Leave phones empty (fastest; for audio-only uses)."""
    return None
