"""Word n-gram language models from target-language text, written as ARPA for KenLM and the beam decoder.

KenLM's estimator (`lmplz`) is not packaged for Debian, and the `kenlm` Python module only queries models,
so the estimator is written here: interpolated modified Kneser-Ney (Chen & Goodman 1998), the same family
as `lmplz`, with the unigrams interpolated with the uniform distribution. An interpolated model is exactly a
backoff model, which is what ARPA stores: a seen n-gram's probability is its interpolated probability and a
context's backoff weight is its interpolation weight. The tests check that the `kenlm` module, reading the
ARPA file, scores sentences as `NgramModel.log10_probability` does.

With a normaliser (`fieldasr.text.normalise`, e.g. a bundle's), each line is normalised before counting, so the
LM's words are written as the labels and lexicon words are.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_write_text
from fieldasr.text.normalise import Normaliser

SENTENCE_START = "<s>"
SENTENCE_END = "</s>"
UNKNOWN_WORD = "<unk>"
# Used for an order whose count-of-counts cannot give discounts (tiny corpora), as `lmplz --discount_fallback`.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
MIN_ORDER = 2  # KenLM, and so the beam decoder, reads nothing smaller than a bigram model
MAX_ORDER = 5


class LanguageModelError(FieldasrError):
    """An n-gram language model cannot be built or read."""


@dataclass(frozen=True)
class ArpaSummary:
    """What `build_arpa` wrote: the path, the order asked for and the order the text supports, the counts."""

    path: Path
    requested_order: int
    order: int
    sentences: int
    skipped_empty_lines: int
    ngram_counts: tuple[int, ...]
    discounts: tuple[tuple[float, float, float], ...]
    fallback_orders: tuple[int, ...]


class NgramModel:
    """Interpolated modified Kneser-Ney estimates from sentences of whitespace-separated words."""

    def __init__(self, sentences: Iterable[str], order: int = 3) -> None:
        if not MIN_ORDER <= order <= MAX_ORDER:
            raise LanguageModelError(f"n-gram order {order} is not supported; choose {MIN_ORDER} to {MAX_ORDER}.")
        padded = [[SENTENCE_START, *words, SENTENCE_END] for words in (line.split() for line in sentences) if words]
        for number, words in enumerate(padded, start=1):
            if SENTENCE_START in words[1:] or SENTENCE_END in words[:-1]:
                raise LanguageModelError(
                    f"sentence {number} contains {SENTENCE_START} or {SENTENCE_END} as a word; remove these markers, "
                    "they are added around every line."
                )
        if not padded:
            raise LanguageModelError("no words in the language-model text; give one sentence per line.")
        self.sentence_count = len(padded)
        self.requested_order = order
        raw_counts = _count_ngrams(padded, order)
        self.order = max(length for length in range(1, order + 1) if raw_counts[length])
        self.counts = _adjusted_counts(raw_counts, self.order)
        self.vocabulary = sorted({gram[0] for gram in self.counts[1]} | {UNKNOWN_WORD})
        self.discounts: dict[int, tuple[float, float, float]] = {}
        self.fallback_orders: list[int] = []
        for length in range(1, self.order + 1):
            self.discounts[length] = self._discounts_for(length)
        self._context_totals = _context_statistics(self.counts, self.discounts)

    def _discounts_for(self, length: int) -> tuple[float, float, float]:
        count_of_counts = Counter(self.counts[length].values())
        n1, n2, n3, n4 = (count_of_counts[k] for k in (1, 2, 3, 4))
        if min(n1, n2, n3, n4) == 0:
            self.fallback_orders.append(length)
            return FALLBACK_DISCOUNTS
        y = n1 / (n1 + 2 * n2)
        discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        if not all(0 < discount < k for k, discount in enumerate(discounts, start=1)):
            self.fallback_orders.append(length)
            return FALLBACK_DISCOUNTS
        return discounts

    def _discount(self, length: int, count: int) -> float:
        return self.discounts[length][min(count, 3) - 1]

    def interpolation_weight(self, context: tuple[str, ...]) -> float:
        """The mass left for the lower order after context `context`; 1 for a context never seen."""
        totals = self._context_totals.get(context)
        return 1.0 if totals is None else totals[1] / totals[0]

    def probability(self, word: str, context: tuple[str, ...]) -> float:
        """P(word | context) by the interpolation recursion, straight from the counts."""
        if word not in self.vocabulary and word != SENTENCE_START:
            word = UNKNOWN_WORD
        context = tuple(w if w in self.vocabulary or w == SENTENCE_START else UNKNOWN_WORD for w in context)
        return self._interpolated(word, context[max(0, len(context) - (self.order - 1)) :])

    def _interpolated(self, word: str, context: tuple[str, ...]) -> float:
        if context:
            lower = self._interpolated(word, context[1:])
        else:
            lower = 1.0 / len(self.vocabulary)  # the uniform floor, over every word that can be predicted
        totals = self._context_totals.get(context)
        if totals is None:
            return lower
        length = len(context) + 1
        count = self.counts[length].get((*context, word), 0)
        seen_part = max(count - self._discount(length, count), 0.0) / totals[0] if count else 0.0
        return seen_part + totals[1] / totals[0] * lower

    def log10_probability(self, word: str, context: tuple[str, ...]) -> float:
        return math.log10(self.probability(word, context))

    def sentence_log10_probability(self, sentence: str) -> float:
        """log10 P(</s> w_n ... w_1 | <s>), as `kenlm.Model.score(sentence, bos=True, eos=True)`."""
        words = [*sentence.split(), SENTENCE_END]
        history = [SENTENCE_START]
        total = 0.0
        for word in words:
            total += self.log10_probability(word, tuple(history))
            history.append(word)
        return total

    def write_arpa(self, path: str | Path) -> Path:
        """Write the model as ARPA text, atomically."""
        path = Path(path)
        sections = [self._arpa_section(length) for length in range(1, self.order + 1)]
        lines = ["\\data\\"] + [f"ngram {length}={len(rows)}" for length, rows in enumerate(sections, start=1)]
        for length, rows in enumerate(sections, start=1):
            lines += ["", f"\\{length}-grams:", *rows]
        lines += ["", "\\end\\", ""]
        atomic_write_text(path, "\n".join(lines), make_parents=True)
        return path

    def arpa_grams(self, length: int) -> list[tuple[str, ...]]:
        """The n-grams of one order that the ARPA file lists: the seen ones, plus <unk> and <s> as unigrams."""
        grams = set(self.counts[length])
        if length == 1:
            grams |= {(UNKNOWN_WORD,), (SENTENCE_START,)}
        return sorted(grams)

    def _arpa_section(self, length: int) -> list[str]:
        rows = []
        for gram in self.arpa_grams(length):
            if gram == (SENTENCE_START,):
                log_probability = -99.0  # never predicted; present so that contexts can start with it
            else:
                log_probability = self.log10_probability(gram[-1], gram[:-1])
            row = f"{log_probability:.7f}\t{' '.join(gram)}"
            if length < self.order and gram in self._context_totals:
                row += f"\t{math.log10(self.interpolation_weight(gram)):.7f}"
            rows.append(row)
        return rows


def _count_ngrams(sentences: list[list[str]], order: int) -> dict[int, Counter]:
    counts: dict[int, Counter] = {length: Counter() for length in range(1, order + 1)}
    for words in sentences:
        for length in range(1, order + 1):
            for start in range(len(words) - length + 1):
                gram = tuple(words[start : start + length])
                if gram != (SENTENCE_START,):
                    counts[length][gram] += 1
    return counts


def _adjusted_counts(raw_counts: dict[int, Counter], order: int) -> dict[int, dict[tuple[str, ...], int]]:
    """Kneser-Ney counts: raw at the top order and for n-grams starting at <s>; elsewhere the number of
    distinct words seen before the n-gram (its continuation count)."""
    adjusted: dict[int, dict[tuple[str, ...], int]] = {order: dict(raw_counts[order])}
    for length in range(order - 1, 0, -1):
        continuation: Counter = Counter(gram[1:] for gram in raw_counts[length + 1])
        adjusted[length] = {
            gram: (count if gram[0] == SENTENCE_START else continuation[gram])
            for gram, count in raw_counts[length].items()
        }
    return adjusted


def _context_statistics(
    counts: dict[int, dict[tuple[str, ...], int]], discounts: dict[int, tuple[float, float, float]]
) -> dict[tuple[str, ...], tuple[float, float]]:
    """For each context: (total count of what follows it, discounted mass freed for the lower order)."""
    totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for length, grams in counts.items():
        for gram, count in grams.items():
            entry = totals[gram[:-1]]
            entry[0] += count
            entry[1] += discounts[length][min(count, 3) - 1]
    return {context: (total, freed) for context, (total, freed) in totals.items()}


def read_sentences(text_path: str | Path, normaliser: Normaliser | None = None) -> tuple[list[str], int]:
    """Non-empty lines of a UTF-8 text file, normalised if asked, and the number of empty lines skipped."""
    text_path = Path(text_path)
    if not text_path.is_file():
        raise LanguageModelError(f"{text_path}: language-model text not found (one sentence per line, UTF-8).")
    lines = text_path.read_text(encoding="utf-8").splitlines()
    if normaliser is not None:
        lines = [normaliser(line) for line in lines]
    sentences = [line for line in lines if line.split()]
    return sentences, len(lines) - len(sentences)


def build_arpa(text_path: str | Path, arpa_path: str | Path, order: int = 3, normaliser: Normaliser | None = None) -> ArpaSummary:
    """Estimate a word n-gram model from a text file (one sentence per line, normalised if asked) and write it as ARPA."""
    sentences, skipped = read_sentences(text_path, normaliser)
    model = NgramModel(sentences, order=order)
    written = model.write_arpa(arpa_path)
    return ArpaSummary(
        path=written,
        requested_order=order,
        order=model.order,
        sentences=model.sentence_count,
        skipped_empty_lines=skipped,
        ngram_counts=tuple(len(model.arpa_grams(length)) for length in range(1, model.order + 1)),
        discounts=tuple(model.discounts[length] for length in range(1, model.order + 1)),
        fallback_orders=tuple(model.fallback_orders),
    )
