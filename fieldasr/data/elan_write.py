"""Writing ELAN .eaf files: tiers into an existing file, or a new file.

Writing into an existing file edits the XML text in place (located with expat's byte offsets) instead of
re-serialising it, so every byte outside the changed tiers, the new time slots, the fieldasr marks in the
HEADER and the `lastUsedAnnotationId` counter stays exactly as ELAN wrote it.

The fieldworker's tiers are never replaced unless named: `decide_tier_writes` is the one decision, used by the
pre-flight check (`plan_eaf_write`, before any audio is transcribed) and again by the writer. A tier counts as
fieldasr's only while its mark still matches it (`fieldasr.data.elan_provenance`). Before a change, the file
is kept as a numbered backup, byte for byte: `rec.eaf.bak`, then `rec.eaf.bak2`, `rec.eaf.bak3`, ... (the
first free name; a backup is never overwritten).

A tier may be written as a Symbolic_Association child of another tier written at the same time (`associations`,
e.g. a confidence per transcribed segment): one reference annotation per parent annotation, at the same times.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from fieldasr.data.eaf_text import EafText, Element, check_readable, scan_eaf
from fieldasr.data.elan_provenance import ANNOTATOR, PROPERTY_PREFIX, AudioIdentity, TierMark, TierSummary, summarise_tiers, tier_marks
from fieldasr.data.export import TimedText, checked_annotations
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_write_bytes, keep_backup, next_backup_path

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
LAST_USED_ANNOTATION_ID = "lastUsedAnnotationId"
ASSOCIATION_TYPE = "fieldasr-association"  # the linguistic type of tiers written as Symbolic_Association children
# Order of the elements after TIME_ORDER, fixed by the EAF 3.0 schema: where a new LINGUISTIC_TYPE or CONSTRAINT goes.
EAF_ELEMENT_ORDER = ("TIER", "LINGUISTIC_TYPE", "LOCALE", "LANGUAGE", "CONSTRAINT", "CONTROLLED_VOCABULARY", "LEXICON_REF",
                     "REF_LINK_SET", "EXTERNAL_REF")
CONSTRAINTS = {
    "Time_Subdivision": "Time subdivision of parent annotation's time interval, no time gaps allowed within this interval",
    "Symbolic_Subdivision": "Symbolic subdivision of a parent annotation. Annotations refering to the same parent are ordered",
    "Symbolic_Association": "1-1 association with a parent annotation",
    "Included_In": "Time alignable annotations within the parent annotation's time interval, gaps are allowed",
}
# The linguistic type of tiers fieldasr writes under a segmentation tier: time-aligned, inside the parent's spans.
INCLUDED_IN_TYPE = "fieldasr-included-in"


def _number(identifier: str) -> int:
    digits = "".join(character for character in identifier if character.isdigit())
    return int(digits) if digits else 0


def _attributes_xml(attributes: Mapping[str, str]) -> str:
    return " ".join(f'{name}="{escape(value, {chr(34): "&quot;"})}"' for name, value in attributes.items())


# One annotation of a written tier: (annotation id, start slot, end slot, text) of a time-aligned annotation, or
# (annotation id, None, the parent annotation's id, text) of a reference (Symbolic_Association) annotation.
AnnotationRow = tuple[str, str | None, str, str]


def _annotation_lines(row: AnnotationRow, indent: str) -> list[str]:
    annotation_id, start_slot, end_or_parent, text = row
    if start_slot is None:
        element, attributes = "REF_ANNOTATION", f'ANNOTATION_ID="{annotation_id}" ANNOTATION_REF="{end_or_parent}"'
    else:
        element, attributes = "ALIGNABLE_ANNOTATION", f'ANNOTATION_ID="{annotation_id}" TIME_SLOT_REF1="{start_slot}" TIME_SLOT_REF2="{end_or_parent}"'
    return [f"{indent * 2}<ANNOTATION>", f"{indent * 3}<{element} {attributes}>",
            f"{indent * 4}<ANNOTATION_VALUE>{escape(text)}</ANNOTATION_VALUE>", f"{indent * 3}</{element}>", f"{indent * 2}</ANNOTATION>"]


def _tier_xml(attributes: Mapping[str, str], annotations: Sequence[AnnotationRow], indent: str, newline: str) -> str:
    """A TIER element as ELAN 6 writes it; the first line carries no indentation (the caller places it)."""
    if not annotations:
        return f"<TIER {_attributes_xml(attributes)}/>"
    lines = [f"<TIER {_attributes_xml(attributes)}>"]
    for row in annotations:
        lines += _annotation_lines(row, indent)
    lines.append(f"{indent}</TIER>")
    return newline.join(lines)


def _check_associations(path: Path, timed: Mapping[str, Sequence[tuple[int, int, str]]], associations: Mapping[str, str]) -> None:
    """Each associated tier is written with its parent and has one annotation per parent annotation, at its times."""
    for child, parent in associations.items():
        if child not in timed or parent not in timed or parent in associations:
            raise AnnotationError(f"{path}: tier {child!r} is to be written as a dependent of {parent!r}, but the two are "
                                  "not both written here as a dependent and a top-level tier.")
        if [row[:2] for row in timed[child]] != [row[:2] for row in timed[parent]]:
            raise AnnotationError(f"{path}: tier {child!r} must have one annotation per annotation of {parent!r}, at the "
                                  "same times, to be written as its Symbolic_Association dependent.")


def _milliseconds(annotations: Sequence[TimedText], where: str) -> list[tuple[int, int, str]]:
    """Annotations in ELAN's integer milliseconds; one tier cannot hold overlapping annotations."""
    result: list[tuple[int, int, str]] = []
    for start, end, text in checked_annotations(annotations, where):
        start_ms, end_ms = round(start * 1000), round(end * 1000)
        if end_ms <= start_ms:
            raise AnnotationError(f"{where}: annotation {text!r} at {start:.4f} s is shorter than ELAN's 1 ms resolution.")
        if result and start_ms < result[-1][1]:
            raise AnnotationError(
                f"{where}: annotations {result[-1][2]!r} and {text!r} overlap ({start:.3f} s < {result[-1][1] / 1000:.3f} s); "
                "one ELAN tier cannot hold overlapping annotations. Put them on separate tiers."
            )
        result.append((start_ms, end_ms, text))
    return result


