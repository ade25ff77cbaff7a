"""`fieldasr tune`: the beam decoder's LM weight and word score, tuned on a development set.

The dev set is either a manifest folder decoded by a bundle's model (its lexicon and LM by default) or
emissions saved earlier with a references file. Both end in `fieldasr.decode.tune.tune_decoder`, with
the one lexicon choice the transcriber makes too (`fieldasr.decode.lexicon.decoding_lexicon`).
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fieldasr.decode.checks import DecodingError
from fieldasr.decode.lexicon import decoding_lexicon
from fieldasr.decode.tune import DEFAULT_LM_WEIGHTS, DEFAULT_WORD_SCORES, TuneResult, load_dev_set, tune_decoder
from fieldasr.files import atomic_write_text
from fieldasr.text.vocabulary import Vocabulary


@dataclass(frozen=True)
class TuningGrid:
    lm_weights: tuple[float, ...] = DEFAULT_LM_WEIGHTS
    word_scores: tuple[float, ...] = DEFAULT_WORD_SCORES
    beam_size: int = 50


@dataclass(frozen=True)
class DecoderTuning:
    """The grid's result, how many utterances it was measured on, and what was left out on the way."""

    result: TuneResult
    utterances: int
    notices: tuple[str, ...]

    def best_settings(self) -> str:
        best = self.result.best
        return (f"Best on {self.utterances} utterances: --lm-weight {best.lm_weight:g} "
                f"--word-score {best.word_score:g} (WER {best.wer:.4f}).")

    def to_dict(self) -> dict[str, Any]:
        return {"best": dataclasses.asdict(self.result.best), "grid": [dataclasses.asdict(point) for point in self.result.grid]}


def tune_bundle_decoder(bundle_dir: Path, dev: Path, lexicon: Path | None = None, lm_path: Path | None = None,
                        grid: TuningGrid = TuningGrid(), output: Path | None = None, language: str | None = None,
                        device: str = "cpu") -> DecoderTuning:
    """Decode the segments of the `dev` manifest folder that have text with the bundle's model (on `device`); tune
    on them. The lexicon and LM are the bundle's unless given; `language` picks the adapter (see `BundleAcousticModel`)."""
    from fieldasr.bundle import load_bundle
    from fieldasr.data import Corpus
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, segment_emissions

    bundle = load_bundle(bundle_dir, device=device)
    model = BundleAcousticModel(bundle, language=language)
    lm_path = lm_path or bundle.language_model
    if lm_path is None:
        raise DecodingError(f"{bundle_dir} has no LM; give one with --lm (build it with `fieldasr lm`).")
    corpus = Corpus.load(dev)
    with_text = [segment for segment in corpus.segments if (segment.text or "").strip()]
    notices = []
    if len(with_text) < len(corpus.segments):
        notices.append(f"Skipped {len(corpus.segments) - len(with_text)} dev segments without text.")
    emissions = segment_emissions(model, Corpus(corpus.recordings, tuple(with_text)))
    return _tune([emissions[segment.id] for segment in with_text], [segment.text for segment in with_text],
                 bundle.vocabulary, lexicon or bundle.lexicon, lm_path, grid, notices, output, bundle.text_normaliser())


def tune_saved_decoder(emission_paths: Sequence[Path], references: Path, vocabulary: Path, lm_path: Path,
                       lexicon: Path | None = None, grid: TuningGrid = TuningGrid(), output: Path | None = None) -> DecoderTuning:
    """Tune on emissions saved with torch.save and their `UTTERANCE_ID<TAB>text` references (paired by id)."""
    tokens = Vocabulary.load(vocabulary)
    dev_set = load_dev_set(emission_paths, references)
    notices = []
    if dev_set.without_reference or dev_set.without_emission:
        notices.append(f"Skipped {len(dev_set.without_reference)} utterances without a reference and "
                       f"{len(dev_set.without_emission)} references without emissions.")
    return _tune(dev_set.emissions, dev_set.references, tokens, lexicon, lm_path, grid, notices, output)


def _tune(emissions: Sequence[torch.Tensor], texts: Sequence[str], vocabulary: Vocabulary, lexicon: Path | None,
          lm_path: Path, grid: TuningGrid, notices: list[str], output: Path | None,
          normaliser: Callable[[str], str] | None = None) -> DecoderTuning:
    words = decoding_lexicon(vocabulary, lexicon, lm_path, normaliser)
    if words.skipped:
        word, reason = words.skipped[0]
        notices.append(f"Left {len(words.skipped)} words out of the lexicon (e.g. {word!r}: {reason}).")
    result = tune_decoder(emissions, texts, vocabulary, words, lm_path, lm_weights=grid.lm_weights,
                          word_scores=grid.word_scores, beam_size=grid.beam_size)
    tuning = DecoderTuning(result, len(texts), tuple(notices))
    if output:
        atomic_write_text(output, json.dumps(tuning.to_dict(), indent=2) + "\n", make_parents=True)
    return tuning
