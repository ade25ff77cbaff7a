"""Phones for corpus segments through fieldasr.g2p, when a G2P spec exists for the language.

A builder takes any `Phonemizer`: texts and an ISO 639-3 code in, one phone tuple per text out,
or None when the language has no G2P spec (the builder then leaves `Segment.phones` empty and
counts those segments in its result).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

Phonemizer = Callable[[Sequence[str], str], "list[tuple[str, ...]] | None"]


def spec_names(language_code: str) -> list[str]:
    """Names a G2P spec for this language may have in g2p/: the ISO 639-3 code, the espeak-ng voice, its 2-letter tag."""
    from fieldasr_examples.corpora.text_sources import LANGUAGES

    names = [language_code]
    if language_code in LANGUAGES:
        voice = LANGUAGES[language_code].espeak_voice
        names += [voice, voice.split("-")[0]]
    return list(dict.fromkeys(names))


def g2p_phonemizer(texts: Sequence[str], language_code: str) -> list[tuple[str, ...]] | None:
    """Phones from `fieldasr.g2p` with the first spec found under `spec_names(language_code)`; None if there is none.

    A spec that exists but is broken raises (SpecError), rather than silently yielding no phones.
    """
    try:
        g2p = importlib.import_module("fieldasr.g2p")
    except ImportError:
        return None
    available = set(g2p.available_specs())
    for name in spec_names(language_code):
        if name in available:
            return [tuple(phones) for phones in g2p.phonemize(list(texts), g2p.load_spec(name))]
    return None


def no_phonemizer(texts: Sequence[str], language_code: str) -> None:
    """Leave phones empty (fastest; for audio-only uses)."""
    return None
