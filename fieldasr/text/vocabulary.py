"""The output vocabulary of a CTC model. The blank is always index 0 and is never the padding symbol."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.errors import FieldasrError

BLANK = "<blank>"
UNKNOWN = "<unk>"
WORD_BOUNDARY = "|"  # between words in character and phone label sequences


class VocabularyError(FieldasrError):
    """A label is missing from the vocabulary or a vocabulary file is malformed."""


@dataclass(frozen=True)
class Vocabulary:
    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tokens or self.tokens[0] != BLANK:
            raise VocabularyError(f"the first token must be the CTC blank {BLANK!r}; got {self.tokens[:1]}")
        if len(set(self.tokens)) != len(self.tokens):
            duplicates = sorted(token for token, count in Counter(self.tokens).items() if count > 1)
            raise VocabularyError(f"duplicate tokens in the vocabulary: {duplicates}")
        object.__setattr__(self, "_index", {token: index for index, token in enumerate(self.tokens)})

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1, with_unknown: bool = True) -> "Vocabulary":
        """Blank, then <unk> (optional), then tokens seen at least `min_count` times, sorted for determinism."""
        counts = Counter(token for sequence in sequences for token in sequence)
        specials = [BLANK] + ([UNKNOWN] if with_unknown else [])
        kept = sorted(token for token, count in counts.items() if count >= min_count and token not in specials)
        return cls(tokens=tuple(specials + kept))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index  # type: ignore[attr-defined]

    @property
    def blank_index(self) -> int:
        return 0

    def index(self, token: str) -> int:
        try:
            return self._index[token]  # type: ignore[attr-defined]
        except KeyError:
            raise VocabularyError(f"token {token!r} is not in the vocabulary") from None

    def encode(self, sequence: Sequence[str], on_unknown: str = "error") -> list[int]:
        """Token ids of `sequence`; unknown tokens raise (default) or map to <unk> ('unk') or are skipped ('skip')."""
        ids = []
        for token in sequence:
            index = self._index.get(token)  # type: ignore[attr-defined]
            if index is None:
                if on_unknown == "unk" and UNKNOWN in self:
                    index = self.index(UNKNOWN)
                elif on_unknown == "skip":
                    continue
                else:
                    raise VocabularyError(
                        f"label token {token!r} is not in the model's vocabulary of {len(self)} tokens; "
                        "rebuild the vocabulary from the training manifests or map this symbol in the G2P spec."
                    )
            ids.append(index)
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[index] for index in ids]

    def save(self, path: str | Path) -> None:
        Path(path).write_text("\n".join(self.tokens) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        path = Path(path)
        if not path.is_file():
            raise VocabularyError(f"{path}: vocabulary file not found (one token per line, blank first).")
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls(tokens=tuple(line for line in lines if line != ""))
