"""Grid search of the beam decoder's LM weight and word insertion score on a development set, by WER.

The WER is the one `fieldasr evaluate` reports: `fieldasr.eval.score` (sclite's alignment) with the `default`
word normalisation, so the point chosen here is the best one by the number users see.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from fieldasr.decode.beam import BeamDecoder
from fieldasr.decode.checks import DecodingError
from fieldasr.decode.lexicon import Lexicon, LexiconInput
from fieldasr.eval.metrics import score_pairs
from fieldasr.text.vocabulary import Vocabulary

DEFAULT_LM_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
DEFAULT_WORD_SCORES = (-2.0, -1.0, 0.0, 1.0, 2.0)


@dataclass(frozen=True)
class TunePoint:
    """The dev-set word error rate and its edit counts at one (lm_weight, word_score)."""

    lm_weight: float
    word_score: float
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


@dataclass(frozen=True)
class TuneResult:
    """The best point (lowest WER; the first in grid order on a tie) and every point tried."""

    best: TunePoint
    grid: tuple[TunePoint, ...]

    def table(self) -> str:
        rows = ["lm_weight\tword_score\tWER\tsub\tdel\tins"]
        for point in self.grid:
            marker = "  <- best" if point == self.best else ""
            rows.append(
                f"{point.lm_weight:g}\t{point.word_score:g}\t{point.wer:.4f}\t"
                f"{point.substitutions}\t{point.deletions}\t{point.insertions}{marker}"
            )
        return "\n".join(rows)


    def edge_warnings(self) -> tuple[str, ...]:
        """A parameter whose best value is the largest or smallest tried: the best may lie outside the grid."""
        warnings = []
        for name, option, value, tried in (
            ("LM weight", "--lm-weights", self.best.lm_weight, [point.lm_weight for point in self.grid]),
            ("word score", "--word-scores", self.best.word_score, [point.word_score for point in self.grid]),
        ):
            wider = _wider_range(sorted(set(tried)), value, lowest=0.0 if option == "--lm-weights" else None)
            if wider is not None:
                edge = "largest" if value == max(tried) else "smallest"
                warnings.append(f"Warning: the best {name}, {value:g}, is the {edge} tried; a better one may lie beyond. "
                                f"Try a wider range, e.g. {option} {','.join(f'{v:g}' for v in wider)}")
        return tuple(warnings)


def _wider_range(tried: list[float], best: float, lowest: float | None) -> list[float] | None:
    """Values continuing the grid past `best` when it sits on an edge (None when it does not, or cannot go further)."""
    if len(tried) < 2 or tried[0] < best < tried[-1]:
        return None
    if best == tried[-1]:
        step = tried[-1] - tried[-2]
        return [*tried[-2:], best + step, best + 2 * step]
    if lowest is not None and best <= lowest:
        return None  # e.g. an LM weight of 0: the LM does not help, and a negative weight means nothing
    step = tried[1] - tried[0]
    below = [value for value in (best - 2 * step, best - step) if lowest is None or value >= lowest]
    return [*below, *tried[:2]]


@dataclass(frozen=True)
class DevSet:
    """Utterances with both emissions and a reference, in a fixed order, and the ids that lacked one."""

    ids: tuple[str, ...]
    emissions: tuple[torch.Tensor, ...]
    references: tuple[str, ...]
    without_reference: tuple[str, ...]
    without_emission: tuple[str, ...]


def load_dev_set(emission_paths: Sequence[str | Path], references_path: str | Path) -> DevSet:
    """Read emissions saved with `torch.save({utterance_id: (frames, labels) log-probs})` and a references
    file of `utterance_id<TAB>text` lines; pair them by id."""
    emissions: dict[str, torch.Tensor] = {}
    for path in map(Path, emission_paths):
        if not path.is_file():
            raise DecodingError(f"{path}: emissions file not found.")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(loaded, dict) or not all(
            isinstance(value, torch.Tensor) and value.dim() == 2 for value in loaded.values()
        ):
            raise DecodingError(
                f"{path}: expected a dict of utterance id -> (frames, labels) tensor, saved with torch.save."
            )
        emissions.update(loaded)
    references = _read_references(Path(references_path))
    ids = tuple(utterance for utterance in emissions if utterance in references)
    return DevSet(
        ids=ids,
        emissions=tuple(emissions[utterance] for utterance in ids),
        references=tuple(references[utterance] for utterance in ids),
        without_reference=tuple(utterance for utterance in emissions if utterance not in references),
        without_emission=tuple(utterance for utterance in references if utterance not in emissions),
    )


def _read_references(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise DecodingError(f"{path}: references file not found (each line: UTTERANCE_ID<TAB>text).")
    references = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        utterance, separator, text = line.partition("\t")
        if not separator:
            raise DecodingError(f"{path}:{number}: no tab after the utterance id; write UTTERANCE_ID<TAB>text.")
        references[utterance] = " ".join(text.split())
    return references


def pad_emissions(emissions: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (frames, labels) emissions of different lengths into (batch, max_frames, labels) and lengths."""
    lengths = torch.tensor([emission.shape[0] for emission in emissions], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence([emission.float() for emission in emissions], batch_first=True)
    return padded, lengths


def tune_decoder(
    emissions: Sequence[torch.Tensor],
    references: Sequence[str],
    vocabulary: Vocabulary,
    lexicon: LexiconInput | Lexicon | None,
    lm_path: str | Path,
    lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
    word_scores: Sequence[float] = DEFAULT_WORD_SCORES,
    beam_size: int = 50,
    batch_size: int = 16,
    show_progress: bool = True,
) -> TuneResult:
    """Decode the dev set at every (lm_weight, word_score) and report the WER of each, lowest first found."""
    if len(emissions) != len(references):
        raise DecodingError(f"{len(emissions)} emissions but {len(references)} references; give one per utterance.")
    if not emissions:
        raise DecodingError("the development set is empty; give at least one utterance to tune on.")
    if not lm_weights or not word_scores:
        raise DecodingError("give at least one LM weight and one word score to try.")
    base = BeamDecoder(vocabulary, lexicon=lexicon, lm_path=lm_path, beam_size=beam_size)
    grid = [(weight, score) for weight in lm_weights for score in word_scores]
    points = []
    for lm_weight, word_score in tqdm(grid, desc="tuning decoder", unit="setting", disable=not show_progress):
        decoder = base.with_weights(lm_weight, word_score)
        hypotheses = []
        for start in range(0, len(emissions), batch_size):
            padded, lengths = pad_emissions(emissions[start : start + batch_size])
            hypotheses += [nbest[0].text if nbest else "" for nbest in decoder.decode(padded, lengths)]
        points.append(_score(lm_weight, word_score, references, hypotheses))
    best = min(points, key=lambda point: point.wer)
    return TuneResult(best=best, grid=tuple(points))


def _score(lm_weight: float, word_score: float, references: Sequence[str], hypotheses: list[str]) -> TunePoint:
    result = score_pairs(references, hypotheses, unit="word")
    if result.rate is None:
        raise DecodingError("the development references have no words after normalisation; give a dev set with text.")
    return TunePoint(
        lm_weight=float(lm_weight),
        word_score=float(word_score),
        wer=result.rate,
        substitutions=result.substitutions,
        deletions=result.deletions,
        insertions=result.insertions,
        reference_words=result.reference_length,
    )
