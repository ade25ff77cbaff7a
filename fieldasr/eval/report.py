"""`evaluate`: score one or more systems against a reference and gather every figure of the report."""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from fieldasr.eval.analysis import ErrorAnalysis, GroupScore, analyse_errors, group_scores
from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.inputs import Transcripts, read_transcripts
from fieldasr.eval.metrics import UNITS, ScoreResult, Transcript, phones_from_ipa, score
from fieldasr.eval.normalise import Normaliser, normaliser_from_spec
from fieldasr.eval.stats import Interval, PairedTest, paired_bootstrap, result_interval
from fieldasr.eval.training_log import TrainingLog, read_training_log

BREAKDOWNS = ("speaker", "language", "recording")


@dataclass(frozen=True)
class UnitReport:
    unit: str
    result: ScoreResult
    interval: Interval | None
    breakdowns: Mapping[str, tuple[GroupScore, ...]]  # only dimensions the reference has values for
    analysis: ErrorAnalysis


@dataclass(frozen=True)
class SystemReport:
    name: str
    source: str
    units: Mapping[str, UnitReport]


@dataclass(frozen=True)
class EvaluationReport:
    reference: str
    normalisers: Mapping[str, str]  # unit -> normaliser applied to both sides
    systems: tuple[SystemReport, ...]
    comparisons: tuple[PairedTest, ...]
    training_log: TrainingLog | None = None
    warnings: tuple[str, ...] = ()


def _unit_inputs(transcripts: Transcripts, unit: str, ipa_unsegmented: bool) -> dict[str, Transcript]:
    if unit != "phone":
        return transcripts.texts()
    phones = transcripts.phones()
    if ipa_unsegmented:
        return {key: phones_from_ipa(value) if isinstance(value, str) else value for key, value in phones.items()}
    return phones


def _listing(ids: Sequence[str], shown: int = 20) -> str:
    """The first ids in full; every id is in the JSON report."""
    return ", ".join(ids[:shown]) + (f" ... ({len(ids) - shown} more in report.json)" if len(ids) > shown else "")


