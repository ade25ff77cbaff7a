"""Target-language tokenizers: read the target text, train a tokenizer on it, extend a source tokenizer.

Two ways to give a source model a target vocabulary:
- replace: train a new tokenizer on target text; its embeddings are then initialised (see `initialisers`).
  Style `like-source` trains one of the source tokenizer's own type (byte-level BPE, SentencePiece Unigram or
  BPE, WordPiece) with its normaliser, pre-tokenizer, special tokens and post-processor: what a model of that
  family expects ([CLS] ... [SEP] for BERT, <s> for Llama).
- extend: keep every source token (same ids) and append only the target tokens the source lacks. BPE
  merges go after the source's, so they only apply where the source's merges left pieces unmerged.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from fieldasr.files import read_utf8_text
from fieldasr.transfer.errors import TargetTextError, TokenizerMismatchError
from fieldasr.transfer.vocabulary import VocabularyPair, canonical_form, detect_style

BYTE_LEVEL_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                       "mask_token": "<mask>"}
STYLES = ("byte-bpe", "unigram", "like-source")


def read_target_text(path: str | Path) -> list[str]:
    """Non-blank lines of a UTF-8 text file; raises if the file is missing, not UTF-8 or has no text."""
    path = Path(path)
    text = read_utf8_text(path, TargetTextError, "target text file", ".utf8.txt")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise TargetTextError(f"{path} has no text (empty or only blank lines); give one sentence per line")
    return lines


def _tokenizer_model(style: str, vocab_size: int, specials: list[str]):
    if style == "byte-bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=None))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        return tokenizer, trainer
    if style == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.normalizer = normalizers.NFKC()
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                          show_progress=False)
        return tokenizer, trainer
    raise TokenizerMismatchError(f"unknown tokenizer style {style!r}; choose one of {STYLES}")


def train_target_tokenizer(lines: Sequence[str], vocab_size: int, style: str = "byte-bpe") -> PreTrainedTokenizerFast:
    """Train a tokenizer on target-language lines: byte-level BPE (GPT-2/RoBERTa style) or Unigram (XLM-R style)."""
    if not lines:
        raise TargetTextError("no target text to train a tokenizer on")
    specials = list(BYTE_LEVEL_SPECIALS.values())
    tokenizer, trainer = _tokenizer_model(style, vocab_size, specials)
    tokenizer.train_from_iterator(lines, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **BYTE_LEVEL_SPECIALS)


def _training_texts(tokenizer, lines: Sequence[str]) -> Iterator[str]:
    """The lines as the tokenizer's trainer should see them.

    A tokenizer whose pre-tokenizer does not split words (Llama-2's SentencePiece BPE: spaces become ▁ but the
    line stays one piece) would learn merges across words from whole lines, which SentencePiece never does; it
    is given one word at a time.
    """
    pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
    if pre_tokenizer is not None and len(pre_tokenizer.pre_tokenize_str("a b")) > 1:
        yield from lines
        return
    for line in lines:
        yield from line.split()


def train_tokenizer_like(source_tokenizer, lines: Sequence[str], vocab_size: int):
    """A tokenizer of the source's class and type trained on `lines` (same special tokens and pipeline)."""
    if not lines:
        raise TargetTextError("no target text to train a tokenizer on")
    if not getattr(source_tokenizer, "is_fast", False):
        raise TokenizerMismatchError(
            f"the source tokenizer ({type(source_tokenizer).__name__}) has no tokenizer.json to retrain; save it "
            f"with a current transformers (AutoTokenizer.from_pretrained(...).save_pretrained(...)) first")
    return source_tokenizer.train_new_from_iterator(_training_texts(source_tokenizer, lines), vocab_size)


def make_target_tokenizer(lines: Sequence[str], vocab_size: int, style: str, source_tokenizer=None):
    """`train_tokenizer_like(source_tokenizer, ...)` for style `like-source`, else `train_target_tokenizer`."""
    if style != "like-source":
        return train_target_tokenizer(lines, vocab_size, style)
    if source_tokenizer is None:
        raise TokenizerMismatchError("style 'like-source' needs the source model's tokenizer (--source)")
    return train_tokenizer_like(source_tokenizer, lines, vocab_size)


@dataclass(frozen=True)
class ExtendedTokenizer:
    tokenizer: PreTrainedTokenizerFast
    added_tokens: tuple[str, ...]  # in their new id order, after the source tokens


def _model_state(tokenizer) -> dict:
    return json.loads(tokenizer.backend_tokenizer.to_str())


def _merge_pair(merge) -> tuple[str, str]:
    return tuple(merge.split(" ", 1)) if isinstance(merge, str) else tuple(merge)


def _extend_wordpiece(source_model: dict, target_model: dict) -> list[str]:
    vocab = source_model["vocab"]
    added = [token for token, _ in sorted(target_model["vocab"].items(), key=lambda item: item[1]) if token not in vocab]
    for token in added:
        vocab[token] = len(vocab)
    return added


