"""G2P over segment manifests: fill in the segments' phones, and count the phone inventories they hold."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data import read_segments, write_manifest
from fieldasr.g2p.inventory import Inventory, SharedInventory, inventories_from_segments, shared_inventory
from fieldasr.g2p.pipeline import G2P, G2PReport
from fieldasr.language_codes import same_language


@dataclass(frozen=True)
class ManifestPhones:
    """What `fill_manifest_phones` wrote."""

    output: Path
    written: int  # segments in the output
    texts: tuple[str, ...]  # the texts given phones, in order
    other_language: int  # of those, labelled with another language than the spec's
    language: str  # the spec's
    report: G2PReport

    def summary(self) -> str:
        other = (f"; {self.other_language} are labelled with another language than {self.language!r} (ISO 639-1 and "
                 f"639-3 codes of one language count as the same)") if self.other_language else ""
        return (f"{self.output}: {self.written} segments written, {len(self.texts)} with phones, "
                f"{self.written - len(self.texts)} without text left unchanged{other}.")


def manifest_texts(manifest: Path) -> list[str]:
    """The non-empty texts of a segment manifest, in order (for a lexicon of its words)."""
    return [segment.text for segment in read_segments(manifest) if (segment.text or "").strip()]  # type: ignore[misc]


def fill_manifest_phones(g2p: G2P, manifest: Path, output: Path, word_boundaries: bool = False, strict: bool = False) -> ManifestPhones:
    """The segments of `manifest` written to `output`, each one with text given the phones of `g2p`."""
    segments = list(read_segments(manifest))
    with_text = [index for index, segment in enumerate(segments) if (segment.text or "").strip()]
    texts = [segments[index].text or "" for index in with_text]
    result = g2p.phonemize(texts, word_boundaries=word_boundaries, strict=strict)
    for index, phones in zip(with_text, result.phones):
        segments[index] = segments[index].with_(phones=phones)
    language = g2p.spec.language
    labelled = [segments[index].language for index in with_text]
    other_language = sum(1 for code in labelled if code is not None and not same_language(code, language))
    written = write_manifest(output, segments)
    return ManifestPhones(output, written, tuple(texts), other_language, language, result.report)


@dataclass(frozen=True)
class ManifestInventory:
    shared: SharedInventory
    segments_without_phones: int  # not counted


def manifest_inventory(manifests: Sequence[Path], min_count: int = 1) -> ManifestInventory:
    """The phones of segment manifests by language, and the inventory they share (phones seen fewer than
    `min_count` times mapped to their nearest frequent phone)."""
    counts: dict[str, Counter[str]] = {}
    skipped = 0
    for manifest in manifests:
        found, without_phones = inventories_from_segments(read_segments(manifest))
        skipped += without_phones
        for language, language_inventory in found.items():
            counts.setdefault(language, Counter()).update(language_inventory.counts)
    inventories = {language: Inventory(dict(count), language) for language, count in sorted(counts.items())}
    return ManifestInventory(shared_inventory(inventories, min_count=min_count), skipped)
