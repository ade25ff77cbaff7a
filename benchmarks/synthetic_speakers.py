"""Shared by benchmarks/confidence.py and benchmarks/correction_loop.py: synthetic speech and a briefly trained model.

Māori UDHR sentences spoken by espeak-ng (`fieldasr_examples.corpora.synth`, phones from the `mi` G2P spec), four
synthetic speakers: a small phone Conformer is trained on two of them ("known speakers") and used on the other two
("new speakers"), where it makes errors worth correcting. Everything is cached in a work folder, so the two
benchmarks share one training run. Synthetic speech, not real: the numbers show the mechanism, not field accuracy.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from fieldasr.bundle import export_bundle
from fieldasr.data import Corpus
from fieldasr.g2p import load_spec
from fieldasr.models import ConformerCTC
from fieldasr.models.conformer import TINY_CONFORMER
from fieldasr.text import Vocabulary
from fieldasr.train import Trainer, TrainerOptions
from fieldasr.train.batching import duration_batch_sampler
from fieldasr.train.pipeline import SpeechDataset, collate_ctc, filter_ctc_feasible, prepare_ctc_examples
from fieldasr.train.tasks import CTCTask
from fieldasr_examples.corpora.synth import build_synthetic_corpus

LANGUAGE, SPEC = "mri", "mi"


@dataclass(frozen=True)
class SyntheticSetup:
    bundle: Path
    known: Path  # manifest folder: the speakers the model was trained on (its training data, for replay)
    new: Corpus  # the other speakers' utterances
    training_steps: int


def split_by_speaker(corpus: Corpus, folder: Path) -> tuple[Path, Corpus]:
    speakers = sorted({segment.speaker or "" for segment in corpus.segments})
    known = tuple(segment for segment in corpus.segments if segment.speaker in speakers[:2])
    new = tuple(segment for segment in corpus.segments if segment.speaker not in speakers[:2])
    Corpus({s.recording_id: corpus.recordings[s.recording_id] for s in known}, known).save(folder / "known")
    return folder / "known", Corpus({s.recording_id: corpus.recordings[s.recording_id] for s in new}, new)


def synthetic_setup(work: Path, utterances: int = 80, steps: int = 150, seed: int = 0) -> SyntheticSetup:
    """Build (or reuse) the corpus and the model trained on the known speakers."""
    corpus_dir = work / "corpus"
    if not (corpus_dir / "segments.jsonl.gz").is_file():
        build_synthetic_corpus([LANGUAGE], corpus_dir, utterances_per_language=utterances, speakers_per_language=4, seed=seed,
                               max_characters=80)
    known_dir, new = split_by_speaker(Corpus.load(corpus_dir), work)
    bundle = work / "bundle"
    if not (bundle / "bundle.json").is_file():
        train_bundle(Corpus.load(known_dir), bundle, work / "exp", steps, seed)
    return SyntheticSetup(bundle, known_dir, new, steps)


def train_bundle(known: Corpus, bundle: Path, experiment: Path, steps: int, seed: int) -> None:
    vocabulary = Vocabulary.build(segment.phones for segment in known.segments)
    torch.manual_seed(seed)
    model = ConformerCTC(dataclasses.replace(TINY_CONFORMER, hidden_size=96, ffn_size=192), len(vocabulary))
    examples, _ = filter_ctc_feasible(prepare_ctc_examples(known, vocabulary), model.frame_lengths)
    dataset = SpeechDataset(examples, seed=seed)
    options = TrainerOptions(experiment_dir=experiment, lr=2e-3, max_steps=steps, max_epochs=1_000_000, progress_bar=False,
                             checkpoint_interval_steps=50, seed=seed)
    sampler = duration_batch_sampler(dataset.durations, max_batch_duration=40.0, seed=seed)
    Trainer(CTCTask(model, vocabulary), options, dataset, collate_ctc, batch_sampler=sampler).fit()
    export_bundle(bundle, model, vocabulary, label_unit="phones", language=LANGUAGE, g2p_spec=load_spec(SPEC).path)
