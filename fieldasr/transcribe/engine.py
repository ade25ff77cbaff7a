"""Transcribing one recording: VAD → batches of speech segments → acoustic model → CTC decoding → timed words.

Memory stays bounded for recordings of hours: VAD reads the file in windows, and each batch loads only
its own segments from disk.
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch

from fieldasr.audio import TARGET_SAMPLING_RATE, audio_info, load_audio
from fieldasr.batching import cut_batches
from fieldasr.decode.align import TokenTiming, WordTiming, align_words
from fieldasr.decode.confidence import hypothesis_confidence
from fieldasr.decode.greedy import greedy_decode, words_from_tokens
from fieldasr.errors import FieldasrError
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary
from fieldasr.transcribe.spans import TimeSpan, merge_into_spans, regions_in_spans
from fieldasr.vad import SpeechRegion, VadOptions, detect_speech


class AcousticModel(Protocol):
    """What transcription needs from a model bundle."""

    vocabulary: Vocabulary
    unit: str  # "phones", "characters" or "subwords": how labels join into words

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, samples) 16 kHz audio → (batch, frames, labels) log-probabilities and valid frame counts."""
        ...


class TranscriptionError(FieldasrError):
    """Options or a model that transcription cannot work with."""


PRECISIONS = ("fp32", "bf16", "int8")


@dataclass(frozen=True)
class TranscribeOptions:
    decoder: str = "greedy"  # "greedy", or "beam" with the bundle's lexicon / LM
    batch_seconds: float = 120.0  # padded audio per forward pass: the memory knob
    word_timestamps: bool = True
    confidence: bool = False  # each segment's confidence (`fieldasr.decode.confidence`), for a confidence tier
    precision: str = "fp32"  # applied by the model (`bundle_model.BundleAcousticModel`), not here
    device: str = "cpu"
    threads: int | None = None
    vad: VadOptions = field(default_factory=VadOptions)

    def validate(self) -> None:
        if self.precision not in ("auto", *PRECISIONS):
            raise TranscriptionError(f"precision {self.precision!r} is not auto or one of {', '.join(PRECISIONS)}.")
        if self.decoder not in ("greedy", "beam"):
            raise TranscriptionError(f"decoder {self.decoder!r} is not 'greedy' or 'beam'.")
        if self.batch_seconds < self.vad.max_segment_seconds:
            raise TranscriptionError(
                f"batch_seconds ({self.batch_seconds}) must hold at least one segment of "
                f"max_segment_seconds ({self.vad.max_segment_seconds})."
            )


@dataclass(frozen=True)
class TranscribedSegment:
    start: float
    end: float
    text: str
    words: tuple[WordTiming, ...] = ()
    confidence: float | None = None  # in [0, 1] when asked for (TranscribeOptions.confidence)

    @property
    def tokens(self) -> tuple[TokenTiming, ...]:
        return tuple(token for word in self.words for token in word.tokens)


@dataclass(frozen=True)
class Transcript:
    audio: Path
    duration: float
    segments: tuple[TranscribedSegment, ...]
    note: str | None = None  # e.g. "no speech detected"


def tokens_to_words(tokens: Sequence[str], unit: str) -> tuple[str, ...]:
    """Written words from decoded labels: letters and phones split at `|`, sentencepiece pieces at `▁`."""
    if unit == "subwords":
        return tuple("".join(tokens).replace(WORD_BOUNDARY, "▁").replace("▁", " ").split())
    return words_from_tokens(tuple(tokens))


def length_batches(regions: Sequence[SpeechRegion], batch_seconds: float) -> Iterator[list[SpeechRegion]]:
    """Regions grouped longest first so that each batch's padded length stays under `batch_seconds`."""
    durations = [region.duration for region in regions]
    longest_first = sorted(range(len(regions)), key=durations.__getitem__, reverse=True)
    for batch in cut_batches(durations, longest_first, batch_seconds):
        yield [regions[index] for index in batch]