def _system_names(paths: Sequence[Path]) -> list[str]:
    stems = [path.name.split(".")[0] or path.name for path in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{index + 1}:{stem}" for index, stem in enumerate(stems)]


def normalisation_warnings(references: Mapping[str, str], hypotheses: Mapping[str, str], normaliser_name: str) -> list[str]:
    """Flag references and hypotheses that look normalised differently while the normaliser keeps case."""
    if "lowercase" in normaliser_name:
        return []
    ref_text = " ".join(references.values())
    hyp_text = " ".join(hypotheses.values())
    ref_upper, hyp_upper = ref_text != ref_text.lower(), hyp_text != hyp_text.lower()
    if ref_upper != hyp_upper:
        cased = "references" if ref_upper else "hypotheses"
        return [f"only the {cased} contain upper-case letters: the two sides look normalised differently; "
                "consider `--normalise default` (lower-cases both)."]
    return []


def _unit_report(result: ScoreResult, reference: Transcripts, resamples: int, seed: int) -> UnitReport:
    breakdowns = {}
    for dimension in BREAKDOWNS:
        groups = {key: getattr(u, dimension) for key, u in reference.utterances.items()}
        if any(groups.values()):
            breakdowns[dimension] = group_scores(result, groups, dimension, resamples, seed)
    return UnitReport(result.unit, result, result_interval(result, resamples, seed=seed), breakdowns, analyse_errors(result))


def _check_ids_overlap(reference: Transcripts, hypothesis: Transcripts) -> None:
    """A hypothesis file sharing no utterance id with the reference is a mix-up, not a WER of 100 %."""
    if reference.utterances and not set(reference.utterances) & set(hypothesis.utterances):
        raise EvaluationError(
            f"{hypothesis.source}: none of its {len(hypothesis.utterances)} utterance id(s) occurs in the reference "
            f"{reference.source} (hypothesis ids e.g. {_listing(list(hypothesis.utterances), 3)}; reference ids e.g. "
            f"{_listing(list(reference.utterances), 3)}). Decode the reference's own segments: "
            "`fieldasr decode BUNDLE REFERENCE_MANIFEST --out HYP`."
        )


def evaluate(
    reference: str | Path,
    hypotheses: Sequence[str | Path],
    units: Sequence[str] = ("word", "char"),
    normaliser: Normaliser | str = "default",
    phone_normaliser: str = "phones",
    tiers: tuple[str, ...] = (),
    extra_hypotheses: Literal["ignore", "error"] = "ignore",
    resamples: int = 1000,
    seed: int = 0,
    training_log: str | Path | None = None,
    ipa_unsegmented: bool = False,
) -> EvaluationReport:
    """Score every hypothesis file against the reference in every unit; compare systems pairwise.

    Phones come from `Segment.phones` in manifests; elsewhere (and for segments without phones) the text
    is read as space-separated phones, or segmented as IPA with `ipa_unsegmented`. Breakdowns use the
    reference's speaker, language and recording fields, where it has them.
    """
    if not hypotheses:
        raise EvaluationError("no hypothesis file given; pass at least one --hyp.")
    unknown = [unit for unit in units if unit not in UNITS]
    if unknown:
        raise EvaluationError(f"unknown unit(s) {', '.join(unknown)}; choose from {', '.join(UNITS)}.")
    reference_transcripts = read_transcripts(reference, tiers)
    text_normaliser = normaliser if isinstance(normaliser, Normaliser) else normaliser_from_spec(normaliser)
    normalisers = {unit: normaliser_from_spec(phone_normaliser) if unit == "phone" else text_normaliser for unit in units}
    paths = [Path(path) for path in hypotheses]
    systems, warnings = [], []
    # tqdm hides itself when stderr is not a terminal.
    progress = tqdm(total=len(paths) * len(units), desc="scoring", unit="score", disable=None)
    for name, path in zip(_system_names(paths), paths):
        hypothesis = read_transcripts(path, tiers)
        _check_ids_overlap(reference_transcripts, hypothesis)
        # Case matters only for the units scored on the text (phones come from `phones` or their own normaliser).
        for unit in (u for u in units if u != "phone"):
            warnings += [f"{name} ({unit}): {w}" for w in normalisation_warnings(reference_transcripts.texts(), hypothesis.texts(), normalisers[unit].name)]
        unit_reports = {}
        for unit in units:
            result = score(
                _unit_inputs(reference_transcripts, unit, ipa_unsegmented), _unit_inputs(hypothesis, unit, ipa_unsegmented),
                unit=unit, normaliser=normalisers[unit], extra_hypotheses=extra_hypotheses,  # type: ignore[arg-type]
            )
            unit_reports[unit] = _unit_report(result, reference_transcripts, resamples, seed)
            progress.update()
        first = unit_reports[units[0]].result
        if first.missing_in_hypothesis:
            warnings.append(f"{name}: {len(first.missing_in_hypothesis)} reference id(s) have no hypothesis, scored as all "
                            f"deletions: {_listing(first.missing_in_hypothesis)}")
        if first.only_in_hypothesis:
            warnings.append(f"{name}: {len(first.only_in_hypothesis)} hypothesis id(s) have no reference, ignored: "
                            f"{_listing(first.only_in_hypothesis)}")
        systems.append(SystemReport(name, str(path), unit_reports))
    progress.close()
    comparisons = []
    for system_a, system_b in itertools.combinations(systems, 2):
        for unit in units:
            test = paired_bootstrap(
                system_a.units[unit].result, system_b.units[unit].result, (system_a.name, system_b.name), resamples, seed=seed
            )
            if test is not None:
                comparisons.append(test)
    log = read_training_log(training_log) if training_log else None
    return EvaluationReport(
        str(reference), {unit: n.name for unit, n in normalisers.items()}, tuple(systems), tuple(comparisons), log, tuple(warnings)
    )
