"""A CTC recipe's data steps: manifests → corpus, the vocabulary of the training data, the subword model,
and datasets holding only the utterances long enough for their labels (built on `pipeline`)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from fieldasr.data import Corpus
from fieldasr.errors import ManifestError
from fieldasr.language_codes import in_languages
from fieldasr.text import Vocabulary
from fieldasr.text.normalise import Normaliser
from fieldasr.train.config import ConfigError
from fieldasr.train.pipeline import SpeechDataset, SpeechExample, filter_ctc_feasible, segment_tokens


def load_corpus(folder: str | Path, languages: Sequence[str] | None, label_unit: str) -> Corpus:
    corpus = Corpus.load(folder)
    corpus.validate(require_text=label_unit == "characters")
    # None: never given phones (an empty tuple is a segment whose text has no sounds, e.g. only punctuation)
    without_phones = [segment.id for segment in corpus.segments if label_unit == "phones" and segment.phones is None]
    if without_phones:
        raise ManifestError(
            f"{folder}: {len(without_phones)} of {len(corpus.segments)} segments have no phones (e.g. {without_phones[0]!r}), "
            "but this recipe trains on phones. Add them with `fieldasr g2p --spec LANGUAGE --word-boundaries --manifest SEGMENTS "
            "--out SEGMENTS` (SEGMENTS: the folder's segments.jsonl.gz), or train on characters (--set data.label_unit=characters)."
        )
    if languages:
        corpus = Corpus(corpus.recordings, tuple(s for s in corpus.segments if in_languages(s.language, languages)))
    return corpus


def build_vocabulary(corpus: Corpus, label_unit: str, subword_model: Any = None, normaliser: Normaliser | None = None) -> Vocabulary:
    """From the training data only, so the test set never leaks into the model."""
    return Vocabulary.build(segment_tokens(segment, label_unit, subword_model, normaliser) for segment in corpus.segments)


def load_subword_model(path: str | None) -> Any:
    if path is None:
        return None
    import sentencepiece

    if not Path(path).is_file():
        raise ConfigError(f"{path}: sentencepiece model (data.subword_model) not found.")
    return sentencepiece.SentencePieceProcessor(model_file=str(path))


def feasible_dataset(examples: list[SpeechExample], model: torch.nn.Module, speed_factors: Sequence[float], name: str, seed: int) -> SpeechDataset:
    kept, report = filter_ctc_feasible(examples, model.frame_lengths, speed_factors)
    print(f"{name}: {report.summary()}")
    if not kept:
        raise ConfigError(f"{name}: no utterance is long enough for its labels; check the segmentation (see above).")
    return SpeechDataset(kept, speed_factors, seed=seed)
