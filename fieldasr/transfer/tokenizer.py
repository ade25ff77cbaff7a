"""Target-language tokenizers: read the target text, train a tokenizer on it, extend a source tokenizer.

Two ways to give a source model a target vocabulary:
- replace: train a new tokenizer on target text; its embeddings are then initialised (see `initialisers`).
- extend: keep every source token (same ids) and append only the target tokens the source lacks. BPE
  merges go after the source's, so they only apply where the source's merges left pieces unmerged.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from fieldasr.transfer.errors import TargetTextError, TokenizerMismatchError
from fieldasr.transfer.vocabulary import VocabularyPair, canonical_form, detect_style, tokens_of

BYTE_LEVEL_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                       "mask_token": "<mask>"}
STYLES = ("byte-bpe", "unigram")


def read_target_text(path: str | Path) -> list[str]:
    """Non-blank lines of a UTF-8 text file; raises if the file is missing, not UTF-8 or has no text."""
    path = Path(path)
    if not path.is_file():
        raise TargetTextError(f"target text file {path} does not exist")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TargetTextError(
            f"{path} is not UTF-8 (byte {error.start}: {data[error.start:error.start + 4]!r}); convert it first, "
            f"e.g. `iconv -f LATIN1 -t UTF-8 {path.name} > {path.stem}.utf8.txt`"
        ) from None
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


@dataclass(frozen=True)
class ExtendedTokenizer:
    tokenizer: PreTrainedTokenizerFast
    added_tokens: tuple[str, ...]  # in their new id order, after the source tokens


def _model_state(tokenizer) -> dict:
    return json.loads(tokenizer.backend_tokenizer.to_str())


def _merge_pair(merge) -> tuple[str, str]:
    return tuple(merge.split(" ", 1)) if isinstance(merge, str) else tuple(merge)


def _extend_bpe(source_model: dict, target_model: dict) -> list[str]:
    vocab = source_model["vocab"]
    added = [token for token, _ in sorted(target_model["vocab"].items(), key=lambda item: item[1]) if token not in vocab]
    for token in added:
        vocab[token] = len(vocab)
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
    extend = {"BPE": _extend_bpe, "Unigram": _extend_unigram}.get(source_type)
    if extend is None:
        raise TokenizerMismatchError(f"extending a {source_type} tokenizer is not supported; use BPE or Unigram")
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
                          source_tokenizer: str | Path | None = None) -> SavedTokenizer:
    """Train a tokenizer on `target_text` and save it to `output`; with `source_tokenizer` (a local folder),
    save that tokenizer extended by the target tokens it lacks instead."""
    tokenizer = train_target_tokenizer(read_target_text(target_text), vocab_size, style)
    added = None
    if source_tokenizer:
        from transformers import AutoTokenizer

        extended = extend_tokenizer(AutoTokenizer.from_pretrained(source_tokenizer, local_files_only=True), tokenizer)
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
    pair = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer))
    raw = len(set(pair.source_tokens) & set(pair.target_tokens))
    return {"target_tokens": len(pair.target_tokens), "canonical_overlap": len(pair.overlap()), "raw_overlap": raw}


__all__ = ["ExtendedTokenizer", "check_tokenizer_fits_model", "extend_tokenizer", "overlap_report",
           "read_target_text", "train_target_tokenizer", "canonical_form", "detect_style"]
