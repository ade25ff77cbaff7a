"""One long synthetic recording (minutes) of one speaker, with its reference annotations.

Utterances of one language are joined with pauses of seeded random length; noise and reverb, when
asked, cover the whole recording (pauses too), as a field recording's room and hiss would. The
segments of the returned corpus are the reference: one per utterance, with its exact start and end.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fieldasr.audio import TARGET_SAMPLING_RATE, write_audio
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.phones import Phonemizer, g2p_phonemizer
from fieldasr_examples.corpora.synth import (
    Augmentation,
    LongRecording,
    language_key,
    spawn_pool,
    render_in_memory,
    augment,
    make_speakers,
    plan_language,
)
from fieldasr.data import Corpus, Recording, Segment


def build_long_recording(
    language_code: str,
    out_dir: str | Path,
    *,
    utterances: int = 30,
    seed: int = 0,
    speaker_index: int = 0,
    pause_seconds: tuple[float, float] = (0.5, 2.0),
    noise_snr_db: float | None = None,
    reverb: bool = False,
    max_characters: int = 200,
    phonemizer: Phonemizer = g2p_phonemizer,
    cache: Path | None = None,
) -> LongRecording:
    """Write `out_dir/<language>-long.wav` and its manifests (`out_dir/recordings.jsonl.gz`, `segments.jsonl.gz`)."""
    if utterances < 1 or not 0 <= pause_seconds[0] <= pause_seconds[1]:
        raise CorpusSourceError("a long recording needs at least one utterance and pause_seconds = (shortest, longest) >= 0.")
    out_dir = Path(out_dir).resolve()
    speaker = make_speakers(language_code, speaker_index + 1, seed)[speaker_index]
    plans = plan_language(language_code, utterances, [speaker], seed, max_characters, cache)
    with spawn_pool(1) as pool:
        pieces = pool.submit(render_in_memory, plans, Augmentation()).result()
    rng = np.random.default_rng([seed, language_key(language_code), 4])
    pauses = rng.uniform(*pause_seconds, size=len(pieces) + 1)
    audio, starts = _join(pieces, pauses)
    audio = augment(audio, Augmentation(noise_snr_db=noise_snr_db, reverb=reverb), rng)

    recording_id = f"{language_code}-long"
    wav_path = out_dir / f"{recording_id}.wav"
    out_dir.mkdir(parents=True, exist_ok=True)
    temporary = wav_path.with_suffix(".tmp.wav")
    write_audio(temporary, audio)
    temporary.replace(wav_path)
    recording = Recording(id=recording_id, path=str(wav_path), sampling_rate=TARGET_SAMPLING_RATE, num_samples=len(audio))
    phones = phonemizer([plan.text for plan in plans], language_code)
    segments = tuple(
        Segment(
            id=f"{recording_id}-{index:04d}",
            recording_id=recording_id,
            start=round(start / TARGET_SAMPLING_RATE, 4),
            duration=round(len(piece) / TARGET_SAMPLING_RATE, 4),
            text=plan.text,
            speaker=speaker.id,
            language=language_code,
            phones=None if phones is None else phones[index],
        )
        for index, (plan, piece, start) in enumerate(zip(plans, pieces, starts))
    )
    corpus = Corpus(recordings={recording_id: recording}, segments=segments)
    corpus.validate(require_text=True)
    corpus.save(out_dir)
    return LongRecording(corpus_dir=out_dir, wav_path=wav_path, corpus=corpus, speaker=speaker)


def _join(pieces: list[np.ndarray], pauses: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Pause, utterance, pause, ..., utterance, pause; returns the audio and each utterance's first sample."""
    silences = [np.zeros(int(round(pause * TARGET_SAMPLING_RATE)), dtype=np.float32) for pause in pauses]
    parts, starts, position = [silences[0]], [], len(silences[0])
    for piece, silence in zip(pieces, silences[1:]):
        starts.append(position)
        parts.extend([piece, silence])
        position += len(piece) + len(silence)
    return np.concatenate(parts), starts
