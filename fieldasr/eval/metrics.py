"""Scoring: WER, CER and PER with sclite's alignment, per utterance and in total.

Units:
- `word`: whitespace-separated words.
- `char`: characters (Unicode code points after normalisation) with whitespace removed, exactly what
  `sclite -e utf-8 -c` measures: it splits every word into characters and drops the word boundaries.
  (`sclite -c NOASCII` would keep ASCII words whole, which is not a character error rate for text in
  Latin script, and `DH` deletes hyphens; neither is applied here.) jiwer's CER counts spaces as
  characters, so its figures differ from these and from sclite's.
- `phone`: phone tokens. A sequence is used as given; a string is split at whitespace (the `.trn`
  convention for phones). Unsegmented IPA strings go through `phones_from_ipa` first.

Empty references: an utterance with no reference tokens has no rate (None); its insertions still count in
the totals. A total over zero reference tokens is None too, never a count passed off as a rate.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fieldasr.eval.align import Alignment, align_batch
from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.normalise import Normaliser, normaliser_from_spec

Unit = Literal["word", "char", "phone"]
UNITS: tuple[str, ...] = ("word", "char", "phone")
Transcript = str | Sequence[str]
logger = logging.getLogger(__name__)


def phones_from_ipa(ipa: str) -> tuple[str, ...]:
    """Segment an IPA string without spaces into phones with `fieldasr.g2p.segment_ipa`, word by word."""
    try:
        from fieldasr.g2p import segment_ipa  # imported late: the g2p package is optional here
    except ImportError:
        logger.warning("fieldasr.g2p.segment_ipa is not available; splitting IPA into single characters instead.")
        return tuple(character for word in ipa.split() for character in word)
    return tuple(phone for word in ipa.split() for phone in segment_ipa(word))


def tokenise(transcript: Transcript, unit: Unit, normaliser: Normaliser | None = None) -> tuple[str, ...]:
    """Normalise, then split into the tokens that are aligned."""
    if unit not in UNITS:
        raise EvaluationError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}.")
    normalise = normaliser or normaliser_from_spec("none")
    if not isinstance(transcript, str):
        return tuple(token for token in (normalise(str(item)) for item in transcript) if token)
    text = normalise(transcript)
    if unit == "char":
        return tuple("".join(text.split()))
    return tuple(text.split())


@dataclass(frozen=True)
class UtteranceScore:
    id: str
    reference: tuple[str, ...]
    hypothesis: tuple[str, ...]
    alignment: Alignment
    hypothesis_missing: bool = False  # no hypothesis for this id: scored as all deletions

    @property
    def errors(self) -> int:
        return self.alignment.substitutions + self.alignment.deletions + self.alignment.insertions

    @property
    def rate(self) -> float | None:
        return self.errors / len(self.reference) if self.reference else None

    def pairs(self) -> list[tuple[str | None, str | None]]:
        return self.alignment.pairs(self.reference, self.hypothesis)


@dataclass(frozen=True)
class ScoreResult:
    unit: str
    normaliser: str
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    reference_length: int
    utterances: tuple[UtteranceScore, ...]
    missing_in_hypothesis: tuple[str, ...] = ()  # ids scored as all deletions
    only_in_hypothesis: tuple[str, ...] = ()  # ids ignored: no reference to score them against

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float | None:
        """Errors per reference token; None when there are no reference tokens."""
        return self.errors / self.reference_length if self.reference_length else None

    @property
    def empty_reference_insertions(self) -> int:
        """Insertions in utterances with empty references, reported apart because they have no rate."""
        return sum(utterance.alignment.insertions for utterance in self.utterances if not utterance.reference)


def summarise(
    utterances: Sequence[UtteranceScore], unit: str, normaliser: str,
    missing: tuple[str, ...] = (), only_in_hypothesis: tuple[str, ...] = (),
) -> ScoreResult:
    return ScoreResult(
        unit=unit,
        normaliser=normaliser,
        hits=sum(u.alignment.hits for u in utterances),
        substitutions=sum(u.alignment.substitutions for u in utterances),
        deletions=sum(u.alignment.deletions for u in utterances),
        insertions=sum(u.alignment.insertions for u in utterances),
        reference_length=sum(len(u.reference) for u in utterances),
        utterances=tuple(utterances),
        missing_in_hypothesis=missing,
        only_in_hypothesis=only_in_hypothesis,
    )


def score(
    references: Mapping[str, Transcript],
    hypotheses: Mapping[str, Transcript],
    unit: Unit = "word",
    normaliser: Normaliser | str | None = None,
    extra_hypotheses: Literal["ignore", "error"] = "ignore",
) -> ScoreResult:
    """Score hypotheses against references by id, sclite-compatible.

    An id without a hypothesis is scored as an empty hypothesis (all deletions) and listed in
    `missing_in_hypothesis`; an id only in the hypotheses is listed in `only_in_hypothesis` and ignored,
    or raises EvaluationError with `extra_hypotheses="error"`. Without a normaliser, words and characters
    get the `default` preset and phones the `phones` preset (case and IPA marks are meaningful).
    """
    if normaliser is None:
        normaliser = "phones" if unit == "phone" else "default"
    if isinstance(normaliser, str):
        normaliser = normaliser_from_spec(normaliser)
    only_in_hypothesis = tuple(key for key in hypotheses if key not in references)
    if only_in_hypothesis and extra_hypotheses == "error":
        shown = ", ".join(only_in_hypothesis[:10]) + (" ..." if len(only_in_hypothesis) > 10 else "")
        raise EvaluationError(
            f"{len(only_in_hypothesis)} hypothesis id(s) have no reference: {shown}. "
            "Check that both files use the same ids, or ignore extra hypotheses."
        )
    ids = list(references)
    missing = tuple(key for key in ids if key not in hypotheses)
    ref_tokens = [tokenise(references[key], unit, normaliser) for key in ids]
    hyp_tokens = [tokenise(hypotheses.get(key, ""), unit, normaliser) for key in ids]
    missing_set = set(missing)
    utterances = [
        UtteranceScore(key, ref, hyp, alignment, key in missing_set)
        for key, ref, hyp, alignment in zip(ids, ref_tokens, hyp_tokens, align_batch(ref_tokens, hyp_tokens))
    ]
    return summarise(utterances, unit, normaliser.name, missing, only_in_hypothesis)


def score_pairs(
    references: Sequence[Transcript], hypotheses: Sequence[Transcript], unit: Unit = "word",
    normaliser: Normaliser | str | None = None,
) -> ScoreResult:
    """`score` for references and hypotheses paired by position (tuning, rescoring, training validation)."""
    if len(references) != len(hypotheses):
        raise EvaluationError(f"{len(references)} references but {len(hypotheses)} hypotheses; give one hypothesis per reference.")
    return score({str(index): reference for index, reference in enumerate(references)},
                 {str(index): hypothesis for index, hypothesis in enumerate(hypotheses)}, unit=unit, normaliser=normaliser)
