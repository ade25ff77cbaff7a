"""Bilingual dictionaries (source word → target word) for WECHSEL and OFA: reading, and what they cover.

A dictionary file has one pair a line, `source<TAB>target` or, without a tab, two whitespace-separated words
(MUSE's and PanLex exports' layout; `fieldasr transfer glossary` writes one from an ELAN glossed tier). Blank
lines and lines starting with `#` are skipped. The pairs serve twice: WECHSEL/OFA align their static word vectors on
them (Procrustes, `embeddings.align_static_embeddings`), and a target token that is a whole dictionary word takes
the row of its translation when that is a whole source token (`translation_copies`), so words translated but
spelled differently are transferred as directly as identically spelled ones.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fieldasr.files import read_utf8_text
from fieldasr.transfer.errors import DictionaryError
from fieldasr.transfer.vocabulary import WORD_START, VocabularyPair, canonical_form

LAYOUT = "one pair a line: 'source<TAB>target' (or 'source target'); '#' starts a comment line"


def read_bilingual_dictionary(path: str | Path) -> list[tuple[str, str]]:
    """The (source, target) pairs of a dictionary file; a malformed line is an error naming the file and line."""
    path = Path(path)
    text = read_utf8_text(path, DictionaryError, "dictionary file", ".utf8.tsv", f"give a file of {LAYOUT}")
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")] if "\t" in line else line.split()
        if len(fields) != 2 or not all(fields):
            raise DictionaryError(f"{path}:{number}: expected {LAYOUT}; got {line!r} ({len(fields)} fields)")
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DictionaryError(f"{path} has no word pairs; give {LAYOUT}")
    return pairs


def _whole_word_tokens(tokens: Sequence[str], style: str) -> dict[str, int]:
    """Word → id of the token that is exactly that word with its word-start mark (the lowest id wins)."""
    index: dict[str, int] = {}
    for token_id, token in enumerate(tokens):
        form = canonical_form(token, style)
        if form.startswith(WORD_START) and len(form) > 1:
            index.setdefault(form[1:], token_id)
    return index


def translation_copies(vocabularies: VocabularyPair, dictionary: Sequence[tuple[str, str]]) -> dict[int, int]:
    """target id → source id for dictionary pairs whose words are both whole tokens (the first pair of a word wins)."""
    source_words = _whole_word_tokens(vocabularies.source_tokens, vocabularies.source_style)
    target_words = _whole_word_tokens(vocabularies.target_tokens, vocabularies.target_style)
    copies: dict[int, int] = {}
    for source_word, target_word in dictionary:
        if source_word in source_words and target_word in target_words:
            copies.setdefault(target_words[target_word], source_words[source_word])
    return copies


def dictionary_coverage(vocabularies: VocabularyPair, dictionary: Sequence[tuple[str, str]]) -> dict[str, int]:
    """How many pairs have their source word, their target word, and both, as whole tokens of the two tokenizers."""
    source_words = _whole_word_tokens(vocabularies.source_tokens, vocabularies.source_style)
    target_words = _whole_word_tokens(vocabularies.target_tokens, vocabularies.target_style)
    in_source = [source in source_words for source, _ in dictionary]
    in_target = [target in target_words for _, target in dictionary]
    return {"dictionary_pairs": len(dictionary), "dictionary_source_words_in_source_vocabulary": sum(in_source),
            "dictionary_target_words_in_target_vocabulary": sum(in_target),
            "dictionary_pairs_in_both_vocabularies": sum(s and t for s, t in zip(in_source, in_target))}