def _check_writable(path: Path) -> None:
    check_readable(path)
    writable_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not os.access(path, os.W_OK) or not path.stat().st_mode & writable_bits:
        raise AnnotationError(f"{path}: the file is read-only, so nothing was written and it is untouched. Make it writable (chmod u+w) and run again.")
    if not os.access(path.parent, os.W_OK):
        raise AnnotationError(f"{path}: its folder is not writable, so the file cannot be replaced safely. Copy it to a writable folder.")


# --- what may be written: one decision for the pre-flight check and the writer -------------------

@dataclass(frozen=True)
class TierWrite:
    name: str
    action: str  # "add" (new tier), "replace", or "done" (fieldasr's unedited output of the same recording)


@dataclass(frozen=True)
class EafWritePlan:
    path: Path
    tiers: tuple[TierWrite, ...]

    @property
    def already_done(self) -> bool:
        return all(tier.action == "done" for tier in self.tiers)


def _free_tier_name(main: str, taken: Collection[str]) -> str:
    """A suggestion for --tier whose tier and word tier are both free."""
    for number in range(1, 100):
        candidate = f"{main}-asr" if number == 1 else f"{main}-asr{number}"
        if candidate not in taken and f"{candidate}-words" not in taken:
            return candidate
    return f"{main}-asr-new"


def _whose(summary: TierSummary) -> str:
    count = f"{summary.annotations} annotation{'s' if summary.annotations != 1 else ''}"
    why = "edited since fieldasr wrote it" if summary.provenance == "edited" else "not written by fieldasr"
    return f"tier {summary.name!r} ({count}, {why})"


def _refuse_hierarchy(path: Path, summary: TierSummary, suggestion: str) -> AnnotationError:
    return AnnotationError(
        f"{path}: tier {summary.name!r} is part of a tier hierarchy (parent {summary.parent or 'none'}, dependent tiers "
        f"{', '.join(summary.children) or 'none'}); replacing it would break the dependent annotations, so nothing was "
        f"written. Write to a new tier instead, e.g. --tier {suggestion}."
    )


