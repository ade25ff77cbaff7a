"""The synthetic corpus: real espeak-ng speech, 16 kHz manifests that agree with the audio, distinct and reproducible speakers."""
from __future__ import annotations

import hashlib
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile

from fieldasr.data import Corpus
from fieldasr_examples.corpora import build_long_recording, build_synthetic_corpus, udhr_utterances
from fieldasr_examples.corpora.phones import no_phonemizer

LANGUAGES = ("nld", "swh", "fin")


def phonemize_only_dutch(texts, language_code):
    """Stands in for fieldasr.g2p: one "phone" per word, and no spec for the other languages."""
    return [tuple(text.split()) for text in texts] if language_code == "nld" else None


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    result = build_synthetic_corpus(
        LANGUAGES, folder, utterances_per_language=4, speakers_per_language=2, seed=7, phonemizer=phonemize_only_dutch
    )
    return result, Corpus.load(folder)


def test_manifests_validate_and_count_every_utterance(small_corpus):
    result, corpus = small_corpus
    corpus.validate(require_text=True)
    assert result.utterances == {code: 4 for code in LANGUAGES}
    assert len(corpus.segments) == 12
    assert {segment.language for segment in corpus.segments} == set(LANGUAGES)


def test_phones_come_from_the_phonemizer_hook_and_missing_specs_are_counted(small_corpus):
    result, corpus = small_corpus
    for segment in corpus.segments:
        assert segment.phones == (tuple(segment.text.split()) if segment.language == "nld" else None)
    assert result.segments_without_phones == {"swh": 4, "fin": 4}


def test_texts_are_udhr_utterances_of_their_language(small_corpus):
    _, corpus = small_corpus
    for segment in corpus.segments:
        assert segment.text in udhr_utterances(segment.language)


def test_audio_is_16k_mono_and_as_long_as_the_manifest_says(small_corpus):
    _, corpus = small_corpus
    for segment in corpus.segments:
        recording = corpus.recordings[segment.recording_id]
        info = soundfile.info(recording.path)
        assert (info.samplerate, info.channels) == (16000, 1)
        assert info.frames / info.samplerate == pytest.approx(segment.duration, abs=1e-3)
        # Speech, not silence: a readable utterance lasts about 50-200 ms per character.
        assert 0.04 * len(segment.text) < segment.duration < 0.25 * len(segment.text)


def _median_f0(paths: list[str]) -> float:
    estimates = []
    for path in paths:
        samples, rate = soundfile.read(path, dtype="float32")
        f0 = librosa.yin(samples, fmin=60, fmax=500, sr=rate)
        estimates.append(np.median(f0))
    return float(np.median(estimates))


def test_female_and_male_speakers_differ_in_pitch(small_corpus):
    _, corpus = small_corpus
    for language in LANGUAGES:
        by_gender: dict[str, list[str]] = {"female": [], "male": []}
        for segment in corpus.segments:
            if segment.language == language:
                by_gender[segment.custom["gender"]].append(corpus.recordings[segment.recording_id].path)
        assert by_gender["female"] and by_gender["male"]
        # espeak-ng's female variants speak about an octave above the male ones; demand 30 %.
        assert _median_f0(by_gender["female"]) > 1.3 * _median_f0(by_gender["male"]), language


def _fingerprint(folder: Path) -> list[tuple[str, str, str | None, str]]:
    corpus = Corpus.load(folder)
    return [
        (segment.id, segment.text, segment.speaker, hashlib.sha256(Path(corpus.recordings[segment.id].path).read_bytes()).hexdigest())
        for segment in corpus.segments
    ]


def test_same_seed_same_corpus_other_seed_other_corpus(tmp_path):
    options = dict(utterances_per_language=2, speakers_per_language=2, noise_snr_db=15.0, reverb=True, phonemizer=no_phonemizer, workers=1)
    build_synthetic_corpus(["ita"], tmp_path / "a", seed=3, **options)
    build_synthetic_corpus(["ita"], tmp_path / "b", seed=3, **options)
    build_synthetic_corpus(["ita"], tmp_path / "c", seed=4, **options)
    assert _fingerprint(tmp_path / "a") == _fingerprint(tmp_path / "b")
    assert _fingerprint(tmp_path / "a") != _fingerprint(tmp_path / "c")


def test_long_recording_references_point_at_speech_and_pauses_are_silent(tmp_path):
    result = build_long_recording("spa", tmp_path, utterances=4, seed=1, pause_seconds=(0.6, 1.0), phonemizer=no_phonemizer)
    result.corpus.validate(require_text=True)
    samples, rate = soundfile.read(result.wav_path, dtype="float32")
    segments = result.corpus.segments
    assert len(segments) == 4 and rate == 16000
    for previous, current in zip(segments, segments[1:]):
        gap = samples[int(previous.end * rate) + 1 : int(current.start * rate) - 1]
        assert 0.6 <= current.start - previous.end <= 1.0
        assert np.max(np.abs(gap)) == 0.0
    for segment in segments:
        speech = samples[int(segment.start * rate) : int(segment.end * rate)]
        assert np.sqrt(np.mean(speech**2)) > 0.01


def test_polyphase_resampling_agrees_with_torchaudio():
    from fieldasr.audio import resample
    from fieldasr_examples.corpora.synth import to_target_rate

    times = np.arange(22050) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 440 * times) + 0.2 * np.sin(2 * np.pi * 3000 * times)).astype(np.float32)
    ours, reference = to_target_rate(tone, 22050), resample(tone, 22050, 16000)
    assert len(ours) == len(reference) == 16000
    middle = slice(200, -200)  # the filters' edges differ
    assert np.max(np.abs(ours[middle] - reference[middle])) < 0.01
