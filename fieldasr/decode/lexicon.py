"""Pronunciation lexicons for the beam decoder: word -> label sequences (letters or phones).

A character model spells each word with its letters (`spelling_lexicon`); a phone model uses the
pronunciations from the G2P module: a mapping word -> phones, or a lexicon file, which only
`fieldasr.g2p.lexicon` reads (`read_pronunciations`, every pronunciation of each word; `;;` comments skipped,
a trailing word boundary `|` removed, bad lines listed).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.decode.checks import DecodingError
from fieldasr.decode.ngram import SENTENCE_END, SENTENCE_START, UNKNOWN_WORD
from fieldasr.g2p.lexicon import BOUNDARY_INSIDE, read_pronunciations, without_trailing_boundary

# The decoder's name for the one lexicon reader (kept for callers of `fieldasr.decode.read_lexicon`).
read_lexicon = read_pronunciations
from fieldasr.text.vocabulary import BLANK, WORD_BOUNDARY, Vocabulary

Pronunciation = tuple[str, ...]
# One pronunciation per word (word -> phones), or several (word -> [phones, phones, ...]).
LexiconInput = Mapping[str, Sequence[str] | Sequence[Sequence[str]]]


@dataclass(frozen=True)
class Lexicon:
    """Words and their label sequences, every label in the vocabulary; what could not be used is listed."""

    entries: tuple[tuple[str, Pronunciation], ...]
    skipped: tuple[tuple[str, str], ...]  # (word, reason)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(word for word, _ in self.entries))

    def decoder_lines(self) -> list[str]:
        """Lines of a flashlight lexicon file: the word, then its labels and the word boundary."""
        return [" ".join((word, *labels, WORD_BOUNDARY)) for word, labels in self.entries]


def pronunciations(lexicon: LexiconInput) -> list[tuple[str, Pronunciation]]:
    """Flatten a word -> phones (or word -> list of phone sequences) mapping into (word, phones) pairs."""
    pairs = []
    for word, value in lexicon.items():
        if isinstance(value, str):
            raise DecodingError(
                f"lexicon entry {word!r} -> {value!r} is a string; give a sequence of labels, e.g. {tuple(value)}."
            )
        if value and not isinstance(value[0], str):
            pairs += [(word, tuple(labels)) for labels in value]
        else:
            pairs.append((word, tuple(value)))
    return pairs


def normalise_words(lexicon: LexiconInput, normaliser: Callable[[str], str]) -> dict[str, list[Pronunciation]]:
    """The lexicon with its words as the labels' normaliser writes them (a bundle's), so decoded words match the
    labels and the LM; words that become one keep all their pronunciations. A word that becomes empty or two words
    is left out by `build_lexicon`, with the reason."""
    normalised: dict[str, list[Pronunciation]] = {}
    for word, labels in pronunciations(lexicon):
        variants = normalised.setdefault(normaliser(word), [])
        if labels not in variants:
            variants.append(labels)
    return normalised


def build_lexicon(lexicon: LexiconInput, vocabulary: Vocabulary) -> Lexicon:
    """Keep the pronunciations whose labels the model can emit; list the others with the reason."""
    entries, skipped = [], []
    reserved = {BLANK, WORD_BOUNDARY}
    for word, labels in pronunciations(lexicon):
        labels, _ = without_trailing_boundary(labels)  # the decoder adds the boundary itself, as for lexicon files
        missing = sorted({label for label in labels if label not in vocabulary or label in reserved})
        if not word or any(character.isspace() for character in word):
            skipped.append((word, "the word is empty or contains white space"))
        elif word in (SENTENCE_START, SENTENCE_END, UNKNOWN_WORD):
            skipped.append((word, "reserved language-model symbol"))
        elif not labels:
            skipped.append((word, "empty pronunciation"))
        elif WORD_BOUNDARY in labels:
            skipped.append((word, BOUNDARY_INSIDE))
        elif missing:
            skipped.append((word, f"labels not in the model's vocabulary: {' '.join(missing)}"))
        else:
            entries.append((word, labels))
    if not entries:
        raise DecodingError(
            f"none of the {len(skipped)} lexicon entries can be spelled with the model's labels "
            f"(first problem: {skipped[0] if skipped else 'the lexicon is empty'}); "
            "check that the lexicon and the model use the same phone or letter inventory."
        )
    return Lexicon(entries=tuple(entries), skipped=tuple(skipped))


def spelling_lexicon(words: Iterable[str], vocabulary: Vocabulary) -> Lexicon:
    """Spell each word with the vocabulary's labels, longest label first (so digraph labels are used)."""
    labels = [token for token in vocabulary.tokens if token not in (BLANK, WORD_BOUNDARY)]
    labels.sort(key=len, reverse=True)
    spelled: dict[str, list[Pronunciation]] = {}
    unspellable: list[tuple[str, str]] = []
    for word in dict.fromkeys(words):
        spelling = _spell(word, labels)
        if spelling is None:
            unspellable.append((word, "contains characters the model cannot emit"))
        else:
            spelled[word] = [spelling]
    if not spelled:
        raise DecodingError("no word of the word list can be spelled with the model's labels.")
    lexicon = build_lexicon(spelled, vocabulary)
    return Lexicon(entries=lexicon.entries, skipped=tuple(unspellable) + lexicon.skipped)


def _spell(word: str, labels: list[str]) -> Pronunciation | None:
    spelling, position = [], 0
    while position < len(word):
        label = next((label for label in labels if word.startswith(label, position)), None)
        if label is None:
            return None
        spelling.append(label)
        position += len(label)
    return tuple(spelling)


def arpa_words(path: str | Path) -> list[str]:
    """The words of an ARPA language model (its unigrams, without <s>, </s>, <unk>)."""
    path = Path(path)
    if not path.is_file():
        raise DecodingError(f"{path}: ARPA language model not found; build one with `fieldasr lm`.")
    words, in_unigrams = [], False
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            stripped = line.strip()
            if stripped == "\\1-grams:":
                in_unigrams = True
            elif in_unigrams and stripped.startswith("\\"):
                break
            elif in_unigrams and stripped:
                word = stripped.split()[1]
                if word not in (SENTENCE_START, SENTENCE_END, UNKNOWN_WORD):
                    words.append(word)
    if not words:
        raise DecodingError(f"{path}: no unigrams found; is this an ARPA file (binary KenLM models have no word list)?")
    return words


def decoding_lexicon(vocabulary: Vocabulary, lexicon_path: str | Path | None, lm_path: str | Path | None,
                     normaliser: Callable[[str], str] | None = None) -> Lexicon | None:
    """The beam decoder's words: the lexicon file's pronunciations the model can emit, its words normalised as the
    labels were (`normaliser`, a bundle's); without a lexicon file, the ARPA LM's words spelled with the model's
    labels (a character model); None when given neither."""
    if lexicon_path is not None:
        entries = read_lexicon(lexicon_path)
        return build_lexicon(normalise_words(entries, normaliser) if normaliser else entries, vocabulary)
    if lm_path is not None:
        return spelling_lexicon(arpa_words(lm_path), vocabulary)
    return None