def _stays_in_place(summary: TierSummary, parent: str | None) -> bool:
    """A tier in a hierarchy can be replaced by a tier under the same parent, while nothing depends on it."""
    return parent is not None and summary.parent == parent and not summary.children


def _whole_hierarchy_written(summary: TierSummary, names: Collection[str]) -> bool:
    """Replacing a tier in a hierarchy breaks nothing when its parent and all its dependents are replaced with it."""
    return (not summary.parent or summary.parent in names) and set(summary.children) <= set(names)


def decide_tier_writes(document: EafText, names: Sequence[str], audio: AudioIdentity | None, *,
                       replace: Collection[str] = (), overwrite: bool = False, parents: Mapping[str, str] = {}) -> EafWritePlan:
    """What writing tiers `names` (the first is the main tier) into `document` would do; raises, changing nothing,
    when a tier that is not fieldasr's unedited output would be replaced without being named in `replace`.
    `parents` names the parent tier of tiers written as dependent tiers."""
    path = document.path
    unknown = sorted(set(replace) - set(names))
    if unknown:
        raise AnnotationError(f"{path}: --replace-tier {', '.join(unknown)} is not a tier this run writes (it writes "
                              f"{', '.join(names)}). Name the tier given with --tier, or its word tier.")
    summaries = {summary.name: summary for summary in summarise_tiers(document)}
    suggestion = _free_tier_name(names[0], summaries)
    writes, refused = [], []
    for name in names:
        summary = summaries.get(name)
        if summary is None:
            writes.append(TierWrite(name, "add"))
        elif summary.in_hierarchy and not (_stays_in_place(summary, parents.get(name)) or _whole_hierarchy_written(summary, names)):
            raise _refuse_hierarchy(path, summary, suggestion)
        elif summary.is_fieldasr_output:
            same_audio = audio is not None and summary.mark.audio is not None and summary.mark.audio.sha256 == audio.sha256
            writes.append(TierWrite(name, "done" if same_audio and not overwrite else "replace"))
        elif name in replace:
            writes.append(TierWrite(name, "replace"))
        else:
            refused.append(summary)
    if refused:
        verb = "holds" if len(refused) == 1 else "hold"
        raise AnnotationError(
            f"{path}: {' and '.join(map(_whose, refused))} {verb} your own annotations, so nothing was written. Write to a "
            f"free tier instead (--tier {suggestion}), or replace on purpose with "
            f"{' '.join(f'--replace-tier {summary.name}' for summary in refused)} (the file as it is now is kept as "
            f"{next_backup_path(path).name})."
        )
    return EafWritePlan(path, tuple(writes))


def plan_eaf_write(eaf_path: str | Path, names: Sequence[str], audio: AudioIdentity | None, *,
                   replace: Collection[str] = (), overwrite: bool = False, parents: Mapping[str, str] = {}) -> EafWritePlan:
    """The pre-flight check of writing tiers into an existing .eaf: raises before any work when the file is
    missing, read-only or broken, or when a fieldworker's tier would be replaced without being named."""
    path = Path(eaf_path)
    _check_writable(path)
    return decide_tier_writes(EafText.read(path), names, audio, replace=replace, overwrite=overwrite, parents=parents)


