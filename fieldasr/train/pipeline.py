"""Manifests → labelled examples → a torch dataset → padded CTC batches.

`prepare_ctc_examples` turns a corpus into examples with token ids (and refuses labels the vocabulary
lacks, listing them); `filter_ctc_feasible` removes utterances too short for their labels and says
which; `SpeechDataset` reads audio lazily (only the segment's slice) with optional speed perturbation;
`collate_ctc` pads a list of items into a `CTCBatch`. Character and subword labels are made from the text as the
recipe's normaliser (`data.normaliser`, `fieldasr.text.normalise`) writes it; the bundle records that normaliser so
decoding normalises lexicon words and LM text the same way. SpecAugment masking lives in the models
(`ConformerConfig.time_masks/frequency_masks`, wav2vec 2.0's `mask_time_prob`), where features exist.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torchaudio

from fieldasr.audio import TARGET_SAMPLING_RATE, load_audio
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.errors import ManifestError
from fieldasr.text.normalise import Normaliser, normaliser_from_settings
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary, VocabularyError

LABEL_UNITS = ("phones", "characters", "subwords")


@dataclass(frozen=True)
class SpeechExample:
    segment: Segment
    recording: Recording
    labels: tuple[int, ...]


def segment_tokens(segment: Segment, unit: str, subword_model: Any = None, normaliser: Normaliser | None = None) -> list[str]:
    """Label tokens of a segment: its phones, the characters of its normalised text with '|' between words, or its
    sentencepiece pieces (`subword_model`: a loaded `sentencepiece.SentencePieceProcessor`). Without a normaliser
    the text is split at white space only (the `none` preset)."""
    words = normaliser_from_settings(normaliser).words(segment.text or "")
    if unit == "phones":
        if segment.phones is None:
            raise ManifestError(
                f"segment {segment.id!r} has no phones, but this recipe trains on phones. "
                "Add them with `fieldasr g2p` (or train on characters: label_unit: characters)."
            )
        return list(segment.phones)
    if unit == "characters":
        return list(WORD_BOUNDARY.join(words))
    if unit == "subwords":
        if subword_model is None:
            raise ManifestError("label unit 'subwords' needs a sentencepiece model (data.subword_model in the recipe).")
        return list(subword_model.encode(" ".join(words), out_type=str))
    raise ManifestError(f"label unit {unit!r} is not one of {LABEL_UNITS}.")


def prepare_ctc_examples(corpus: Corpus, vocabulary: Vocabulary, unit: str = "phones", subword_model: Any = None,
                         normaliser: Normaliser | None = None) -> list[SpeechExample]:
    """One example per segment; every missing token is reported at once, with counts and example segments."""
    examples, missing, where = [], Counter(), defaultdict(list)
    for segment in corpus.segments:
        recording = corpus.recordings.get(segment.recording_id)
        if recording is None:
            raise ManifestError(f"segment {segment.id!r} refers to unknown recording {segment.recording_id!r}.")
        tokens = segment_tokens(segment, unit, subword_model, normaliser)
        unknown = [token for token in tokens if token not in vocabulary]
        for token in unknown:
            missing[token] += 1
            if len(where[token]) < 3:
                where[token].append(segment.id)
        if not unknown:
            examples.append(SpeechExample(segment, recording, tuple(vocabulary.encode(tokens))))
    if missing:
        listing = "; ".join(f"{token!r} ×{count} (e.g. {', '.join(where[token])})" for token, count in missing.most_common())
        raise VocabularyError(
            f"{sum(missing.values())} label token(s) are not in the vocabulary of {len(vocabulary)} tokens: {listing}. "
            "Rebuild the vocabulary from the training manifests, or map these symbols in the G2P spec."
        )
    return examples


@dataclass(frozen=True)
class RemovedExample:
    segment_id: str
    frames: int
    frames_needed: int


@dataclass(frozen=True)
class FilterReport:
    kept: int
    removed: tuple[RemovedExample, ...]

    def summary(self) -> str:
        if not self.removed:
            return f"CTC feasibility: all {self.kept} utterances kept."
        shown = ", ".join(f"{r.segment_id} ({r.frames} frames < {r.frames_needed} needed)" for r in self.removed[:5])
        more = f" and {len(self.removed) - 5} more" if len(self.removed) > 5 else ""
        return (f"CTC feasibility: removed {len(self.removed)} of {self.kept + len(self.removed)} utterances whose audio gives "
                f"fewer frames than their labels need: {shown}{more}. Check their segmentation or transcription.")


def ctc_frames_needed(labels: Sequence[int]) -> int:
    """A CTC path emits each label once and needs a blank between two equal neighbours."""
    repeats = sum(1 for previous, current in zip(labels, labels[1:]) if previous == current)
    return len(labels) + repeats


def filter_ctc_feasible(
    examples: Sequence[SpeechExample],
    frame_lengths: Callable[[torch.Tensor], torch.Tensor],
    speed_factors: Sequence[float] = (),
) -> tuple[list[SpeechExample], FilterReport]:
    """Drop examples whose audio, sped up by the fastest of `speed_factors` (the perturbation training will draw),
    yields fewer model frames than their labels need; empty labels too."""
    fastest_speed = max([1.0, *speed_factors])
    samples = torch.tensor([int(e.segment.duration * TARGET_SAMPLING_RATE / fastest_speed) for e in examples], dtype=torch.long)
    frames = frame_lengths(samples).tolist() if examples else []
    kept, removed = [], []
    for example, frame_count in zip(examples, frames):
        needed = max(1, ctc_frames_needed(example.labels))
        if frame_count >= needed:
            kept.append(example)
        else:
            removed.append(RemovedExample(example.segment.id, int(frame_count), needed))
    return kept, FilterReport(kept=len(kept), removed=tuple(removed))


class SpeechDataset(torch.utils.data.Dataset):
    """Audio of each example read on demand; with `speed_factors` (e.g. (0.9, 1.0, 1.1)) one is drawn per read."""

    def __init__(self, examples: Sequence[SpeechExample], speed_factors: Sequence[float] = (), seed: int = 0) -> None:
        self.examples = list(examples)
        self.speed_factors = tuple(speed_factors)
        self.random = random.Random(seed)

    def __len__(self) -> int:
        return len(self.examples)

    def reseed(self, seed: int) -> None:
        """A new seed for the speed factor draws (each DataLoader worker and DDP process gets its own)."""
        self.random = random.Random(seed)

    @property
    def durations(self) -> list[float]:
        return [example.segment.duration for example in self.examples]

    @property
    def languages(self) -> list[str]:
        return [example.segment.language or "und" for example in self.examples]

    def __getitem__(self, index: int) -> dict[str, Any]:
        example = self.examples[index]
        segment = example.segment
        samples = torch.from_numpy(load_audio(example.recording.path, segment.start, segment.duration))
        if self.speed_factors:
            factor = self.random.choice(self.speed_factors)
            if factor != 1.0:
                # Playing faster = reading the samples as if recorded at factor × the rate (pitch shifts too, as in sox `speed`).
                samples = torchaudio.functional.resample(samples, int(TARGET_SAMPLING_RATE * factor), TARGET_SAMPLING_RATE)
        return {"id": segment.id, "waveform": samples, "labels": torch.tensor(example.labels, dtype=torch.long),
                "language": segment.language or "und"}


@dataclass(frozen=True)
class CTCBatch:
    ids: tuple[str, ...]
    waveforms: torch.Tensor  # (batch, samples), zero-padded
    lengths: torch.Tensor  # samples per utterance
    labels: torch.Tensor  # (batch, longest label sequence), padded with 0 (never read: label_lengths bound it)
    label_lengths: torch.Tensor
    languages: tuple[str, ...]

    @property
    def durations(self) -> torch.Tensor:
        return self.lengths.float() / TARGET_SAMPLING_RATE

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "CTCBatch":
        def moved(tensor: torch.Tensor) -> torch.Tensor:
            return tensor.to(device, non_blocking=non_blocking)

        return CTCBatch(self.ids, moved(self.waveforms), moved(self.lengths), moved(self.labels), moved(self.label_lengths), self.languages)

    def pin_memory(self) -> "CTCBatch":
        """Called by a DataLoader with pin_memory=True (CUDA), so that copies to the GPU can overlap computation."""
        return CTCBatch(self.ids, self.waveforms.pin_memory(), self.lengths.pin_memory(), self.labels.pin_memory(),
                        self.label_lengths.pin_memory(), self.languages)


def collate_ctc(items: Sequence[dict[str, Any]]) -> CTCBatch:
    waveforms = torch.nn.utils.rnn.pad_sequence([item["waveform"] for item in items], batch_first=True)
    labels = torch.nn.utils.rnn.pad_sequence([item["labels"] for item in items], batch_first=True)
    return CTCBatch(
        ids=tuple(item["id"] for item in items),
        waveforms=waveforms,
        lengths=torch.tensor([len(item["waveform"]) for item in items]),
        labels=labels,
        label_lengths=torch.tensor([len(item["labels"]) for item in items]),
        languages=tuple(item["language"] for item in items),
    )
