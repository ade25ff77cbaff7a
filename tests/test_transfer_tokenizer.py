"""Target tokenizers: text checks, canonical token forms across tokenizer styles, vocabulary extension."""
from __future__ import annotations

import pytest

from fieldasr.transfer.errors import TargetTextError, TokenizerMismatchError
from fieldasr.transfer.tokenizer import (check_tokenizer_fits_model, extend_tokenizer, overlap_report,
                                         read_target_text, train_target_tokenizer)
from fieldasr.transfer.vocabulary import canonical_form, detect_style, tokens_of
from fieldasr_examples.toy_corpus import parallel_sentences


@pytest.fixture(scope="module")
def texts():
    return parallel_sentences(300)


def test_byte_level_and_sentencepiece_tokens_meet_in_one_canonical_form():
    # GPT-2 writes " irmã" as Ġ + bytes of ã shown as 'Ã£'; SentencePiece writes ▁irmã
    assert canonical_form("ĠirmÃ£", "byte-level") == "▁irmã" == canonical_form("▁irmã", "sentencepiece")
    assert canonical_form("##ing", "wordpiece") == "ing"
    assert canonical_form("<pad>", "byte-level") == "<pad>"
    assert detect_style(["Ġa", "Ġb", "c"]) == "byte-level"


def test_canonical_overlap_exceeds_raw_string_overlap_across_styles(texts):
    source, target = texts
    byte_level = train_target_tokenizer(source, 300, style="byte-bpe")
    unigram = train_target_tokenizer(target, 150, style="unigram")
    report = overlap_report(byte_level, unigram)
    assert report["canonical_overlap"] > report["raw_overlap"]


def test_read_target_text_rejects_empty_and_non_utf8_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n   \n", encoding="utf-8")
    with pytest.raises(TargetTextError, match="no text"):
        read_target_text(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("o cão come pão\n".encode("latin-1"))
    with pytest.raises(TargetTextError, match="not UTF-8.*iconv"):
        read_target_text(latin)
    good = tmp_path / "good.txt"
    good.write_text("\ufeffo cão come pão\n\nmeu irmão\n", encoding="utf-8")
    assert read_target_text(good) == ["o cão come pão", "meu irmão"]


def test_extension_keeps_source_ids_and_segmentation_and_adds_only_new_tokens(texts):
    source, target = texts
    source_tokenizer = train_target_tokenizer(source, 260)
    target_tokenizer = train_target_tokenizer(target, 300)
    extended = extend_tokenizer(source_tokenizer, target_tokenizer)
    source_tokens = tokens_of(source_tokenizer)
    assert tokens_of(extended.tokenizer)[:len(source_tokens)] == source_tokens
    assert extended.added_tokens and not set(extended.added_tokens) & set(source_tokens)
    assert len(extended.tokenizer) == len(source_tokens) + len(extended.added_tokens)
    for line in target[:20]:  # every id the extended tokenizer emits exists and decodes back to the text
        ids = extended.tokenizer(line)["input_ids"]
        assert max(ids) < len(extended.tokenizer)
        assert extended.tokenizer.decode(ids).strip() == line
    # target text needs fewer tokens with the extension
    before = sum(len(source_tokenizer.tokenize(line)) for line in target)
    after = sum(len(extended.tokenizer.tokenize(line)) for line in target)
    assert after < before


def test_extension_refuses_a_different_tokenizer_model(texts):
    source, target = texts
    with pytest.raises(TokenizerMismatchError, match="cannot extend"):
        extend_tokenizer(train_target_tokenizer(source, 260), train_target_tokenizer(target, 150, style="unigram"))


def test_tokenizer_larger_than_model_vocabulary_is_reported(texts):
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = train_target_tokenizer(texts[1], 300)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=100, n_embd=16, n_layer=1, n_head=2, n_positions=32))
    with pytest.raises(TokenizerMismatchError, match="embeds only 100"):
        check_tokenizer_fits_model(tokenizer, model)
