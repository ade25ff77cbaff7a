"""Language codes: the ISO 639-1 code (cs), the ISO 639-3 code (ces) and the bibliographic ISO 639-2 code (cze)
name one language; every comparison of a segment's language with a spec's or a recipe's goes through here.

The table (`fieldasr.iso639_codes`) is generated from Debian's iso-codes by tools/generate_language_codes.py.
Codes it does not list (ISO 639-3 codes, `und`, a project's own labels) stand for themselves; case is ignored.
Region and script subtags are kept (zh-Hans and zh-Hant stay different).
"""
from __future__ import annotations

from collections.abc import Iterable

from fieldasr.iso639_codes import TO_ISO_639_3


def iso_639_3(code: str) -> str:
    """`cs`, `CS`, `cze` and `ces` all give `ces`; a code the table does not know is returned lower-cased."""
    lowered = code.strip().lower()
    return TO_ISO_639_3.get(lowered, lowered)


def same_language(first: str, second: str) -> bool:
    return iso_639_3(first) == iso_639_3(second)


def in_languages(code: str | None, languages: Iterable[str]) -> bool:
    """Whether `code` names one of `languages`, whichever ISO 639 form each is written in (None: never)."""
    return code is not None and iso_639_3(code) in {iso_639_3(language) for language in languages}
