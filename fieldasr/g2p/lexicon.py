"""Pronunciation lexicons: word -> phones, with G2P for words the lexicon lacks, written for the CTC decoder.

File format (torchaudio/flashlight `ctc_decoder`): one pronunciation per line, `word<TAB>p1 p2 p3`, phones
separated by spaces, optionally ending in the word-boundary token `|`. Lines starting with `;;` are comments.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fieldasr.g2p.errors import G2PError
from fieldasr.g2p.pipeline import G2P, get_g2p
from fieldasr.g2p.spec import G2PSpec
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.files import atomic_write_text

Phones = tuple[str, ...]


class LexiconError(G2PError):
    """A lexicon file is malformed."""


def read_lexicon(path: str | Path) -> dict[str, Phones]:
    """Word -> phones of the first pronunciation of each word (a trailing `|` is not part of the phones)."""
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"{path}: lexicon not found. Check the `lexicon:` entry of the spec (relative to the spec file).")
    entries: dict[str, Phones] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith(";;"):
            continue
        word, *phones = line.split()
        if phones and phones[-1] == WORD_BOUNDARY:
            phones.pop()
        if not phones:
            raise LexiconError(f"{path} line {number}: {word!r} has no phones. Write `word<TAB>p1 p2 ...`.")
        entries.setdefault(word, tuple(phones))
    return entries


@dataclass(frozen=True)
class LexiconReport:
    written: int
    from_lexicon: int
    from_g2p: int
    skipped_empty: tuple[str, ...]  # words for which neither the lexicon nor G2P gave phones: not written


class Lexicon:
    """Known pronunciations first, G2P of the spec for the rest (out-of-vocabulary words)."""

    def __init__(self, spec: G2PSpec | str | Path, entries: Mapping[str, Phones] | None = None) -> None:
        self.g2p: G2P = get_g2p(spec)
        self.entries: dict[str, Phones] = dict(entries or {})

    @classmethod
    def from_file(cls, path: str | Path, spec: G2PSpec | str | Path) -> "Lexicon":
        return cls(spec, read_lexicon(path))

    def words_of(self, texts: Iterable[str]) -> list[str]:
        """Distinct normalised words of `texts`, in order of first appearance."""
        return list(dict.fromkeys(word for text in texts for word in self.g2p.words(text)))

    def pronounce(self, words: Iterable[str]) -> dict[str, Phones]:
        """Phones of each word: the lexicon's entry, else G2P (all unknown words in one batch)."""
        words = list(dict.fromkeys(words))
        unknown = [word for word in words if word not in self.entries]
        from_g2p = dict(zip(unknown, self.g2p.phonemize(unknown).phones)) if unknown else {}
        return {word: self.entries[word] if word in self.entries else from_g2p[word] for word in words}

    def write(self, path: str | Path, words: Iterable[str], *, word_boundary: bool = False) -> LexiconReport:
        """Write the decoder lexicon for `words` atomically; words without phones are skipped and reported."""
        words = list(dict.fromkeys(words))
        pronunciations = self.pronounce(words)
        lines, empty = [], []
        for word in words:
            phones = pronunciations[word]
            if not phones:
                empty.append(word)
                continue
            lines.append(f"{word}\t{' '.join(phones + ((WORD_BOUNDARY,) if word_boundary else ()))}\n")
        atomic_write_text(path, "".join(lines), make_parents=True)
        from_lexicon = sum(1 for word in words if word in self.entries)
        return LexiconReport(
            written=len(lines), from_lexicon=from_lexicon, from_g2p=len(lines) - from_lexicon, skipped_empty=tuple(empty)
        )


