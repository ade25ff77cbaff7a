"""Bilingual dictionaries: one parser with line-numbered errors, coverage counts, translations used by WECHSEL/OFA."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fieldasr.transfer.dictionary import dictionary_coverage, read_bilingual_dictionary, translation_copies
from fieldasr.transfer.embeddings import align_static_embeddings, train_static_embeddings
from fieldasr.transfer.errors import DictionaryError
from fieldasr.transfer.initialisers import TRANSLATED
from fieldasr.transfer.registry import make_initialiser
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of
from fieldasr_examples.toy_corpus import dictionary_pairs, parallel_sentences


def test_pairs_by_tab_or_space_with_comments_and_blank_lines(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("\ufeff# MUSE-style es-pt\n\nperro cão\nla mujer\ta mulher\n  # indented comment\nagua\t água \n",
                    encoding="utf-8")
    assert read_bilingual_dictionary(path) == [("perro", "cão"), ("la mujer", "a mulher"), ("agua", "água")]


@pytest.mark.parametrize("text, line, fields", [
    ("perro\tcão\ncasa casa nova\n", 2, 3),   # three words without a tab
    ("# header\nperro\tcão\tdog\n", 2, 3),      # three tab fields
    ("perro\tcão\n\nleche\t\n", 3, 2),          # an empty target
    ("perro\n", 1, 1),                           # one word
])
def test_a_malformed_line_is_named_by_file_and_number(tmp_path, text, line, fields):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DictionaryError, match=rf"bad\.tsv:{line}: expected .*\({fields} fields\)"):
        read_bilingual_dictionary(path)


def test_empty_missing_and_non_utf8_files_are_errors(tmp_path):
    (tmp_path / "empty.tsv").write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match="no word pairs"):
        read_bilingual_dictionary(tmp_path / "empty.tsv")
    with pytest.raises(DictionaryError, match="does not exist"):
        read_bilingual_dictionary(tmp_path / "absent.tsv")
    (tmp_path / "latin1.tsv").write_bytes("niño\tmenino\n".encode("latin-1"))
    with pytest.raises(DictionaryError, match="not UTF-8.*iconv"):
        read_bilingual_dictionary(tmp_path / "latin1.tsv")


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    source_lines, target_lines = parallel_sentences(300)
    source_tokenizer = train_target_tokenizer(source_lines, 400)  # GPT-2 style (Ġ)
    target_tokenizer = train_target_tokenizer(target_lines, 300, style="unigram")  # XLM-R style (▁)
    pair = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer))
    source_words = train_static_embeddings(source_lines, dim=16, epochs=5)
    target_words = train_static_embeddings(target_lines, dim=16, epochs=5)
    alignment = align_static_embeddings(source_words, target_words, dictionary_pairs())
    resources = dict(source_words=source_words, target_words=target_words, alignment=alignment,
                     dictionary=dictionary_pairs())
    source_embeddings = np.random.default_rng(0).normal(size=(len(pair.source_tokens), 24)).astype(np.float32)
    return pair, resources, source_embeddings


def test_coverage_counts_whole_word_tokens_of_each_vocabulary(setup):
    pair, _, _ = setup
    pairs = dictionary_pairs() + [("zzz", "qqq")]
    # reference: ASCII words are whole tokens iff 'Ġword' (byte-level) / '▁word' (unigram) is in the vocabulary
    ascii_pairs = [(s, t) for s, t in pairs if s.isascii() and t.isascii()]
    in_source = sum(("Ġ" + s) in pair.source_tokens for s, _ in ascii_pairs)
    in_target = sum(("▁" + t) in pair.target_tokens for _, t in ascii_pairs)
    ascii_coverage = dictionary_coverage(pair, ascii_pairs)
    assert ascii_coverage["dictionary_source_words_in_source_vocabulary"] == in_source > 0
    assert ascii_coverage["dictionary_target_words_in_target_vocabulary"] == in_target > 0
    coverage = dictionary_coverage(pair, pairs)
    assert coverage["dictionary_pairs"] == len(pairs)
    assert coverage["dictionary_pairs_in_both_vocabularies"] == len(translation_copies(pair, pairs)) > 0


@pytest.mark.parametrize("name", ["wechsel", "ofa"])
def test_translated_word_tokens_take_their_translations_row(setup, name):
    pair, resources, source_embeddings = setup
    extra = {"rank": 24} if name == "ofa" else {}  # full rank: OFA's rows are then the source rows themselves
    result = make_initialiser(name, **resources, **extra).initialise(pair, source_embeddings)
    translations = translation_copies(pair, resources["dictionary"])
    differently_spelled = {t: s for t, s in translations.items() if t not in pair.overlap()}
    assert differently_spelled  # e.g. ▁mulher ← Ġmujer
    translated = [t for t, origin in enumerate(result.origin) if origin == TRANSLATED]
    assert set(differently_spelled) <= set(translated) <= set(translations)
    assert result.summary()[TRANSLATED] == len(translated)
    for target_id in translated:
        np.testing.assert_allclose(result.embeddings[target_id], source_embeddings[translations[target_id]], atol=1e-4)
    without = make_initialiser(name, **{**resources, "dictionary": ()}, **extra).initialise(pair, source_embeddings)
    assert TRANSLATED not in without.origin
    assert any(not np.allclose(without.embeddings[t], result.embeddings[t]) for t in differently_spelled)


def test_the_recipe_refuses_a_malformed_dictionary_before_making_the_experiment_folder(tmp_path):
    from fieldasr.transfer.recipe import run_lm_transfer_recipe

    (tmp_path / "train.txt").write_text("o homem come\n", encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text("hombre\thomem\nperro\n", encoding="utf-8")
    (tmp_path / "source_model").mkdir()
    config = {"experiment_dir": str(tmp_path / "exp"), "data": {"train_text": str(tmp_path / "train.txt")},
              "model": {}, "pretraining": {},
              "transfer": {"source_model": str(tmp_path / "source_model"), "source_text": str(tmp_path / "train.txt"),
                           "dictionary": str(tmp_path / "pairs.tsv"), "method": "wechsel"}}
    with pytest.raises(DictionaryError, match=r"pairs\.tsv:2: expected"):
        run_lm_transfer_recipe(config)
    assert not (tmp_path / "exp").exists()
