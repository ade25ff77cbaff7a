"""Text -> phone sequences for a spec: normalise, split into words, transcribe each distinct word once, segment.

Words are normalised by the spec's `fieldasr.text.normalise` normaliser, the one scoring and decoding use, so a
hyphenated word (tūtū-nui) is one word here as there, with no word boundary inside; spelling backends transcribe
it piece by piece (a hyphen is not a sound), a lexicon may list it whole.

Words are cached per G2P object (one per spec fingerprint for the module-level functions), so a corpus of
100k utterances sends each distinct word to espeak-ng once, in large batches.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.g2p.backends import WordBackend, build_backends
from fieldasr.g2p.errors import G2PError
from fieldasr.g2p.rules import WordTranscription
from fieldasr.g2p.segment import ipa_to_phones, is_known_phone
from fieldasr.g2p.spec import G2PSpec, load_spec
from fieldasr.text.vocabulary import WORD_BOUNDARY

Phones = tuple[str, ...]
EXAMPLES_PER_CHARACTER = 5
HYPHENS = re.compile("[-‐]")  # kept inside words by the normaliser (fieldasr.text.normalise)


@dataclass(frozen=True)
class CachedWord:
    phones: tuple[Phones, ...]  # usually one word; espeak may read "42" as several
    uncovered: tuple[str, ...]
    backend: str | None  # None: no backend gave a transcription


@dataclass(frozen=True)
class G2PReport:
    """What happened to the input, counted over word occurrences."""

    utterances: int
    words: int
    distinct_words: int
    uncovered_characters: Mapping[str, int]  # characters no rule covered (skipped), with counts
    uncovered_examples: Mapping[str, tuple[str, ...]]  # a few words each uncovered character occurred in
    empty_words: Mapping[str, int]  # non-empty words that produced no phones
    unknown_phones: Mapping[str, int]  # phones panphon has no articulatory features for
    words_by_backend: Mapping[str, int]

    @property
    def clean(self) -> bool:
        return not (self.uncovered_characters or self.empty_words)

    def summary(self) -> str:
        lines = [f"{self.utterances} utterances, {self.words} words ({self.distinct_words} distinct)"]
        lines.append("words by backend: " + ", ".join(f"{name} {count}" for name, count in self.words_by_backend.items()))
        for character, count in sorted(self.uncovered_characters.items(), key=lambda item: -item[1]):
            examples = ", ".join(self.uncovered_examples.get(character, ()))
            lines.append(f"no rule covers {character!r} (U+{ord(character):04X}): {count} times, e.g. in {examples}; skipped")
        if self.empty_words:
            top = ", ".join(f"{word!r} ({count})" for word, count in Counter(self.empty_words).most_common(10))
            lines.append(f"{sum(self.empty_words.values())} words gave no phones: {top}")
        if self.unknown_phones:
            top = ", ".join(f"{phone} ({count})" for phone, count in Counter(self.unknown_phones).most_common(10))
            lines.append(f"phones without panphon features (kept, but not mappable by features): {top}")
        return "\n".join(lines)


@dataclass(frozen=True)
class G2PResult:
    phones: tuple[Phones, ...]  # one sequence per input text
    report: G2PReport


class G2P:
    """The G2P of one spec, with its word cache. Backends are built on first use."""

    def __init__(self, spec: G2PSpec) -> None:
        self.spec = spec
        self._backends: tuple[WordBackend, ...] | None = None
        self._cache: dict[str, CachedWord] = {}

    @property
    def backends(self) -> tuple[WordBackend, ...]:
        if self._backends is None:
            self._backends = build_backends(self.spec)
        return self._backends

    def words(self, text: str) -> list[str]:
        return self.spec.normalization.words(text)

    def phonemize(self, texts: Sequence[str] | str, *, word_boundaries: bool = False, strict: bool = False) -> G2PResult:
        """Phones of each text; words joined by WORD_BOUNDARY when `word_boundaries`. Strict: empty words raise."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        tokenized = [self.words(text) for text in texts]
        occurrences = Counter(word for words in tokenized for word in words)
        self._fill_cache([word for word in occurrences if word not in self._cache])
        report = self._report(len(texts), occurrences)
        if strict and report.empty_words:
            raise G2PError(
                f"spec {self.spec.name!r}: {len(report.empty_words)} words gave no phones, e.g. "
                f"{', '.join(list(report.empty_words)[:10])}. Add rules or lexicon entries for them, or run without strict."
            )
        phones = tuple(self._join(words, word_boundaries) for words in tokenized)
        return G2PResult(phones=phones, report=report)

    def _join(self, words: list[str], word_boundaries: bool) -> Phones:
        """One word's parts (a hyphenated word's pieces, espeak's reading of 42) are one word, as in the lexicon,
        the LM and scoring: word boundaries go between the normalised words only."""
        spelled = [tuple(phone for part in self._cache[word].phones for phone in part) for word in words]
        joined: list[str] = []
        for phones in (phones for phones in spelled if phones):
            if joined and word_boundaries:
                joined.append(WORD_BOUNDARY)
            joined.extend(phones)
        return tuple(joined)

    def _fill_cache(self, words: list[str]) -> None:
        pending = words
        for backend in self.backends:
            if not pending:
                break
            missing = []
            for word, transcription in zip(pending, _transcribe(backend, pending)):
                if transcription is None:
                    missing.append(word)
                    continue
                parts = tuple(ipa_to_phones(piece, self.spec.ipa) for piece in transcription.ipa.split())
                self._cache[word] = CachedWord(parts, transcription.uncovered, backend.name)
            pending = missing
        for word in pending:
            self._cache[word] = CachedWord((), (), None)

    def _report(self, utterances: int, occurrences: Counter[str]) -> G2PReport:
        uncovered: Counter[str] = Counter()
        examples: dict[str, list[str]] = defaultdict(list)
        empty: dict[str, int] = {}
        unknown: Counter[str] = Counter()
        by_backend: Counter[str] = Counter()
        for word, count in occurrences.items():
            cached = self._cache[word]
            by_backend[cached.backend or "none"] += 1
            for character in cached.uncovered:
                uncovered[character] += count
                if word not in examples[character] and len(examples[character]) < EXAMPLES_PER_CHARACTER:
                    examples[character].append(word)
            if not any(cached.phones):
                empty[word] = count
            for phone in (phone for part in cached.phones for phone in part):
                if not is_known_phone(phone):
                    unknown[phone] += count
        return G2PReport(
            utterances=utterances,
            words=sum(occurrences.values()),
            distinct_words=len(occurrences),
            uncovered_characters=dict(uncovered),
            uncovered_examples={character: tuple(words) for character, words in examples.items()},
            empty_words=empty,
            unknown_phones=dict(unknown),
            words_by_backend=dict(by_backend),
        )