def _linguistic_type_edit(document: EafText, linguistic_type: str, constraint: str | None = None) -> None:
    """Check that `linguistic_type` fits the tiers written with it: time-alignable top-level (no constraint),
    time-alignable under a parent (Included_In) or a Symbolic_Association dependent; add it, and the CONSTRAINT it
    refers to, if the file lacks them."""
    alignable = constraint != "Symbolic_Association"
    types = {element.attributes.get("LINGUISTIC_TYPE_ID"): element for element in document.top("LINGUISTIC_TYPE")}
    existing = types.get(linguistic_type)
    if existing is not None:
        if existing.attributes.get("CONSTRAINTS") != constraint or \
                (alignable and existing.attributes.get("TIME_ALIGNABLE", "true") != "true"):
            wanted = f"of constraint {constraint}" if constraint else "time-alignable without constraints"
            raise AnnotationError(
                f"{document.path}: linguistic type {linguistic_type!r} has constraints "
                f"{existing.attributes.get('CONSTRAINTS')!r}, so the tier written with it cannot use it. In ELAN "
                f"(Type > Change Linguistic Type), make it {wanted}, or rename it and run again."
            )
        if constraint:
            _constraint_edit(document, constraint)
        return
    if constraint:  # registered before the type: an insert at the same offset lands after it (EafText.result)
        _constraint_edit(document, constraint)
    constraint_attribute = f" CONSTRAINTS={quoteattr(constraint)}" if constraint else ""
    new_type = (f'<LINGUISTIC_TYPE{constraint_attribute} GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID={quoteattr(linguistic_type)} '
                f'TIME_ALIGNABLE="{"true" if alignable else "false"}"/>')
    if types:
        document.insert(list(types.values())[-1].end, document.newline + document.indent + new_type)
        return
    following = _top_elements(document, _names_after("LINGUISTIC_TYPE"))
    if following:
        document.insert(min(element.start for element in following), new_type + document.newline + document.indent)
    else:
        document.insert(document.root.inner_end, document.indent + new_type + document.newline)


def _names_after(name: str) -> tuple[str, ...]:
    return EAF_ELEMENT_ORDER[EAF_ELEMENT_ORDER.index(name) + 1:]


def _top_elements(document: EafText, names: Sequence[str]) -> list[Element]:
    return [element for name in names for element in document.top(name)]


def _constraint_edit(document: EafText, stereotype: str) -> None:
    """Declare the CONSTRAINT `stereotype` if the file lacks it (ELAN writes all four; other tools may not)."""
    constraints = document.top("CONSTRAINT")
    if any(element.attributes.get("STEREOTYPE") == stereotype for element in constraints):
        return
    new_constraint = f"<CONSTRAINT DESCRIPTION={quoteattr(CONSTRAINTS[stereotype])} STEREOTYPE={quoteattr(stereotype)}/>"
    before = constraints or _top_elements(document, EAF_ELEMENT_ORDER[1:EAF_ELEMENT_ORDER.index("CONSTRAINT")])
    following = _top_elements(document, _names_after("CONSTRAINT"))
    if before:
        document.insert(max(element.end for element in before), document.newline + document.indent + new_constraint)
    elif following:
        document.insert(min(element.start for element in following), new_constraint + document.newline + document.indent)
    else:
        document.insert(document.root.inner_end, document.indent + new_constraint + document.newline)


def _time_order_edit(document: EafText, slots: Sequence[tuple[str, int]], unused: set[str]) -> None:
    """Drop the replaced tier's now unused time slots and append the new ones to TIME_ORDER."""
    time_order = document.top("TIME_ORDER")[0]
    existing = document.within(time_order, "TIME_SLOT")
    for element in existing:
        if element.attributes.get("TIME_SLOT_ID") in unused:
            document.remove_line(element)
    indent, newline = document.indent, document.newline
    new_lines = "".join(f'{newline}{indent * 2}<TIME_SLOT TIME_SLOT_ID="{slot}" TIME_VALUE="{value}"/>' for slot, value in slots)
    if not new_lines:
        return
    if existing:
        document.insert(existing[-1].end, new_lines)
    elif time_order.inner_start == time_order.end:  # <TIME_ORDER/>
        document.replace(time_order, f"<TIME_ORDER>{new_lines}{newline}{indent}</TIME_ORDER>")
    else:
        document.edits.append((time_order.inner_start, time_order.inner_end, f"{new_lines}{newline}{indent}".encode("utf-8")))


def _slots_used_outside(document: EafText, tiers: Sequence[Element]) -> set[str]:
    used = set()
    for element in document.elements:
        if element.name == "ALIGNABLE_ANNOTATION" and not any(tier.start < element.start < tier.end for tier in tiers):
            used.update((element.attributes.get("TIME_SLOT_REF1"), element.attributes.get("TIME_SLOT_REF2")))
    return used


def _property_xml(name: str, text: str) -> str:
    return f"<PROPERTY NAME={quoteattr(name)}>{escape(text)}</PROPERTY>"


