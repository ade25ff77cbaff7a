"""Word/gloss pairs from ELAN files: a bilingual dictionary for the LM transfer (`fieldasr transfer glossary`).

The gloss tier must be a child of the word tier: Symbolic_Association (one reference annotation per word) or
Included_In (time-aligned inside the word). Each word with exactly one non-empty gloss gives the pair
(gloss, word), i.e. (source language, target language) in the order `fieldasr.transfer.dictionary` reads. Words
with no gloss, or with several (a morpheme-by-morpheme gloss tier), are counted, not paired. The .eaf files are only
read (pympi), never written.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.elan import describe_tiers, open_eaf
from fieldasr.data.source import tidy_text
from fieldasr.errors import AnnotationError
from fieldasr.files import OutputExistsError, atomic_write_text

PAIRED_CONSTRAINTS = ("Symbolic_Association", "Included_In")


@dataclass(frozen=True)
class Glossary:
    pairs: tuple[tuple[str, str], ...]  # (gloss, word), first occurrence order, no repeats
    words: int  # non-empty word annotations read
    unglossed: int  # words without a non-empty gloss
    several_glosses: int  # words with more than one gloss annotation
    repeated: int  # pairs seen again (counted once in `pairs`)
    gloss_tier: str
    word_tier: str
    sources: tuple[Path, ...]  # the .eaf files read


def _check_tiers(eaf, path: Path, gloss_tier: str, word_tier: str) -> None:
    for tier in (word_tier, gloss_tier):
        if tier not in eaf.tiers:
            raise AnnotationError(f"{path}: no tier {tier!r}. Its tiers are: {describe_tiers(eaf)}.")
    attributes = eaf.tiers[gloss_tier][2]
    if attributes.get("PARENT_REF") != word_tier:
        raise AnnotationError(
            f"{path}: tier {gloss_tier!r} is not a child of {word_tier!r} (its parent: "
            f"{attributes.get('PARENT_REF') or 'none'}). Give the word tier the glosses depend on as --parent-tier.")
    constraint = eaf.linguistic_types.get(attributes.get("LINGUISTIC_TYPE_REF"), {}).get("CONSTRAINTS")
    if constraint not in PAIRED_CONSTRAINTS:
        raise AnnotationError(
            f"{path}: tier {gloss_tier!r} has the constraint {constraint!r}; word/gloss pairs need a "
            f"{' or '.join(PAIRED_CONSTRAINTS)} gloss tier (one gloss per word).")


def _words(eaf, word_tier: str) -> dict[str, str]:
    aligned, references, _, _ = eaf.tiers[word_tier]
    words = {annotation_id: value for annotation_id, (_, _, value, _) in aligned.items()}
    words.update({annotation_id: value for annotation_id, (_, value, _, _) in references.items()})
    return {annotation_id: tidy_text(value) for annotation_id, value in words.items()}


def _glosses_by_word(eaf, gloss_tier: str, word_tier: str) -> dict[str, list[str]]:
    """Word annotation id → the glosses under it: by reference (Symbolic_Association) or by time (Included_In)."""
    aligned, references, _, _ = eaf.tiers[gloss_tier]
    glosses: dict[str, list[str]] = {}
    for parent_id, value, _, _ in references.values():
        glosses.setdefault(parent_id, []).append(tidy_text(value))
    word_spans = {annotation_id: (eaf.timeslots[start], eaf.timeslots[end])
                  for annotation_id, (start, end, _, _) in eaf.tiers[word_tier][0].items()}
    for start_slot, end_slot, value, _ in aligned.values():
        start, end = eaf.timeslots[start_slot], eaf.timeslots[end_slot]
        for word_id, (word_start, word_end) in word_spans.items():
            if None not in (start, end, word_start, word_end) and word_start <= start and end <= word_end:
                glosses.setdefault(word_id, []).append(tidy_text(value))
                break
    return glosses


def read_glossary(paths: Sequence[str | Path], gloss_tier: str, word_tier: str) -> Glossary:
    """The (gloss, word) pairs of `gloss_tier` under `word_tier` in each .eaf of `paths`."""
    pairs: dict[tuple[str, str], None] = {}
    words = unglossed = several = repeated = 0
    for path in map(Path, paths):
        eaf = open_eaf(path)
        _check_tiers(eaf, path, gloss_tier, word_tier)
        glosses = _glosses_by_word(eaf, gloss_tier, word_tier)
        for word_id, word in _words(eaf, word_tier).items():
            if not word:
                continue
            words += 1
            found = [gloss for gloss in glosses.get(word_id, []) if gloss]
            if len(found) > 1:
                several += 1
            elif not found:
                unglossed += 1
            elif (found[0], word) in pairs:
                repeated += 1
            else:
                pairs[(found[0], word)] = None
    return Glossary(tuple(pairs), words, unglossed, several, repeated, gloss_tier, word_tier, tuple(map(Path, paths)))


def write_glossary(glossary: Glossary, output: str | Path, overwrite: bool = False) -> Path:
    """`gloss<TAB>word` lines under a '#' header saying where they came from; an existing file needs `overwrite`,
    and an .eaf the glossary was read from is never written over."""
    output = Path(output)
    if any(output.resolve() == source.resolve() for source in glossary.sources):
        raise OutputExistsError(f"{output}: is one of the ELAN files read; nothing was written. Give another output file.")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output}: already exists; nothing was written. Choose another file or pass "
                                "--overwrite to replace it.")
    if not glossary.pairs:
        raise AnnotationError(f"no word of tier {glossary.word_tier!r} has exactly one non-empty gloss in tier "
                              f"{glossary.gloss_tier!r} ({glossary.words} words, {glossary.several_glosses} with several "
                              "glosses); nothing was written. Check the tier names.")
    names = ", ".join(source.name for source in glossary.sources)
    lines = [f"# glosses of tier {glossary.gloss_tier!r} (source) and words of tier {glossary.word_tier!r} (target) "
             f"from {names}", "# source (gloss)\ttarget (word)"]
    lines += [f"{gloss}\t{word}" for gloss, word in glossary.pairs]
    return atomic_write_text(output, "\n".join(lines) + "\n")
