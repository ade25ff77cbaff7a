"""The dev set a recipe holds out itself: speaker-disjoint with enough speakers, else recording-disjoint, else the end."""
from __future__ import annotations

import pytest

from fieldasr.data import Corpus, Recording, Segment
from fieldasr.data.dev_split import choose_dev_split
from fieldasr.errors import FieldasrError


def corpus_of(layout: dict[str, list[str]], seconds: float = 2.0) -> Corpus:
    """`layout`: recording id → the speaker of each of its utterances (consecutive, `seconds` long)."""
    recordings, segments = {}, []
    for recording_id, speakers in layout.items():
        recordings[recording_id] = Recording(recording_id, f"/{recording_id}.wav", 16000, int(16000 * seconds * len(speakers)))
        for number, speaker in enumerate(speakers):
            segments.append(Segment(f"{recording_id}-{number}", recording_id, number * seconds, seconds, text="a", speaker=speaker))
    return Corpus(recordings, tuple(segments))


def minutes(corpus: Corpus) -> float:
    return sum(s.duration for s in corpus.segments) / 60


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_enough_speakers_give_a_speaker_disjoint_dev_set(seed):
    corpus = corpus_of({f"r{n}": [f"s{n % 6}", f"s{(n + 1) % 6}"] for n in range(30)})
    split = choose_dev_split(corpus, 0.1, seed)
    assert split.grouping == "speaker"
    dev_speakers = {s.speaker for s in split.dev.segments}
    assert dev_speakers == set(split.held_out_groups) and not dev_speakers & {s.speaker for s in split.train.segments}
    assert len(split.dev.segments) + len(split.train.segments) == len(corpus.segments)
    assert "speaker-disjoint" in split.describe()


def test_few_speakers_give_a_recording_disjoint_dev_set_of_about_the_fraction():
    corpus = corpus_of({f"r{n}": ["anna", "ben", "anna"] for n in range(40)})
    split = choose_dev_split(corpus, 0.1, seed=3)
    assert split.grouping == "recording"
    assert not {s.recording_id for s in split.dev.segments} & {s.recording_id for s in split.train.segments}
    assert 0.1 <= minutes(split.dev) / minutes(corpus) < 0.15  # whole recordings of 3 utterances, 1/40 each
    assert {s.speaker for s in split.train.segments} == {"anna", "ben"}


def test_one_recording_gives_its_last_part():
    corpus = corpus_of({"only": ["anna"] * 20})
    split = choose_dev_split(corpus, 0.2, seed=0)
    assert split.grouping == "time"
    assert [s.id for s in split.dev.segments] == [f"only-{n}" for n in range(16, 20)]
    assert max(s.end for s in split.train.segments) <= min(s.start for s in split.dev.segments)


def test_training_always_keeps_something_and_bad_fractions_are_refused():
    split = choose_dev_split(corpus_of({"a": ["x"], "b": ["x"]}), 0.9, seed=0)
    assert len(split.train.segments) == 1 and len(split.dev.segments) == 1
    with pytest.raises(FieldasrError, match="between 0 and 1"):
        choose_dev_split(corpus_of({"a": ["x"], "b": ["x"]}), 1.0)
    with pytest.raises(FieldasrError, match="too few"):
        choose_dev_split(corpus_of({"a": ["x"]}), 0.1)