def _marks_edit(document: EafText, marks: Mapping[str, TierMark]) -> None:
    """Record each written tier's mark in a header PROPERTY (replacing a stale one of the same tier)."""
    existing = tier_marks(document)
    new_lines = ""
    for name, mark in marks.items():
        if name in existing:  # a stale mark (e.g. of a tier deleted in ELAN) is replaced whole
            document.replace(existing[name][0], _property_xml(PROPERTY_PREFIX + name, mark.to_text()))
        else:
            new_lines += document.newline + document.indent * 2 + _property_xml(PROPERTY_PREFIX + name, mark.to_text())
    headers = document.top("HEADER")
    if not new_lines:
        return
    if not headers:  # files written by other tools may lack it; the schema wants it first, before TIME_ORDER
        header = f'<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">{new_lines}{document.newline}{document.indent}</HEADER>'
        document.insert(document.top("TIME_ORDER")[0].start, header + document.newline + document.indent)
        return
    children = [element for element in document.elements if element.depth == 2 and headers[0].start < element.start < headers[0].end]
    if children:  # PROPERTY comes last in the HEADER (EAF 3.0 schema), so appending keeps the order valid
        document.insert(children[-1].end, new_lines)
    elif headers[0].inner_start == headers[0].end:  # <HEADER .../>
        opening = document.data[headers[0].start:headers[0].end].decode("utf-8").rstrip("/>").rstrip()
        document.replace(headers[0], f"{opening}>{new_lines}{document.newline}{document.indent}</HEADER>")
    else:
        document.replace_content(headers[0], f"{new_lines}{document.newline}{document.indent}")


