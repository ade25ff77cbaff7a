"""Token strings compared across tokenizers: canonical forms and the overlap of two vocabularies.

Tokenizers spell a word start differently: GPT-2's byte-level BPE writes `Ġword` (and non-ASCII letters as
byte symbols such as `Ã©`), SentencePiece writes `▁word`, WordPiece writes `word` and marks word-inner
pieces `##ing`. Matching raw strings (as CLP-Transfer's reference code does) makes such vocabularies
barely overlap, so every comparison here goes through `canonical_form`: word-initial pieces start with
`▁`, byte symbols are decoded to text, and special tokens stay as they are.

Special tokens are also matched by their role, since families spell them differently (`<s>`, `[CLS]`,
`<|endoftext|>`): a target tokenizer's pad token is the source's pad token whatever its spelling, and its
beginning/end-of-sequence tokens fall back to the source's [CLS]/[SEP] (RoBERTa uses <s> and </s> as both).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

WORD_START = "▁"
BYTE_LEVEL_SPACE = "Ġ"
WORDPIECE_CONTINUATION = "##"
# a target token's role → the source roles that stand for it, best first
SPECIAL_ROLES = {"pad_token": ("pad_token",), "unk_token": ("unk_token",), "mask_token": ("mask_token",),
                 "bos_token": ("bos_token", "cls_token"), "eos_token": ("eos_token", "sep_token"),
                 "cls_token": ("cls_token", "bos_token"), "sep_token": ("sep_token", "eos_token")}


@lru_cache(maxsize=1)
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's reversible byte ↔ printable-character table (same construction as in `tokenizers`)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return {chr(character): byte for character, byte in zip(characters, printable)}


def detect_style(tokens: Sequence[str]) -> str:
    """'byte-level', 'sentencepiece' or 'wordpiece', by which word-start convention most tokens use."""
    counts = {
        "byte-level": sum(token.startswith(BYTE_LEVEL_SPACE) for token in tokens),
        "sentencepiece": sum(token.startswith(WORD_START) for token in tokens),
        "wordpiece": sum(token.startswith(WORDPIECE_CONTINUATION) for token in tokens),
    }
    style = max(counts, key=counts.__getitem__)
    return style if counts[style] > 0 else "sentencepiece"


def is_special_token(token: str) -> bool:
    return len(token) > 2 and token[0] in "<[" and token[-1] in ">]"


def canonical_form(token: str, style: str) -> str:
    """The token as text, with a leading `▁` when it starts a word."""
    if is_special_token(token):
        return token
    if style == "byte-level":
        decoder = _byte_level_decoder()
        if all(character in decoder for character in token):
            text = bytes(decoder[character] for character in token).decode("utf-8", errors="backslashreplace")
            return WORD_START + text[1:] if text.startswith(" ") else text
        return token
    if style == "wordpiece":
        return token[2:] if token.startswith(WORDPIECE_CONTINUATION) else WORD_START + token
    return token


def surface_text(token: str, style: str) -> str:
    """The token's letters without the word-start mark: what a static word-embedding model is asked for."""
    return canonical_form(token, style).lstrip(WORD_START)


def special_token_pairs(source_tokenizer, target_tokenizer) -> tuple[tuple[int, int], ...]:
    """(target id, source id) of the special tokens with the same role in both tokenizers (see SPECIAL_ROLES)."""
    pairs = {}
    for role, source_roles in SPECIAL_ROLES.items():
        target_id = getattr(target_tokenizer, f"{role}_id", None)
        source_id = next((getattr(source_tokenizer, f"{name}_id", None) for name in source_roles
                          if getattr(source_tokenizer, f"{name}_id", None) is not None), None)
        if target_id is not None and source_id is not None:
            pairs.setdefault(target_id, source_id)
    return tuple(sorted(pairs.items()))


@dataclass(frozen=True)
class VocabularyPair:
    """A source and a target vocabulary (token strings in id order), their canonical overlap, and the special
    tokens matched by role (`special_pairs`: (target id, source id), which win over a match by spelling)."""

    source_tokens: tuple[str, ...]
    target_tokens: tuple[str, ...]
    special_pairs: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, source_tokens: Sequence[str], target_tokens: Sequence[str]) -> "VocabularyPair":
        return cls(tuple(source_tokens), tuple(target_tokens))

    @classmethod
    def of_tokenizers(cls, source_tokenizer, target_tokenizer) -> "VocabularyPair":
        """The two tokenizers' vocabularies, with their special tokens matched by role."""
        return cls(tokens_of(source_tokenizer), tokens_of(target_tokenizer),
                   special_token_pairs(source_tokenizer, target_tokenizer))

    @cached_property
    def source_style(self) -> str:
        return detect_style(self.source_tokens)

    @cached_property
    def target_style(self) -> str:
        return detect_style(self.target_tokens)

    def overlap(self) -> dict[int, int]:
        """target id → source id for every target token whose canonical form the source vocabulary also has."""
        return dict(self._overlap)

    @cached_property
    def _overlap(self) -> dict[int, int]:
        # when several source tokens share a canonical form, the lowest id wins (as in FOCUS)
        source_style, target_style = self.source_style, self.target_style
        source_index: dict[str, int] = {}
        for source_id, token in enumerate(self.source_tokens):
            source_index.setdefault(canonical_form(token, source_style), source_id)
        matches = {}
        for target_id, token in enumerate(self.target_tokens):
            source_id = source_index.get(canonical_form(token, target_style))
            if source_id is not None:
                matches[target_id] = source_id
        matches.update(self.special_pairs)
        return matches


def tokens_of(tokenizer) -> tuple[str, ...]:
    """The token strings of a Hugging Face tokenizer in id order (added tokens included)."""
    return tuple(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))))