def _transcribe(backend: WordBackend, words: list[str]) -> list[WordTranscription | None]:
    """A lexicon looks words up whole; other backends get a hyphenated word's pieces, its phones are theirs in order."""
    if backend.name == "lexicon":
        return backend.transcribe(words)
    pieces = {word: [piece for piece in HYPHENS.split(word) if piece] or [word] for word in words}
    distinct = list(dict.fromkeys(piece for listing in pieces.values() for piece in listing))
    by_piece = dict(zip(distinct, backend.transcribe(distinct)))
    joined: list[WordTranscription | None] = []
    for word in words:
        parts = [by_piece[piece] for piece in pieces[word]]
        if any(part is None for part in parts):
            joined.append(None)
        else:  # the pieces' phones in order, one word (no word boundary between them)
            joined.append(WordTranscription(" ".join(part.ipa for part in parts),  # type: ignore[union-attr]
                                            tuple(c for part in parts for c in part.uncovered)))  # type: ignore[union-attr]
    return joined


_G2P_BY_SPEC: dict[str, G2P] = {}


def get_g2p(spec: G2PSpec | str | Path) -> G2P:
    """The shared G2P (and word cache) of a spec, loading the spec by name or path if needed."""
    if not isinstance(spec, G2PSpec):
        spec = load_spec(spec)
    key = spec.fingerprint
    if key not in _G2P_BY_SPEC:
        _G2P_BY_SPEC[key] = G2P(spec)
    return _G2P_BY_SPEC[key]


def phonemize(
    texts: Sequence[str] | str, spec: G2PSpec | str | Path, *, word_boundaries: bool = False, strict: bool = False
) -> list[Phones]:
    """Phone sequences of `texts` (one tuple of IPA phones per text). Use `phonemize_with_report` for the report."""
    return list(phonemize_with_report(texts, spec, word_boundaries=word_boundaries, strict=strict).phones)


def phonemize_with_report(
    texts: Sequence[str] | str, spec: G2PSpec | str | Path, *, word_boundaries: bool = False, strict: bool = False
) -> G2PResult:
    return get_g2p(spec).phonemize(texts, word_boundaries=word_boundaries, strict=strict)