def _numbered_rows(document: EafText, timed: Mapping[str, Sequence[tuple[int, int, str]]], last_used: Sequence[Element],
                   associations: Mapping[str, str] = {}):
    """Each tier's `AnnotationRow`s with ids above every id in use (and above the lastUsedAnnotationId counter), the
    new (slot, ms) pairs, and the last annotation number given; an associated tier refers to its parent's rows."""
    slot_numbers = [_number(element.attributes.get("TIME_SLOT_ID", "")) for element in document.elements if element.name == "TIME_SLOT"]
    annotation_numbers = [_number(element.attributes.get("ANNOTATION_ID", "")) for element in document.elements
                          if element.name in ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION")]
    next_slot = max(slot_numbers, default=0) + 1
    next_annotation = max(annotation_numbers + [_number(element.text) for element in last_used], default=0) + 1
    return _number_rows(timed, associations, next_slot, next_annotation)


def _number_rows(timed: Mapping[str, Sequence[tuple[int, int, str]]], associations: Mapping[str, str], next_slot: int,
                 next_annotation: int) -> tuple[dict[str, list[AnnotationRow]], list[tuple[str, int]], int]:
    rows: dict[str, list[AnnotationRow]] = {}
    slots: list[tuple[str, int]] = []
    for name in [name for name in timed if name not in associations] + [name for name in timed if name in associations]:
        rows[name] = []
        parent_rows = rows.get(associations.get(name, ""))
        for index, (start_ms, end_ms, text) in enumerate(timed[name]):
            if parent_rows is not None:
                rows[name].append((f"a{next_annotation}", None, parent_rows[index][0], text))
            else:
                start_slot, end_slot = f"ts{next_slot}", f"ts{next_slot + 1}"
                slots += [(start_slot, start_ms), (end_slot, end_ms)]
                rows[name].append((f"a{next_annotation}", start_slot, end_slot, text))
                next_slot += 2
            next_annotation += 1
    return {name: rows[name] for name in timed}, slots, next_annotation - 1


def write_tiers_into_eaf(
    eaf_path: str | Path,
    tiers: Mapping[str, Sequence[TimedText]],
    *,
    audio: AudioIdentity | None = None,
    replace: Collection[str] = (),
    linguistic_type: str = "default-lt",
    participant: str | None = None,
    backup: bool = True,
    parents: Mapping[str, str] = {},
    participants: Mapping[str, str] = {},
    associations: Mapping[str, str] = {},
) -> Path:
    """Add tiers to an existing .eaf, or replace them; every other byte is kept; one atomic write for all.

    A tier that exists is replaced only when it is fieldasr's unedited output or is named in `replace`
    (`decide_tier_writes`), and only if it is a top-level tier without dependent tiers, a dependent tier of the
    same parent given in `parents`, or if its whole hierarchy is written here. A replaced tier keeps its attributes
    (linguistic type, language) except PARTICIPANT when given (`participant` for all, `participants` per tier); a
    tier in `parents` becomes a dependent tier of the named tier with linguistic type INCLUDED_IN_TYPE (constraint
    Included_In: its annotations must lie inside the parent's); `associations` maps a tier to the tier it is written
    as a Symbolic_Association dependent of. Every written tier gets the fieldasr mark
    (`fieldasr.data.elan_provenance`). The file before the change is kept as a numbered backup (`rec.eaf.bak`,
    `rec.eaf.bak2`, ...; never overwritten) when `backup`.
    """
    path = Path(eaf_path)
    _check_writable(path)
    timed = {name: _milliseconds(annotations, f"{path} tier {name!r}") for name, annotations in tiers.items()}
    _check_associations(path, timed, associations)
    original = path.read_bytes()
    document = EafText(path, original)
    decide_tier_writes(document, list(tiers), audio, replace=replace, overwrite=True, parents=parents)
    existing = {tier.attributes.get("TIER_ID"): tier for tier in document.top("TIER")}
    last_used = [element for element in document.header_properties() if element.attributes.get("NAME") == LAST_USED_ANNOTATION_ID]
    rows, slots, last_annotation = _numbered_rows(document, timed, last_used, associations)
    new_tiers, types = "", set()
    for name, tier_rows in rows.items():
        old = existing.get(name)
        attributes = dict(old.attributes) if old is not None else {"LINGUISTIC_TYPE_REF": linguistic_type, "TIER_ID": name}
        attributes = {**attributes, "ANNOTATOR": ANNOTATOR, **({"PARTICIPANT": participant} if participant else {})}
        if participants.get(name):
            attributes["PARTICIPANT"] = participants[name]
        if name in associations:
            attributes.update(LINGUISTIC_TYPE_REF=ASSOCIATION_TYPE, PARENT_REF=associations[name])
        elif name in parents:
            attributes.update(PARENT_REF=parents[name], LINGUISTIC_TYPE_REF=INCLUDED_IN_TYPE)
        else:
            attributes.pop("PARENT_REF", None)
        attributes = dict(sorted(attributes.items()))  # ELAN writes attributes in alphabetical order
        types.add((attributes["LINGUISTIC_TYPE_REF"], "Symbolic_Association" if name in associations
                   else "Included_In" if name in parents else None))
        tier_xml = _tier_xml(attributes, tier_rows, document.indent, document.newline)
        if old is not None:
            document.replace(old, tier_xml)
        else:
            new_tiers += document.newline + document.indent + tier_xml
    for name, constraint in sorted(types, key=lambda entry: (entry[0], entry[1] or "")):
        _linguistic_type_edit(document, name, constraint)
    if new_tiers:
        tier_elements = document.top("TIER")
        document.insert((tier_elements[-1] if tier_elements else document.top("TIME_ORDER")[0]).end, new_tiers)
    replaced = [existing[name] for name in timed if name in existing]
    old_slots = {element.attributes.get(key) for tier in replaced for element in document.within(tier, "ALIGNABLE_ANNOTATION")
                 for key in ("TIME_SLOT_REF1", "TIME_SLOT_REF2")}
    _time_order_edit(document, slots, old_slots - _slots_used_outside(document, replaced))
    _marks_edit(document, {name: TierMark.of(annotations, audio) for name, annotations in timed.items()})
    if last_used and slots:
        document.replace_content(last_used[0], str(last_annotation))
    new_data = document.result()
    scan_eaf(new_data, path)  # never replace a good file with a broken one
    if backup:
        keep_backup(path, original)
    return atomic_write_bytes(path, new_data, like=path)


def write_tier_into_eaf(eaf_path: str | Path, tier_name: str, annotations: Sequence[TimedText], *,
                        replace: bool = False, audio: AudioIdentity | None = None, linguistic_type: str = "default-lt",
                        participant: str | None = None, backup: bool = True) -> Path:
    """One tier: `write_tiers_into_eaf`; `replace` allows replacing a tier that is not fieldasr's unedited output."""
    return write_tiers_into_eaf(eaf_path, {tier_name: annotations}, audio=audio, replace={tier_name} if replace else (),
                                linguistic_type=linguistic_type, participant=participant, backup=backup)


def _mime_type(media_path: Path) -> str:
    return "audio/x-wav" if media_path.suffix.lower() == ".wav" else "audio/*"


def write_new_eaf(
    eaf_path: str | Path,
    media_path: str | Path,
    tiers: Mapping[str, Sequence[TimedText]],
    *,
    overwrite: bool = False,
    audio: AudioIdentity | None = None,
    associations: Mapping[str, str] = {},
) -> Path:
    """A new ELAN 6 style .eaf linking `media_path` by a relative URL (and an absolute file:// URL), one tier per
    entry, each with the fieldasr mark (`audio` is the media's identity, computed when not given); `associations`
    maps a tier to the tier it is a Symbolic_Association dependent of."""
    eaf_path, media_path = Path(eaf_path), Path(media_path)
    if eaf_path.exists() and not overwrite:
        raise AnnotationError(f"{eaf_path}: already exists, and a new file would replace it. Add a tier to it with "
                              f"--into {eaf_path.name} instead, or choose another output folder.")
    audio = audio if audio is not None else AudioIdentity.of(media_path)
    relative = Path(os.path.relpath(media_path.resolve(), eaf_path.resolve().parent)).as_posix()
    relative_url = relative if relative.startswith("../") else f"./{relative}"
    indent, newline = "    ", "\n"
    timed = {name: _milliseconds(annotations, f"{eaf_path} tier {name!r}") for name, annotations in tiers.items()}
    _check_associations(eaf_path, timed, associations)
    rows, slots, last_annotation = _number_rows(timed, associations, 1, 1)
    slot_lines = [f'{indent * 2}<TIME_SLOT TIME_SLOT_ID="{slot}" TIME_VALUE="{value}"/>' for slot, value in slots]
    mark_lines = [indent * 2 + _property_xml(PROPERTY_PREFIX + name, TierMark.of(timed[name], audio).to_text()) for name in tiers]
    tier_blocks = []
    for tier_name, tier_rows in rows.items():
        attributes = {"ANNOTATOR": ANNOTATOR, "LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": tier_name}
        if tier_name in associations:
            attributes.update(LINGUISTIC_TYPE_REF=ASSOCIATION_TYPE, PARENT_REF=associations[tier_name])
        tier_blocks.append(indent + _tier_xml(dict(sorted(attributes.items())), tier_rows, indent, newline))
    date = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    media = {"MEDIA_URL": media_path.resolve().as_uri(), "MIME_TYPE": _mime_type(media_path), "RELATIVE_MEDIA_URL": relative_url}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ANNOTATION_DOCUMENT AUTHOR="fieldasr" DATE="{date}" FORMAT="3.0" VERSION="3.0" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{EAF_SCHEMA}">',
        f'{indent}<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">',
        f"{indent * 2}<MEDIA_DESCRIPTOR {_attributes_xml(media)}/>",
        f'{indent * 2}<PROPERTY NAME="{LAST_USED_ANNOTATION_ID}">{last_annotation}</PROPERTY>',
        *mark_lines,
        f"{indent}</HEADER>",
        *([f"{indent}<TIME_ORDER>", *slot_lines, f"{indent}</TIME_ORDER>"] if slot_lines else [f"{indent}<TIME_ORDER/>"]),
        *tier_blocks,
        f'{indent}<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt" TIME_ALIGNABLE="true"/>',
        *([f'{indent}<LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false" '
           f'LINGUISTIC_TYPE_ID="{ASSOCIATION_TYPE}" TIME_ALIGNABLE="false"/>'] if associations else []),
        *(f'{indent}<CONSTRAINT DESCRIPTION={quoteattr(description)} STEREOTYPE="{name}"/>' for name, description in CONSTRAINTS.items()),
        "</ANNOTATION_DOCUMENT>",
    ]
    return atomic_write_bytes(eaf_path, (newline.join(lines) + newline).encode("utf-8"))
