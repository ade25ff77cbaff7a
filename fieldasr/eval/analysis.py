"""Where a system fails: rates per speaker/language/recording, confusions, deleted and inserted tokens."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from fieldasr.eval.metrics import ScoreResult, UtteranceScore, summarise
from fieldasr.eval.stats import Interval, result_interval

UNKNOWN_GROUP = "(unknown)"


@dataclass(frozen=True)
class GroupScore:
    dimension: str  # speaker, language or recording
    name: str
    utterances: int
    reference_length: int
    substitutions: int
    deletions: int
    insertions: int
    rate: float | None
    interval: Interval | None


@dataclass(frozen=True)
class ErrorAnalysis:
    confusions: tuple[tuple[str, str, int], ...]  # (reference token, hypothesis token, count), most frequent first
    deleted: tuple[tuple[str, int], ...]
    inserted: tuple[tuple[str, int], ...]
    phone_confusion_counts: Mapping[tuple[str | None, str | None], int]  # every aligned pair, for heat maps


def group_scores(
    result: ScoreResult, groups: Mapping[str, str | None], dimension: str, resamples: int = 1000, seed: int = 0
) -> tuple[GroupScore, ...]:
    """One score per group (utterance id -> group name); groups sorted by name."""
    members: dict[str, list[UtteranceScore]] = defaultdict(list)
    for utterance in result.utterances:
        members[groups.get(utterance.id) or UNKNOWN_GROUP].append(utterance)
    scores = []
    for name in sorted(members):
        subset = summarise(members[name], result.unit, result.normaliser)
        scores.append(
            GroupScore(
                dimension, name, len(subset.utterances), subset.reference_length, subset.substitutions,
                subset.deletions, subset.insertions, subset.rate, result_interval(subset, resamples, seed=seed),
            )
        )
    return tuple(scores)


def analyse_errors(result: ScoreResult, top: int = 20) -> ErrorAnalysis:
    pair_counts: Counter[tuple[str | None, str | None]] = Counter()
    for utterance in result.utterances:
        pair_counts.update(utterance.pairs())
    confusions = Counter({pair: count for pair, count in pair_counts.items() if None not in pair and pair[0] != pair[1]})
    deleted = Counter({ref: count for (ref, hyp), count in pair_counts.items() if hyp is None and ref is not None})
    inserted = Counter({hyp: count for (ref, hyp), count in pair_counts.items() if ref is None and hyp is not None})
    return ErrorAnalysis(
        confusions=tuple((ref, hyp, count) for (ref, hyp), count in confusions.most_common(top)),
        deleted=tuple(deleted.most_common(top)),
        inserted=tuple(inserted.most_common(top)),
        phone_confusion_counts=dict(pair_counts),
    )


def worst_utterances(result: ScoreResult, limit: int | None = None) -> tuple[UtteranceScore, ...]:
    """Utterances sorted by number of errors (then rate), most errors first."""
    ordered = sorted(result.utterances, key=lambda u: (-u.errors, -(u.rate or 0.0), u.id))
    return tuple(ordered[:limit] if limit else ordered)