class Transcriber:
    """Runs an acoustic model with a decoder over recordings; reuse one instance for a whole folder."""

    def __init__(self, model: AcousticModel, options: TranscribeOptions = TranscribeOptions(), beam_decoder=None,
                 rescorer=None) -> None:
        """`rescorer` (e.g. `fieldasr.transfer.rescore.NbestRescorer`) picks the best of the beam's n-best list."""
        options.validate()
        if options.decoder == "beam" and beam_decoder is None:
            raise TranscriptionError("decoder 'beam' needs a lexicon or LM; this bundle has neither. Use --decoder greedy.")
        if rescorer is not None and options.decoder != "beam":
            raise TranscriptionError("n-best rescoring needs the beam decoder: add --decoder beam.")
        if options.threads:
            torch.set_num_threads(options.threads)
        if rescorer is not None:
            beam_decoder = rescorer.nbest_decoder(beam_decoder)
        self.model, self.options, self.beam_decoder, self.rescorer = model, options, beam_decoder, rescorer

    def transcribe(self, path: str | Path, on_progress: Callable[[float], None] | None = None,
                   within: Sequence[TimeSpan] | None = None) -> Transcript:
        """Transcribe one recording; `on_progress` receives seconds of audio done (VAD counts as the first half).
        With `within` (an existing segmentation), one segment per span with speech (`fieldasr.transcribe.spans`)."""
        path = Path(path)
        duration = audio_info(path).duration
        report = (lambda seconds: on_progress(seconds / 2)) if on_progress else None
        regions = detect_speech(path, self.options.vad, on_progress=report)
        owners = None if within is None else regions_in_spans(regions, within, duration, self.options.vad.max_segment_seconds)
        if owners is not None:
            regions = list(owners)
        if not regions:
            return Transcript(path, duration, (), note="no speech detected" if within is None else "no speech in the segments")
        done, decoded = 0.0, {}
        for batch in length_batches(regions, self.options.batch_seconds):
            decoded.update(zip(batch, self._transcribe_batch(path, batch)))
            done += sum(region.duration for region in batch)
            if on_progress:
                on_progress(duration / 2 + duration / 2 * done / sum(r.duration for r in regions))
        segments = list(decoded.values()) if owners is None else merge_into_spans(decoded, owners, duration)
        segments.sort(key=lambda segment: segment.start)
        return Transcript(path, duration, tuple(segments))

    def _transcribe_batch(self, path: Path, regions: Sequence[SpeechRegion]) -> list[TranscribedSegment]:
        waves = [load_audio(path, start=region.start, duration=region.duration) for region in regions]
        lengths = torch.tensor([len(wave) for wave in waves])
        padded = torch.zeros(len(waves), int(lengths.max()))
        for row, wave in enumerate(waves):
            padded[row, : len(wave)] = torch.from_numpy(wave)
        with torch.inference_mode():
            log_probs, frame_lengths = self.model.log_probs(padded.to(self.options.device), lengths.to(self.options.device))
        log_probs = log_probs.float().cpu()
        frame_lengths = frame_lengths.cpu()
        return [
            self._decode_one(log_probs[row, : int(frame_lengths[row])], region, int(lengths[row]))
            for row, region in enumerate(regions)
        ]

    def _decode_one(self, emission: torch.Tensor, region: SpeechRegion, num_samples: int) -> TranscribedSegment:
        vocabulary = self.model.vocabulary
        if self.beam_decoder is not None and self.options.decoder == "beam":
            nbest = self.beam_decoder.decode(emission.unsqueeze(0), torch.tensor([emission.shape[0]]),
                                             score_parts=self.rescorer is not None)[0]
            best = self.rescorer.best(nbest, self.beam_decoder) if self.rescorer is not None else nbest[0]
            token_ids, words = list(best.token_ids), tuple(best.words)
        else:
            best = greedy_decode(emission.unsqueeze(0), vocabulary, torch.tensor([emission.shape[0]]))[0]
            token_ids, words = list(best.token_ids), tokens_to_words(best.tokens, self.model.unit)
        end = region.start + num_samples / TARGET_SAMPLING_RATE
        timed: tuple[WordTiming, ...] = ()
        if self.options.word_timestamps and token_ids and emission.shape[0] > 0:
            frame_duration = num_samples / TARGET_SAMPLING_RATE / emission.shape[0]
            with contextlib.suppress(FieldasrError):  # too few frames to align: keep the text, skip the times
                timed = tuple(align_words(emission, token_ids, vocabulary, frame_duration, offset=region.start))
            if len(timed) == len(words):  # label runs between boundaries are the words: name them as decoded
                timed = tuple(dataclasses.replace(timing, word=word) for timing, word in zip(timed, words))
        confidence = hypothesis_confidence(emission, token_ids) if self.options.confidence else None
        return TranscribedSegment(start=region.start, end=end, text=" ".join(words), words=timed, confidence=confidence)
