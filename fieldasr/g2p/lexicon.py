"""Pronunciation lexicons: word -> phones, with G2P for words the lexicon lacks, written for the CTC decoder.

File format (torchaudio/flashlight `ctc_decoder`): one pronunciation per line, `word<TAB>p1 p2 p3`, phones
separated by spaces. Lines starting with `;;` are comments. `check_lexicon` is the one place that decides
which lines are usable (a trailing word boundary `|` is accepted and removed; the decoder adds it itself).
"""
from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fieldasr.g2p.errors import G2PError
from fieldasr.g2p.pipeline import G2P, get_g2p
from fieldasr.g2p.spec import G2PSpec
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.files import atomic_write_text

Phones = tuple[str, ...]
COMMENT = ";;"


BOUNDARY_INSIDE = f"the word boundary {WORD_BOUNDARY} inside the pronunciation; put each word on its own line"


class LexiconError(G2PError):
    """A lexicon file is malformed."""


def _bad_lines(count: int) -> str:
    return "1 bad line" if count == 1 else f"{count} bad lines"


@dataclass(frozen=True)
class BadLexiconLine:
    line: int
    content: str
    reason: str

    def describe(self) -> str:
        return f"line {self.line}: {self.content!r}: {self.reason}"


@dataclass(frozen=True)
class LexiconCheck:
    """A lexicon file read line by line: its usable entries and every line that is not, with the reason."""

    path: Path
    entries: tuple[tuple[str, Phones], ...]  # (word, phones) in file order, a trailing `|` removed
    bad_lines: tuple[BadLexiconLine, ...]
    comment_lines: int
    trailing_boundaries: int  # entries that ended in `|`, which the decoder adds itself

    def text(self) -> str:
        """The usable entries as a decoder lexicon (`word<TAB>p1 p2 ...`)."""
        return "".join(f"{word}\t{' '.join(phones)}\n" for word, phones in self.entries)

    def problem(self, shown: int = 5) -> str:
        first = "; ".join(bad.describe() for bad in self.bad_lines[:shown])
        more = f" (and {len(self.bad_lines) - shown} more)" if len(self.bad_lines) > shown else ""
        return f"{self.path}: {_bad_lines(len(self.bad_lines))}: {first}{more}"

    def summary(self, shown: int = 5) -> str:
        lines = [f"{self.path}: {len(self.entries)} entries kept, {_bad_lines(len(self.bad_lines))} left out"]
        lines += [f"  {bad.describe()}" for bad in self.bad_lines[:shown]]
        if len(self.bad_lines) > shown:
            lines.append(f"  ... and {len(self.bad_lines) - shown} more")
        if self.trailing_boundaries:
            lines.append(f"  {self.trailing_boundaries} entries ended in the word boundary {WORD_BOUNDARY}; removed (the decoder adds it)")
        return "\n".join(lines)


def check_lexicon(path: str | Path, units: Container[str] | None = None) -> LexiconCheck:
    """Read a lexicon line by line; `units`: the labels the model can emit (None: any label is accepted)."""
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"{path}: lexicon not found. Check the path (or the `lexicon:` entry of the spec, relative to the spec file).")
    entries: list[tuple[str, Phones]] = []
    bad: list[BadLexiconLine] = []
    comments = boundaries = 0
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            line = raw.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError as error:
            bad.append(BadLexiconLine(number, raw.decode("utf-8", "replace"), f"not UTF-8 (byte {raw[error.start]:#04x}); save the file as UTF-8"))
            continue
        if not line.strip():
            continue
        if line.startswith(COMMENT):
            comments += 1
            continue
        word, *fields = line.split()
        phones, had_boundary = without_trailing_boundary(fields)
        boundaries += had_boundary
        reason = _bad_pronunciation(line, phones, units)
        if reason:
            bad.append(BadLexiconLine(number, line, reason))
        else:
            entries.append((word, phones))
    return LexiconCheck(path, tuple(entries), tuple(bad), comments, boundaries)


def without_trailing_boundary(phones: Iterable[str]) -> tuple[Phones, bool]:
    """A pronunciation without a final word boundary `|` (the decoder adds it after every word), and whether it had one."""
    phones = tuple(phones)
    if phones and phones[-1] == WORD_BOUNDARY:
        return phones[:-1], True
    return phones, False


def _bad_pronunciation(line: str, phones: Phones, units: Container[str] | None) -> str | None:
    if line[0].isspace():
        return "starts with white space, so the word is missing; write WORD<TAB>p1 p2 ..."
    if not phones and len(line.split()) == 1 and "\t" not in line.strip(" "):
        return "one field only (a word without a pronunciation); write WORD<TAB>p1 p2 ..."
    if not phones:
        return "empty pronunciation; write the word's phones after it"
    if WORD_BOUNDARY in phones:
        return BOUNDARY_INSIDE
    unknown = sorted({phone for phone in phones if units is not None and phone not in units})
    if unknown:
        return f"{' '.join(unknown)} not in the model's vocabulary; correct the pronunciation or leave the word out"
    return None


def read_pronunciations(path: str | Path) -> dict[str, tuple[Phones, ...]]:
    """Word -> every pronunciation, in file order (what the beam decoder searches); a bad line is an error listing the bad lines."""
    check = check_lexicon(path)
    if check.bad_lines:
        raise LexiconError(check.problem() + ". Correct these lines (format: word<TAB>p1 p2 ...).")
    entries: dict[str, tuple[Phones, ...]] = {}
    for word, phones in check.entries:
        entries[word] = entries.get(word, ()) + (phones,)
    return entries


def read_lexicon(path: str | Path) -> dict[str, Phones]:
    """Word -> phones of the first pronunciation of each word (what G2P uses); a bad line is an error listing the bad lines."""
    return {word: pronunciations[0] for word, pronunciations in read_pronunciations(path).items()}


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

    def write(self, path: str | Path, words: Iterable[str]) -> LexiconReport:
        """Write the decoder lexicon for `words` atomically; words without phones are skipped and reported.

        No word boundary is written: the decoder adds `|` after each word itself, and one inside an entry
        would make the word unusable."""
        words = list(dict.fromkeys(words))
        pronunciations = self.pronounce(words)
        lines, empty = [], []
        for word in words:
            phones = pronunciations[word]
            if not phones:
                empty.append(word)
                continue
            lines.append(f"{word}\t{' '.join(phones)}\n")
        atomic_write_text(path, "".join(lines), make_parents=True)
        from_lexicon = sum(1 for word in words if word in self.entries)
        return LexiconReport(
            written=len(lines), from_lexicon=from_lexicon, from_g2p=len(lines) - from_lexicon, skipped_empty=tuple(empty)
        )


