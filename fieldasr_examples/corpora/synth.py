"""A multilingual synthetic speech corpus: UDHR text spoken by espeak-ng voices, as 16 kHz wav + manifests.

Each language is rendered by one worker process holding one libespeak-ng instance (see
`espeak_library`), so hundreds of utterances take seconds. Speakers are espeak-ng voice variants
(`nl+f3`, `nl+m2`, ...) with their own pitch, pitch range and speed; optional white noise at a given
SNR and a synthetic room reverb make the audio less clean. Everything random comes from
`numpy.random.default_rng` seeded with (seed, language, item), so a corpus is reproducible and
does not depend on which other languages were built with it.

`build_long_recording` joins utterances of one language with pauses into one long wav, with the
reference segments (start, end, text) of every utterance: material for transcribing into ELAN.
"""
from __future__ import annotations

import math
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import scipy.signal
from tqdm import tqdm

from fieldasr.audio import TARGET_SAMPLING_RATE, write_audio
from fieldasr.data import Corpus, Recording, Segment
from fieldasr_examples.corpora.augment import add_noise, add_reverb
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.phones import Phonemizer, g2p_phonemizer
from fieldasr_examples.corpora.text_sources import language, udhr_utterances

FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
PITCH_RANGE = (30, 70)  # espeak-ng base pitch, 0-100 around the variant's own
SPEED_RANGE = (140, 195)  # words per minute; espeak-ng's default is 175
INTONATION_RANGE = (35, 75)  # espeak-ng pitch range (0 = monotone, 50 = normal)


@dataclass(frozen=True)
class SpeakerVoice:
    id: str
    language: str
    espeak_voice: str  # voice+variant, e.g. "nl+f3"
    gender: str
    pitch: int
    rate: int
    pitch_range: int


@dataclass(frozen=True)
class Augmentation:
    noise_snr_db: float | None = None
    reverb: bool = False
    reverberation_time: float = 0.3


@dataclass(frozen=True)
class PlannedUtterance:
    id: str
    language: str
    text: str
    speaker: SpeakerVoice
    seed: tuple[int, ...]


@dataclass(frozen=True)
class SynthesisResult:
    corpus_dir: Path
    utterances: Mapping[str, int]  # per language
    audio_seconds: Mapping[str, float]  # per language
    speakers: tuple[SpeakerVoice, ...]
    segments_without_phones: Mapping[str, int]  # per language: no G2P spec, phones left empty
    elapsed_seconds: float

    @property
    def total_utterances(self) -> int:
        return sum(self.utterances.values())


@dataclass(frozen=True)
class LongRecording:
    corpus_dir: Path
    wav_path: Path
    corpus: Corpus  # one recording; its segments are the reference annotations (start, duration, text)
    speaker: SpeakerVoice = field(repr=False)


def language_key(code: str) -> int:
    return zlib.crc32(code.encode("utf-8"))


def make_speakers(language_code: str, count: int, seed: int) -> tuple[SpeakerVoice, ...]:
    """`count` distinct voices, alternating female and male variants, each with its own pitch and speed."""
    entry = language(language_code)
    rng = np.random.default_rng([seed, language_key(language_code), 1])
    pools = {"female": list(rng.permutation(FEMALE_VARIANTS)), "male": list(rng.permutation(MALE_VARIANTS))}
    speakers = []
    for index in range(count):
        gender = "female" if index % 2 == 0 else "male"
        pool = pools[gender]
        variant = pool[(index // 2) % len(pool)]
        speakers.append(
            SpeakerVoice(
                id=f"{language_code}-{index:02d}-{variant}",
                language=language_code,
                espeak_voice=f"{entry.espeak_voice}+{variant}",
                gender=gender,
                pitch=int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                rate=int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1)),
                pitch_range=int(rng.integers(INTONATION_RANGE[0], INTONATION_RANGE[1] + 1)),
            )
        )
    return tuple(speakers)


