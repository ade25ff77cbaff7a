"""The rich multilingual source's corpus plumbing (the synthesis and the training run in the benchmark): two
syntheses with the same ids are kept apart, and the dev set holds whole texts, never heard in training."""
from __future__ import annotations

from benchmarks.multilingual_source import prefixed, split_by_text, without_unseen_phones
from fieldasr.data import Corpus, Recording, Segment


def corpus(rows: list[tuple[str, str, str]]) -> Corpus:
    recordings = {identifier: Recording(identifier, f"{identifier}.wav", 16000, 16000) for identifier, _, _ in rows}
    segments = tuple(Segment.spanning(recordings[identifier], text=text, language=language, phones=("a",))
                     for identifier, language, text in rows)
    return Corpus(recordings, segments)


def test_prefixed_ids_keep_two_syntheses_apart():
    clean, noisy = (prefixed(corpus([("eng-00000", "eng", "one")]), prefix) for prefix in ("clean-", "noisy-"))
    assert set(clean.recordings) == {"clean-eng-00000"} and noisy.segments[0].recording_id == "noisy-eng-00000"
    assert noisy.recordings["noisy-eng-00000"].id == "noisy-eng-00000" and noisy.segments[0].id == "noisy-eng-00000"


def test_dev_takes_whole_texts_per_language_and_training_never_hears_them():
    rows = [("eng-0", "eng", "a"), ("eng-1", "eng", "b"), ("eng-2", "eng", "a"), ("eng-3", "eng", "c"),
            ("deu-0", "deu", "x"), ("deu-1", "deu", "y"), ("deu-2", "deu", "x")]
    train, dev = split_by_text(corpus(rows), per_language=1)
    assert sorted(s.id for s in dev.segments) == ["deu-0", "deu-2", "eng-0", "eng-2"]  # every reading of the dev text
    assert {s.text for s in train.segments} == {"b", "c", "y"}
    assert set(train.recordings) == {s.recording_id for s in train.segments}


def test_a_dev_utterance_with_a_phone_never_trained_is_left_out_and_counted(capsys):
    dev = corpus([("pol-0", "pol", "a"), ("pol-1", "pol", "b")])
    dev = Corpus(dev.recordings, (dev.segments[0].with_(phones=("a", "ɡʲ")), dev.segments[1]))
    kept = without_unseen_phones(dev, {"a"})
    assert [s.id for s in kept.segments] == ["pol-1"] and set(kept.recordings) == {"pol-1"}
    assert "left 1 dev utterances out: phones never in training (ɡʲ)" in capsys.readouterr().out
