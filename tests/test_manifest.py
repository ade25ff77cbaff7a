from __future__ import annotations

import gzip
import json

import pytest

from fieldasr.data import Corpus, Recording, Segment, read_segments, write_manifest
from fieldasr.errors import ManifestError


def make_corpus() -> Corpus:
    recording = Recording(id="rec1", path="rec1.wav", sampling_rate=16000, num_samples=160000)
    segments = (
        Segment(id="rec1-0", recording_id="rec1", start=0.0, duration=2.5, text="kamuy", speaker="A", language="ain"),
        Segment(id="rec1-1", recording_id="rec1", start=3.0, duration=1.0, text="aynu", phones=("a", "j", "n", "u")),
    )
    return Corpus(recordings={recording.id: recording}, segments=segments)


def test_recording_duration_is_derived_from_samples():
    assert Recording(id="r", path="r.wav", sampling_rate=8000, num_samples=4000).duration == pytest.approx(0.5)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_round_trip_keeps_every_field(tmp_path, suffix):
    corpus = make_corpus()
    corpus.save(tmp_path, compress=suffix.endswith(".gz"))
    loaded = Corpus.load(tmp_path)
    assert loaded == corpus
    assert loaded.segments[1].phones == ("a", "j", "n", "u")
    if suffix.endswith(".gz"):
        with gzip.open(tmp_path / "segments.jsonl.gz", "rt", encoding="utf-8") as stream:
            assert json.loads(stream.readline())["text"] == "kamuy"


def test_reading_is_lazy(tmp_path):
    path = tmp_path / "segments.jsonl"
    write_manifest(path, make_corpus().segments)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write("not json\n")
    iterator = read_segments(path)
    assert next(iterator).id == "rec1-0"  # the broken third line is not read yet
    next(iterator)
    with pytest.raises(ManifestError, match="line 3"):
        next(iterator)


def test_missing_field_names_line_and_field(tmp_path):
    path = tmp_path / "segments.jsonl"
    path.write_text(json.dumps({"id": "a", "recording_id": "r", "duration": 1.0}) + "\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"line 1.*start"):
        list(read_segments(path))


def test_unknown_field_is_an_error_not_silently_dropped(tmp_path):
    path = tmp_path / "segments.jsonl"
    path.write_text(json.dumps({"id": "a", "recording_id": "r", "start": 0, "duration": 1.0, "txet": "typo"}) + "\n")
    with pytest.raises(ManifestError, match="txet"):
        list(read_segments(path))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"duration": 0.0}, "not positive"),
        ({"duration": -1.0}, "not positive"),
        ({"start": -0.5}, "negative start"),
        ({"start": 9.5, "duration": 1.0}, "ends after the audio"),
        ({"text": "  "}, "empty transcription"),
    ],
)
def test_validate_rejects_bad_segments(change, message):
    corpus = make_corpus()
    bad = corpus.segments[0].with_(**change)
    with pytest.raises(ManifestError, match=message):
        Corpus(corpus.recordings, (bad,)).validate(require_text=True)


def test_validate_rejects_duplicate_ids_and_inconsistent_duration():
    corpus = make_corpus()
    with pytest.raises(ManifestError, match="appears twice"):
        Corpus(corpus.recordings, (corpus.segments[0], corpus.segments[0])).validate()
    wrong = Recording(id="rec1", path="rec1.wav", sampling_rate=16000, num_samples=160000, duration=12.0)
    with pytest.raises(ManifestError, match="disagrees"):
        Corpus({"rec1": wrong}, corpus.segments).validate()


def test_empty_text_allowed_when_not_required():
    corpus = make_corpus()
    Corpus(corpus.recordings, (corpus.segments[0].with_(text=None),)).validate(require_text=False)