def plan_language(
    language_code: str, count: int, speakers: Sequence[SpeakerVoice], seed: int, max_characters: int, cache: Path | None
) -> list[PlannedUtterance]:
    """`count` utterances: UDHR texts in a seeded order, cycling when more are asked than the text has;
    a repeated text goes to a different speaker."""
    texts = udhr_utterances(language_code, max_characters=max_characters, cache=cache)
    order = np.random.default_rng([seed, language_key(language_code), 2]).permutation(len(texts))
    plans = []
    for index in range(count):
        cycle, position = divmod(index, len(texts))
        speaker = speakers[(index + cycle) % len(speakers)]
        plans.append(
            PlannedUtterance(
                id=f"{language_code}-{index:05d}",
                language=language_code,
                text=texts[int(order[position])],
                speaker=speaker,
                seed=(seed, language_key(language_code), 3, index),
            )
        )
    return plans


def _render(plan: PlannedUtterance, synthesizer, augmentation: Augmentation) -> np.ndarray:
    """16 kHz float32 audio of one planned utterance."""
    speaker = plan.speaker
    synthesizer.set_voice(speaker.espeak_voice, pitch=speaker.pitch, rate=speaker.rate, pitch_range=speaker.pitch_range)
    samples = synthesizer.synthesize(plan.text).astype(np.float32) / 32768.0
    samples = to_target_rate(samples, synthesizer.sample_rate)
    return augment(samples, augmentation, np.random.default_rng(list(plan.seed)))


