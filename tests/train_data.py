"""Tiny spoken corpora for training tests: espeak-ng speaks, espeak-ng's IPA output gives the phones."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import require_program, speak

from fieldasr.audio import audio_info
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.text import Vocabulary

ENGLISH = [
    "the cat sat on the mat", "a big dog ran home", "she sells sea shells", "we will go to the park",
    "this is a red pen", "my hat is blue", "ten men came in", "put it in the box",
]
GERMAN = ["guten morgen mein freund", "das haus ist alt", "ich trinke kaltes wasser", "wir gehen nach hause"]


def espeak_phones(text: str, voice: str) -> tuple[str, ...]:
    require_program("espeak-ng")
    ipa = subprocess.run(["espeak-ng", "-v", voice, "-q", "--ipa", "--sep= ", text], check=True, capture_output=True, text=True).stdout
    words = [word.replace("ˈ", "").replace("ˌ", "").split() for word in ipa.replace("\n", "  ").split("  ")]
    phones: list[str] = []
    for word in (w for w in words if w):
        phones.extend((["|"] if phones else []) + word)
    return tuple(phones)


def spoken_corpus(folder: Path, sentences: dict[str, list[str]]) -> Corpus:
    """One recording and one segment (with phones) per sentence; `sentences` maps espeak voice → texts."""
    folder.mkdir(parents=True, exist_ok=True)
    recordings, segments = {}, []
    for voice, texts in sentences.items():
        for number, text in enumerate(texts):
            name = f"{voice}{number}"
            wav = speak(text, folder / f"{name}.wav", voice=voice)
            info = audio_info(wav)
            recordings[name] = Recording(id=name, path=str(wav), sampling_rate=info.sampling_rate, num_samples=info.num_samples)
            segments.append(Segment(id=f"{name}-0", recording_id=name, start=0.0, duration=info.duration, text=text,
                                    language=voice, phones=espeak_phones(text, voice)))
    return Corpus(recordings=recordings, segments=tuple(segments))


def phone_vocabulary(corpus: Corpus) -> Vocabulary:
    return Vocabulary.build(segment.phones for segment in corpus.segments)


@pytest.fixture(scope="session")
def english_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return spoken_corpus(tmp_path_factory.mktemp("english"), {"en": ENGLISH})


@pytest.fixture(scope="session")
def bilingual_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return spoken_corpus(tmp_path_factory.mktemp("bilingual"), {"en": ENGLISH[:4], "de": GERMAN})