def _extend_bpe(source_model: dict, target_model: dict) -> list[str]:
    added = _extend_wordpiece(source_model, target_model)  # the same vocabulary update; BPE adds merges
    vocab = source_model["vocab"]
    known = {_merge_pair(merge) for merge in source_model["merges"]}
    for merge in target_model["merges"]:
        pair = _merge_pair(merge)
        if pair not in known and pair[0] + pair[1] in vocab:
            source_model["merges"].append(list(pair))
    return added


def _extend_unigram(source_model: dict, target_model: dict) -> list[str]:
    known = {piece for piece, _ in source_model["vocab"]}
    added = [(piece, score) for piece, score in target_model["vocab"] if piece not in known]
    source_model["vocab"].extend([list(item) for item in added])
    return [piece for piece, _ in added]


def extend_tokenizer(source, target) -> ExtendedTokenizer:
    """The source tokenizer with the target's missing tokens appended (same model type and pre-tokenizer needed)."""
    source_state, target_state = _model_state(source), _model_state(target)
    source_type, target_type = source_state["model"]["type"], target_state["model"]["type"]
    if source_type != target_type or source_state["pre_tokenizer"] != target_state["pre_tokenizer"]:
        raise TokenizerMismatchError(
            f"cannot extend a {source_type} tokenizer with a {target_type} one (or their pre-tokenizers differ); "
            f"train the target tokenizer with the source's style, or replace the vocabulary instead"
        )
    extend = {"BPE": _extend_bpe, "Unigram": _extend_unigram, "WordPiece": _extend_wordpiece}.get(source_type)
    if extend is None:
        raise TokenizerMismatchError(f"extending a {source_type} tokenizer is not supported; use BPE, Unigram or WordPiece")
    after = [token["content"] for token in source_state.get("added_tokens", [])
             if token["id"] >= len(source_state["model"]["vocab"])]
    if after:  # Qwen2's <|endoftext|>, <|im_start|>, ...: appended tokens would take their ids
        raise TokenizerMismatchError(
            f"the source tokenizer's added tokens {after[:3]} come after its vocabulary, where extended tokens would "
            f"go; replace the vocabulary instead (--style like-source, without --extend)")
    added = extend(source_state["model"], target_state["model"])
    backend = Tokenizer.from_str(json.dumps(source_state))
    extended = PreTrainedTokenizerFast(tokenizer_object=backend, **source.special_tokens_map)
    return ExtendedTokenizer(tokenizer=extended, added_tokens=tuple(added))


@dataclass(frozen=True)
class SavedTokenizer:
    output: Path
    size: int  # tokens in all
    added_tokens: tuple[str, ...] | None  # when a source tokenizer was extended: the target tokens appended to it


def save_target_tokenizer(target_text: str | Path, output: str | Path, vocab_size: int, style: str = "byte-bpe",
                          source_tokenizer: str | Path | None = None, extend: bool = False) -> SavedTokenizer:
    """Train a tokenizer on `target_text` and save it to `output`. `source_tokenizer` (a local folder) is needed
    by style `like-source`; with `extend`, that tokenizer extended by the target tokens it lacks is saved instead."""
    source = None
    if source_tokenizer:
        from transformers import AutoTokenizer

        source = AutoTokenizer.from_pretrained(source_tokenizer, local_files_only=True)
    tokenizer = make_target_tokenizer(read_target_text(target_text), vocab_size, style, source)
    added = None
    if extend:
        if source is None:
            raise TokenizerMismatchError("extending needs the source tokenizer folder to extend")
        extended = extend_tokenizer(source, tokenizer)
        tokenizer, added = extended.tokenizer, extended.added_tokens
    tokenizer.save_pretrained(output)
    return SavedTokenizer(Path(output), len(tokenizer), added)


def check_tokenizer_fits_model(tokenizer, model, where: str = "model") -> None:
    """Raise if the tokenizer produces ids the model's embedding table does not have."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        raise TokenizerMismatchError(
            f"the tokenizer has {len(tokenizer)} tokens but {where} embeds only {rows}; use the tokenizer the model "
            f"was trained with, or transfer the embeddings to this tokenizer first (`fieldasr transfer init`)"
        )


def overlap_report(source_tokenizer, target_tokenizer) -> dict[str, int]:
    """How many target tokens the source has, by canonical form and by raw string (for the record)."""
    pair = VocabularyPair.of_tokenizers(source_tokenizer, target_tokenizer)
    raw = len(set(pair.source_tokens) & set(pair.target_tokens))
    return {"target_tokens": len(pair.target_tokens), "canonical_overlap": len(pair.overlap()), "raw_overlap": raw}


__all__ = ["ExtendedTokenizer", "check_tokenizer_fits_model", "extend_tokenizer", "make_target_tokenizer",
           "overlap_report", "read_target_text", "train_target_tokenizer", "train_tokenizer_like", "canonical_form",
           "detect_style"]
