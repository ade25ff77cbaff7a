"""Reading ELAN .eaf files with pympi-ling: transcription tiers, their times, and the linked audio.

Writing lives in `fieldasr.data.elan_write`.
"""
from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldasr.audio import AUDIO_EXTENSIONS
from fieldasr.data.eaf_text import check_readable, malformed_eaf_error
from fieldasr.data.media import FoundMedia, MediaLink, MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile, TierSelection, tidy_text
from fieldasr.errors import AnnotationError

# --- reading -------------------------------------------------------------------------------------

# expat's codes for "the document stopped early": no element found, unclosed token, partial character.
def _check_xml(path: Path) -> "ET.Element":
    """Refuse what is not a whole ELAN document, saying which of the usual accidents it is; return its root."""
    import xml.etree.ElementTree as ET

    data = path.read_bytes()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise malformed_eaf_error(path, data, error.code, *error.position) from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise AnnotationError(f"{path}: not an ELAN file (its XML starts with <{root.tag}>, not <ANNOTATION_DOCUMENT>). "
                              "Check that this is the .eaf you meant.")
    return root


XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{{{XSI}}}noNamespaceSchemaLocation"


def open_eaf(path: Path):
    """The file as a pympi Eaf: the one way fieldasr opens an .eaf for reading (the file is never changed)."""
    import pympi

    check_readable(path)
    root = _check_xml(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if SCHEMA_LOCATION in root.attrib:
                return pympi.Elan.Eaf(str(path))
            return _open_without_schema_location(path)
    except Exception as error:  # pympi raises bare Exception/KeyError on malformed files
        raise AnnotationError(f"{path}: cannot read this .eaf: a reference inside it is broken ({error}). "
                              "Open it in ELAN and save it again.") from error


def _open_without_schema_location(path: Path):
    """pympi requires the xsi:noNamespaceSchemaLocation that ELAN writes; files made by other tools may lack it.
    pympi reads a copy with it added (in the temporary folder); the user's file is left as it is."""
    import pympi

    data = path.read_bytes()
    start = data.index(b"<ANNOTATION_DOCUMENT") + len(b"<ANNOTATION_DOCUMENT")
    declaration = b"" if b"xmlns:xsi=" in data[start:data.index(b">", start)] else f' xmlns:xsi="{XSI}"'.encode()
    patched = data[:start] + declaration + b' xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd"' + data[start:]
    with tempfile.TemporaryDirectory(prefix="fieldasr-eaf-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(patched)
        return pympi.Elan.Eaf(str(copy))


def _is_audio(descriptor: Mapping[str, str]) -> bool:
    url = descriptor.get("RELATIVE_MEDIA_URL") or descriptor.get("MEDIA_URL", "")
    name = MediaLink(relative=url).name
    return descriptor.get("MIME_TYPE", "").startswith("audio") or Path(name).suffix.lower() in AUDIO_EXTENSIONS


def media_link(media_descriptors: Sequence[Mapping[str, str]]) -> MediaLink:
    """The first linked audio file (ELAN lists the primary medium first); an empty link when only video is linked."""
    for descriptor in media_descriptors:
        if _is_audio(descriptor):
            return MediaLink(absolute=descriptor.get("MEDIA_URL", ""), relative=descriptor.get("RELATIVE_MEDIA_URL", ""))
    return MediaLink()


def linked_audio(eaf_path: Path, media_descriptors: Sequence[Mapping[str, str]], search: MediaSearch | None = None) -> FoundMedia:
    """The audio file of an .eaf, looked for as `fieldasr.data.media` describes (links first, then by name)."""
    return (search or MediaSearch()).find(eaf_path, media_link(media_descriptors))


def _spread(chain: Sequence[str], times: dict[str, float | None]) -> None:
    """Give the unaligned slots of a chain of annotations evenly spaced times between their aligned neighbours."""
    known = [index for index, slot in enumerate(chain) if times.get(slot) is not None]
    for left, right in zip(known, known[1:]):
        begin, finish = times[chain[left]], times[chain[right]]
        for index in range(left + 1, right):
            times[chain[index]] = begin + (finish - begin) * (index - left) / (right - left)


def _slot_times(eaf) -> dict[str, float | None]:
    """Seconds for every time slot. Unaligned slots (Time_Subdivision tiers) are placed as ELAN shows them:
    evenly along their tier's chain of annotations, between the nearest aligned slots."""
    times: dict[str, float | None] = {slot: None if value is None else value / 1000 for slot, value in eaf.timeslots.items()}
    for aligned, _, _, _ in eaf.tiers.values():
        following = {start: end for start, end, _, _ in aligned.values()}
        for first in set(following) - set(following.values()):
            chain = [first]
            while chain[-1] in following and len(chain) <= len(following):
                chain.append(following[chain[-1]])
            _spread(chain, times)
    return times


def describe_tiers(eaf) -> str:
    lines = []
    for name, (_, _, attributes, _) in eaf.tiers.items():
        extras = [f"type {attributes.get('LINGUISTIC_TYPE_REF')!r}"]
        if attributes.get("PARTICIPANT"):
            extras.append(f"participant {attributes['PARTICIPANT']!r}")
        if attributes.get("PARENT_REF"):
            extras.append(f"parent {attributes['PARENT_REF']!r}")
        lines.append(f"{name!r} ({', '.join(extras)})")
    return "; ".join(lines) or "none"


def select_tiers(eaf, path: Path, selection: TierSelection) -> list[str]:
    """Names of the tiers matching `selection`; raises, listing the file's tiers, when none match."""
    if selection.is_empty and len(eaf.tiers) == 1:
        return list(eaf.tiers)
    chosen = []
    for name, (_, _, attributes, _) in eaf.tiers.items():
        if selection.is_empty:
            break
        if selection.names and name not in selection.names:
            continue
        if selection.linguistic_type is not None and attributes.get("LINGUISTIC_TYPE_REF") != selection.linguistic_type:
            continue
        if selection.participant is not None and attributes.get("PARTICIPANT") != selection.participant:
            continue
        chosen.append(name)
    if not chosen:
        asked = "no tier was chosen" if selection.is_empty else f"no tier has {selection.describe()}"
        raise AnnotationError(
            f"{path}: {asked}. Its tiers are: {describe_tiers(eaf)}. "
            "Choose with --tier NAME, --linguistic-type TYPE or --participant NAME."
        )
    return chosen


@dataclass(frozen=True)
class _Aligned:
    start_slot: str
    end_slot: str


def _annotation_index(eaf) -> dict[str, _Aligned | str]:
    """Annotation id -> its time slots (alignable) or the id it refers to (reference annotation)."""
    index: dict[str, _Aligned | str] = {}
    for aligned, references, _, _ in eaf.tiers.values():
        for annotation_id, (start_slot, end_slot, _, _) in aligned.items():
            index[annotation_id] = _Aligned(start_slot, end_slot)
        for annotation_id, (parent_id, _, _, _) in references.items():
            index[annotation_id] = parent_id
    return index


def _aligned_ancestor(annotation_id: str, index: Mapping[str, _Aligned | str]) -> _Aligned | None:
    seen = set()
    target = index.get(annotation_id)
    while isinstance(target, str) and target not in seen:
        seen.add(target)
        target = index.get(target)
    return target if isinstance(target, _Aligned) else None


def _ordered_children(references: Mapping[str, tuple]) -> dict[str, list[str]]:
    """Reference annotations grouped by parent, in PREVIOUS_ANNOTATION order (document order as fallback)."""
    groups: dict[str, list[str]] = {}
    for annotation_id, (parent_id, _, _, _) in references.items():
        groups.setdefault(parent_id, []).append(annotation_id)
    for parent_id, members in groups.items():
        following = {references[member][2]: member for member in members if references[member][2]}
        first = [member for member in members if not references[member][2] or references[member][2] not in members]
        if len(first) == 1:
            chain, current = [], first[0]
            while current is not None and len(chain) < len(members):
                chain.append(current)
                current = following.get(current)
            if len(chain) == len(members):
                groups[parent_id] = chain
    return groups


def _tier_annotations(eaf, path: Path, tier: str, language: str | None,
                      times: Mapping[str, float | None], index: Mapping[str, _Aligned | str]):
    aligned, references, attributes, _ = eaf.tiers[tier]
    speaker = attributes.get("PARTICIPANT") or None
    language = attributes.get("LANG_REF") or language
    slug = "_".join(tier.replace("/", "_").split())
    if aligned:
        items = [(annotation_id, [annotation_id], _Aligned(start, end), value) for annotation_id, (start, end, value, _) in aligned.items()]
    else:
        items = []
        for parent_id, children in _ordered_children(references).items():
            text = " ".join(tidy_text(references[child][1]) for child in children)
            items.append((children[0], children, _aligned_ancestor(parent_id, index), text))
    annotations, skipped = [], []
    for annotation_id, members, span, text in items:
        where = f"tier {tier!r} annotation {annotation_id}"
        start = None if span is None else times.get(span.start_slot)
        end = None if span is None else times.get(span.end_slot)
        if start is None or end is None:
            skipped.append(SkippedItem(str(path), where, "its time could not be worked out (unaligned time slots at the edge); align it in ELAN", "unaligned-time"))
            continue
        custom = {"tier": tier} if len(members) == 1 else {"tier": tier, "joined_annotations": len(members)}
        annotations.append(SourceAnnotation(start, end, tidy_text(text), f"{slug}-{annotation_id}", where, speaker, language, custom))
    return annotations, skipped


def read_eaf(path: str | Path, selection: TierSelection = TierSelection(), language: str | None = None,
             media: MediaSearch | None = MediaSearch()) -> SourceFile:
    """The chosen tiers of an .eaf and its audio (`media` None: the audio is not looked for, for `--text-only`).

    Alignable tiers give one annotation each; reference tiers (Symbolic_Association, Symbolic_Subdivision) take
    their times from the aligned ancestor, and the children of one parent are joined in order into one annotation.
    A tier's LANG_REF, when present, overrides `language`.
    """
    path = Path(path)
    eaf = open_eaf(path)
    tiers = select_tiers(eaf, path, selection)
    found = None if media is None else linked_audio(path, eaf.media_descriptors, media)
    annotations, skipped = [], []
    times, index = _slot_times(eaf), _annotation_index(eaf)
    for tier in tiers:
        tier_annotations, tier_skipped = _tier_annotations(eaf, path, tier, language, times, index)
        annotations.extend(tier_annotations)
        skipped.extend(tier_skipped)
    annotations.sort(key=lambda annotation: (annotation.start, annotation.end or 0.0))
    return SourceFile(source=path, media=None if found is None else found.path, annotations=tuple(annotations),
                      skipped=tuple(skipped), substitution=None if found is None else found.substitution)
