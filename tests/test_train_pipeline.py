"""Manifest → examples → batches: label checks, the CTC feasibility filter, speed perturbation, collation."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from train_data import english_corpus, phone_vocabulary  # noqa: F401  (fixture)

from fieldasr.data import Corpus
from fieldasr.errors import ManifestError
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary
from fieldasr.text.vocabulary import VocabularyError
from fieldasr.train.pipeline import (
    SpeechDataset, collate_ctc, ctc_frames_needed, filter_ctc_feasible, prepare_ctc_examples, segment_tokens,
)


def test_missing_phones_are_refused_with_the_segment_named(english_corpus):
    segments = (english_corpus.segments[0].with_(phones=None),) + english_corpus.segments[1:]
    corpus = Corpus(recordings=english_corpus.recordings, segments=segments)
    with pytest.raises(ManifestError, match=f"{segments[0].id}.*no phones.*fieldasr g2p"):
        prepare_ctc_examples(corpus, phone_vocabulary(english_corpus), unit="phones")


def test_tokens_missing_from_the_vocabulary_are_all_listed(english_corpus):
    vocabulary = phone_vocabulary(english_corpus)
    reduced = Vocabulary(tuple(token for token in vocabulary.tokens if token not in ("ð", "m")))
    with pytest.raises(VocabularyError) as error:
        prepare_ctc_examples(english_corpus, reduced)
    message = str(error.value)
    assert "'ð'" in message and "'m'" in message and "en0-0" in message


def test_characters_use_word_boundaries(english_corpus):
    assert segment_tokens(english_corpus.segments[0], "characters") == list("the|cat|sat|on|the|mat")


def test_frames_needed_counts_blanks_between_repeats():
    assert ctc_frames_needed([1, 2, 3]) == 3
    assert ctc_frames_needed([1, 1, 2, 2, 2]) == 8  # 1 _ 1 2 _ 2 _ 2


def test_feasibility_filter_removes_and_reports(english_corpus):
    vocabulary = phone_vocabulary(english_corpus)
    examples = prepare_ctc_examples(english_corpus, vocabulary)
    too_many = dataclasses.replace(examples[0], labels=examples[0].labels * 20)
    model = ConformerCTC(TINY_CONFORMER, len(vocabulary))
    kept, report = filter_ctc_feasible([too_many, *examples[1:]], model.frame_lengths)
    assert [r.segment_id for r in report.removed] == [examples[0].segment.id]
    assert report.kept == len(kept) == len(examples) - 1
    removed = report.removed[0]
    assert removed.frames == int(model.frame_lengths(torch.tensor([int(examples[0].segment.duration * 16000)])))
    assert removed.frames_needed == ctc_frames_needed(too_many.labels)
    assert "removed 1 of" in report.summary()
    # Sped-up audio has fewer frames: the filter allows for the fastest speed factor.
    _, fast_report = filter_ctc_feasible(examples, lambda samples: samples // 16000, speed_factors=(0.9, 1.0, 1.1))
    assert len(fast_report.removed) == len(examples)


def test_dataset_reads_segments_and_collates_padded_batches(english_corpus):
    vocabulary = phone_vocabulary(english_corpus)
    dataset = SpeechDataset(prepare_ctc_examples(english_corpus, vocabulary)[:3])
    items = [dataset[i] for i in range(3)]
    batch = collate_ctc(items)
    assert batch.waveforms.shape == (3, max(len(item["waveform"]) for item in items))
    assert batch.lengths.tolist() == [len(item["waveform"]) for item in items]
    assert abs(batch.durations[0].item() - english_corpus.segments[0].duration) < 0.01
    first_labels = batch.labels[0, : batch.label_lengths[0]].tolist()
    assert vocabulary.decode(first_labels) == list(english_corpus.segments[0].phones)


def test_speed_perturbation_changes_length_by_the_factor(english_corpus):
    vocabulary = phone_vocabulary(english_corpus)
    examples = prepare_ctc_examples(english_corpus, vocabulary)[:1]
    plain = len(SpeechDataset(examples)[0]["waveform"])
    faster = len(SpeechDataset(examples, speed_factors=(1.25,))[0]["waveform"])
    assert abs(faster - plain / 1.25) <= 2


def test_subword_labels_come_from_sentencepiece_and_spell_the_text(english_corpus, tmp_path):
    import sentencepiece

    texts = [segment.text for segment in english_corpus.segments]
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(texts * 5), model_prefix=str(tmp_path / "sp"), vocab_size=40,
                                             model_type="unigram", minloglevel=2)
    model = sentencepiece.SentencePieceProcessor(model_file=str(tmp_path / "sp.model"))
    pieces = segment_tokens(english_corpus.segments[1], "subwords", model)
    assert "".join(pieces).replace("▁", " ").strip() == english_corpus.segments[1].text
    vocabulary = Vocabulary.build(segment_tokens(s, "subwords", model) for s in english_corpus.segments)
    assert len(prepare_ctc_examples(english_corpus, vocabulary, "subwords", model)) == len(english_corpus.segments)
    with pytest.raises(ManifestError, match="sentencepiece"):
        segment_tokens(english_corpus.segments[1], "subwords")


def test_a_phone_recipe_refuses_segments_never_given_phones_but_not_empty_ones(english_corpus, tmp_path):
    # An empty phone sequence is a text without sounds (e.g. only punctuation): the feasibility filter handles it.
    from fieldasr.train.data import load_corpus

    first, second, *rest = english_corpus.segments
    Corpus(english_corpus.recordings, (first.with_(phones=()), second, *rest)).save(tmp_path / "empty")
    assert len(load_corpus(tmp_path / "empty", None, "phones").segments) == len(english_corpus.segments)
    Corpus(english_corpus.recordings, (first.with_(phones=None), second, *rest)).save(tmp_path / "none")
    with pytest.raises(ManifestError, match=rf"none: 1 of {len(english_corpus.segments)} segments have no phones"):
        load_corpus(tmp_path / "none", None, "phones")