def to_target_rate(samples: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Polyphase resampling to 16 kHz (22050 -> 16000 is 320/441): twice as fast as torchaudio's sinc
    resampler here and it spares each worker process the torch import."""
    divisor = math.gcd(sampling_rate, TARGET_SAMPLING_RATE)
    resampled = scipy.signal.resample_poly(samples, TARGET_SAMPLING_RATE // divisor, sampling_rate // divisor)
    return resampled.astype(np.float32)


def augment(samples: np.ndarray, augmentation: Augmentation, rng: np.random.Generator) -> np.ndarray:
    if augmentation.reverb:
        samples = add_reverb(samples, TARGET_SAMPLING_RATE, rng, augmentation.reverberation_time)
    if augmentation.noise_snr_db is not None:
        samples = add_noise(samples, augmentation.noise_snr_db, rng)
    # Keep clear of 16-bit clipping after noise/reverb.
    peak = float(np.max(np.abs(samples)))
    return samples * (0.95 / peak) if peak > 0.95 else samples


def _worker_synthesizer():
    """One libespeak-ng per worker process (imported there, never in the parent)."""
    from fieldasr_examples.corpora.espeak_library import EspeakSynthesizer

    return EspeakSynthesizer()


def _write_language(plans: list[PlannedUtterance], audio_folder: str, augmentation: Augmentation) -> list[tuple[str, str, int]]:
    """Worker: synthesise and write every planned utterance of one language; returns (id, path, samples)."""
    synthesizer = _worker_synthesizer()
    written = []
    for plan in plans:
        samples = _render(plan, synthesizer, augmentation)
        path = Path(audio_folder) / f"{plan.id}.wav"
        write_audio(path, samples)
        written.append((plan.id, str(path), len(samples)))
    return written


def render_in_memory(plans: list[PlannedUtterance], augmentation: Augmentation) -> list[np.ndarray]:
    synthesizer = _worker_synthesizer()
    return [_render(plan, synthesizer, augmentation) for plan in plans]


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    # "spawn": a fresh interpreter per worker, so libespeak-ng's global state is never shared or forked.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def build_synthetic_corpus(
    languages: Sequence[str],
    out_dir: str | Path,
    *,
    utterances_per_language: int,
    speakers_per_language: int,
    seed: int = 0,
    noise_snr_db: float | None = None,
    reverb: bool = False,
    max_characters: int = 200,
    phonemizer: Phonemizer = g2p_phonemizer,
    workers: int | None = None,
    cache: Path | None = None,
) -> SynthesisResult:
    """Synthesise `utterances_per_language` UDHR utterances per language into `out_dir`.

    Writes `out_dir/audio/<language>/<id>.wav` (16 kHz mono) and `out_dir/recordings.jsonl.gz` +
    `segments.jsonl.gz` (text, language, speaker, phones when a G2P spec exists).
    """
    if utterances_per_language < 1 or speakers_per_language < 1:
        raise CorpusSourceError("utterances_per_language and speakers_per_language must be at least 1.")
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    augmentation = Augmentation(noise_snr_db=noise_snr_db, reverb=reverb)
    speakers = {code: make_speakers(code, speakers_per_language, seed) for code in languages}
    plans = {
        code: plan_language(code, utterances_per_language, speakers[code], seed, max_characters, cache) for code in languages
    }
    written = _synthesise_all(plans, out_dir / "audio", augmentation, workers)
    recordings, segments, without_phones = _manifests(plans, written, phonemizer, augmentation)
    corpus = Corpus(recordings=recordings, segments=tuple(segments))
    corpus.validate(require_text=True)
    corpus.save(out_dir)
    return SynthesisResult(
        corpus_dir=out_dir,
        utterances={code: len(plans[code]) for code in languages},
        audio_seconds={
            code: round(sum(recordings[plan.id].duration for plan in plans[code]), 3) for code in languages
        },
        speakers=tuple(speaker for code in languages for speaker in speakers[code]),
        segments_without_phones=without_phones,
        elapsed_seconds=time.perf_counter() - started,
    )


def _synthesise_all(
    plans: Mapping[str, list[PlannedUtterance]], audio_root: Path, augmentation: Augmentation, workers: int | None
) -> dict[str, tuple[str, str, int]]:
    workers = max(1, min(workers or os.cpu_count() or 1, len(plans)))
    written: dict[str, tuple[str, str, int]] = {}
    with spawn_pool(workers) as pool:
        futures = {}
        for code, language_plans in plans.items():
            folder = audio_root / code
            folder.mkdir(parents=True, exist_ok=True)
            futures[pool.submit(_write_language, language_plans, str(folder), augmentation)] = code
        for future in tqdm(as_completed(futures), total=len(futures), desc="synthesising languages", unit="language"):
            written.update((entry[0], entry) for entry in future.result())
    return written


def _manifests(
    plans: Mapping[str, list[PlannedUtterance]],
    written: Mapping[str, tuple[str, str, int]],
    phonemizer: Phonemizer,
    augmentation: Augmentation,
) -> tuple[dict[str, Recording], list[Segment], dict[str, int]]:
    recordings: dict[str, Recording] = {}
    segments: list[Segment] = []
    without_phones: dict[str, int] = {}
    for code, language_plans in plans.items():
        phones = phonemizer([plan.text for plan in language_plans], code)
        if phones is None:
            without_phones[code] = len(language_plans)
        for index, plan in enumerate(language_plans):
            _, path, num_samples = written[plan.id]
            recording = Recording(id=plan.id, path=path, sampling_rate=TARGET_SAMPLING_RATE, num_samples=num_samples)
            recordings[plan.id] = recording
            segments.append(
                Segment.spanning(
                    recording,
                    text=plan.text,
                    speaker=plan.speaker.id,
                    language=code,
                    phones=None if phones is None else phones[index],
                    custom=_provenance(plan.speaker, augmentation),
                )
            )
    return recordings, segments, without_phones


def _provenance(speaker: SpeakerVoice, augmentation: Augmentation) -> dict[str, object]:
    return {
        "source": "udhr+espeak-ng",
        "espeak_voice": speaker.espeak_voice,
        "gender": speaker.gender,
        "pitch": speaker.pitch,
        "rate": speaker.rate,
        "pitch_range": speaker.pitch_range,
        "noise_snr_db": augmentation.noise_snr_db,
        "reverb": augmentation.reverb,
    }
