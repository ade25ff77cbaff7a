"""Phone inventories: per language with counts, a shared multilingual one, and mapping by articulatory features.

Distances are panphon's weighted feature distance between two segments (the substitution cost of its
weighted feature edit distance). A new language's phones are mapped onto the known inventory with it, so
the output rows of phones the model has never seen can start from their nearest known neighbours.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import panphon.distance

from fieldasr.data.manifest import Segment
from fieldasr.g2p.segment import phone_vector
from fieldasr.text.vocabulary import WORD_BOUNDARY

UNKNOWN_LANGUAGE = "unknown"


@dataclass(frozen=True)
class Inventory:
    counts: Mapping[str, int]
    language: str = UNKNOWN_LANGUAGE

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[str]], language: str = UNKNOWN_LANGUAGE) -> "Inventory":
        counts = Counter(phone for sequence in sequences for phone in sequence if phone != WORD_BOUNDARY)
        return cls(counts=dict(counts), language=language)

    @property
    def phones(self) -> tuple[str, ...]:
        """Most frequent first; ties in code-point order so the result is deterministic."""
        return tuple(sorted(self.counts, key=lambda phone: (-self.counts[phone], phone)))

    def __contains__(self, phone: object) -> bool:
        return phone in self.counts

    def __len__(self) -> int:
        return len(self.counts)


def inventories_from_segments(segments: Iterable[Segment]) -> tuple[dict[str, Inventory], int]:
    """Inventories per segment language, and how many segments had no phones (skipped)."""
    counts: dict[str, Counter[str]] = {}
    without_phones = 0
    for segment in segments:
        if not segment.phones:
            without_phones += 1
            continue
        language = segment.language or UNKNOWN_LANGUAGE
        counts.setdefault(language, Counter()).update(phone for phone in segment.phones if phone != WORD_BOUNDARY)
    return {language: Inventory(dict(count), language) for language, count in sorted(counts.items())}, without_phones


class PhoneMatch(NamedTuple):
    phone: str | None  # nearest known phone; None when the phone has no features and no exact match
    distance: float


@lru_cache(maxsize=1)
def _distance() -> panphon.distance.Distance:
    return panphon.distance.Distance()


def phone_distance(first: str, second: str) -> float:
    """Weighted articulatory feature distance between two phones (inf when either has no features)."""
    if first == second:
        return 0.0
    vector_one, vector_two = phone_vector(first), phone_vector(second)
    if vector_one is None or vector_two is None:
        return math.inf
    return float(_distance().weighted_substitution_cost(vector_one, vector_two))


def nearest_phones(phone: str, candidates: Iterable[str], k: int = 1) -> list[PhoneMatch]:
    """The k candidates nearest to `phone` by feature distance (exact match first, then by distance and symbol)."""
    scored = sorted((phone_distance(phone, candidate), candidate) for candidate in set(candidates))
    return [PhoneMatch(candidate, distance) for distance, candidate in scored[:k] if distance < math.inf]


def map_to_inventory(phones: Iterable[str], inventory: Inventory | Iterable[str]) -> dict[str, PhoneMatch]:
    """For each phone, its nearest phone in `inventory` and the distance (0 for phones already known)."""
    known = list(inventory.counts) if isinstance(inventory, Inventory) else list(inventory)
    mapping = {}
    for phone in dict.fromkeys(phones):
        if phone == WORD_BOUNDARY:
            continue
        matches = nearest_phones(phone, known, k=1)
        mapping[phone] = matches[0] if matches else PhoneMatch(None, math.inf)
    return mapping


@dataclass(frozen=True)
class SharedInventory:
    """The union of several languages' inventories; phones rarer than `min_count` map to a frequent neighbour."""

    by_language: Mapping[str, Inventory]
    min_count: int = 1
    mapping: Mapping[str, PhoneMatch] = field(default_factory=dict)  # rare phone -> kept phone

    @property
    def counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for inventory in self.by_language.values():
            total.update(inventory.counts)
        return dict(total)

    @property
    def phones(self) -> tuple[str, ...]:
        counts = self.counts
        kept = [phone for phone in counts if phone not in self.mapping]
        return tuple(sorted(kept, key=lambda phone: (-counts[phone], phone)))

    def apply(self, sequence: Sequence[str]) -> tuple[str, ...]:
        """A phone sequence with rare phones replaced by their mapped neighbours."""
        return tuple(self.mapping[phone].phone or phone if phone in self.mapping else phone for phone in sequence)


def shared_inventory(inventories: Mapping[str, Inventory] | Iterable[Inventory], min_count: int = 1) -> SharedInventory:
    """Union of the inventories; with `min_count` > 1, phones seen fewer times in total map to their nearest kept phone.

    A rare phone without articulatory features (or with no kept phone to go to) stays in the inventory.
    """
    if not isinstance(inventories, Mapping):
        inventories = {inventory.language: inventory for inventory in inventories}
    union = SharedInventory(by_language=dict(inventories), min_count=min_count)
    counts = union.counts
    rare = [phone for phone, count in counts.items() if count < min_count]
    frequent = [phone for phone, count in counts.items() if count >= min_count]
    mapping = {phone: match for phone, match in map_to_inventory(rare, frequent).items() if match.phone is not None}
    return SharedInventory(by_language=dict(inventories), min_count=min_count, mapping=mapping)


def format_inventory_table(shared: SharedInventory) -> str:
    """A plain-text table: phone, total count, count per language, and where rare phones were mapped."""
    languages = list(shared.by_language)
    counts = shared.counts
    header = ["phone", "total", *languages, "features", "mapped to"]
    rows = [header]
    for phone in sorted(counts, key=lambda phone: (-counts[phone], phone)):
        match = shared.mapping.get(phone)
        mapped = f"{match.phone} ({match.distance:.2f})" if match else ""
        per_language = [str(shared.by_language[language].counts.get(phone, 0)) for language in languages]
        has_features = "yes" if phone_vector(phone) is not None else "NO"
        rows.append([phone, str(counts[phone]), *per_language, has_features, mapped])
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"{len(shared.phones)} phones kept of {len(counts)} in {len(languages)} language(s)")
    return "\n".join(lines)
