"""Writing ELAN .eaf files: a tier into an existing file, or a new file.

Writing into an existing file edits the XML text in place (located with expat's byte offsets) instead of
re-serialising it, so every byte outside the changed tier, the new time slots and the `lastUsedAnnotationId`
counter stays exactly as ELAN wrote it.
"""
from __future__ import annotations

import os
import shutil
import stat
import xml.parsers.expat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from fieldasr.data.export import TimedText, checked_annotations
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_write_bytes

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
LAST_USED_ANNOTATION_ID = "lastUsedAnnotationId"
# Element order fixed by the EAF 3.0 schema; a new LINGUISTIC_TYPE goes before the first of these.
AFTER_LINGUISTIC_TYPES = ("LOCALE", "LANGUAGE", "CONSTRAINT", "CONTROLLED_VOCABULARY", "LEXICON_REF", "EXTERNAL_REF")
CONSTRAINTS = {
    "Time_Subdivision": "Time subdivision of parent annotation's time interval, no time gaps allowed within this interval",
    "Symbolic_Subdivision": "Symbolic subdivision of a parent annotation. Annotations refering to the same parent are ordered",
    "Symbolic_Association": "1-1 association with a parent annotation",
    "Included_In": "Time alignable annotations within the parent annotation's time interval, gaps are allowed",
}


@dataclass
class _Element:
    """Byte span of one XML element: [start, end) is the whole element, [inner_start, inner_end) its content."""

    name: str
    attributes: dict[str, str]
    start: int
    inner_start: int
    depth: int
    end: int = -1
    inner_end: int = -1
    text: str = ""


def _tag_end(data: bytes, start: int) -> int:
    """Index just past the '>' closing the tag that begins at `start` ('>' may appear inside quoted values)."""
    quote = None
    for index in range(start, len(data)):
        byte = data[index:index + 1]
        if quote is not None:
            quote = None if byte == quote else quote
        elif byte in (b'"', b"'"):
            quote = byte
        elif byte == b">":
            return index + 1
    raise AnnotationError("unterminated XML tag")


def _scan(data: bytes, path: Path) -> list[_Element]:
    parser = xml.parsers.expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    elements: list[_Element] = []
    stack: list[_Element] = []

    def on_start(name: str, attributes: list[str]) -> None:
        start = parser.CurrentByteIndex
        element = _Element(name, dict(zip(attributes[::2], attributes[1::2])), start, _tag_end(data, start), len(stack))
        stack.append(element)
        elements.append(element)

    def on_end(name: str) -> None:
        element = stack.pop()
        position = parser.CurrentByteIndex
        if data.startswith(b"</", position):
            element.inner_end, element.end = position, _tag_end(data, position)
        else:  # an empty-element tag <X .../>
            element.inner_end = element.end = element.inner_start

    def on_text(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = on_start, on_end, on_text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        raise AnnotationError(f"{path}: not well-formed XML ({error}). Open it in ELAN and save it again.") from error
    if not elements or elements[0].name != "ANNOTATION_DOCUMENT":
        raise AnnotationError(f"{path}: not an ELAN file (no ANNOTATION_DOCUMENT root).")
    return elements


def _number(identifier: str) -> int:
    digits = "".join(character for character in identifier if character.isdigit())
    return int(digits) if digits else 0


def _attributes_xml(attributes: Mapping[str, str]) -> str:
    return " ".join(f'{name}="{escape(value, {chr(34): "&quot;"})}"' for name, value in attributes.items())


def _tier_xml(attributes: Mapping[str, str], annotations: Sequence[tuple[str, str, str, str]], indent: str, newline: str) -> str:
    """A TIER element as ELAN 6 writes it; the first line carries no indentation (the caller places it)."""
    if not annotations:
        return f"<TIER {_attributes_xml(attributes)}/>"
    lines = [f"<TIER {_attributes_xml(attributes)}>"]
    for annotation_id, start_slot, end_slot, text in annotations:
        lines += [
            f"{indent * 2}<ANNOTATION>",
            f'{indent * 3}<ALIGNABLE_ANNOTATION ANNOTATION_ID="{annotation_id}" TIME_SLOT_REF1="{start_slot}" TIME_SLOT_REF2="{end_slot}">',
            f"{indent * 4}<ANNOTATION_VALUE>{escape(text)}</ANNOTATION_VALUE>",
            f"{indent * 3}</ALIGNABLE_ANNOTATION>",
            f"{indent * 2}</ANNOTATION>",
        ]
    lines.append(f"{indent}</TIER>")
    return newline.join(lines)


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
    if not path.is_file():
        raise AnnotationError(f"{path}: ELAN file not found. Use write_new_eaf to create a new one.")
    writable_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not os.access(path, os.W_OK) or not path.stat().st_mode & writable_bits:
        raise AnnotationError(f"{path}: the file is read-only, so nothing was written and it is untouched. Make it writable (chmod u+w) and run again.")
    if not os.access(path.parent, os.W_OK):
        raise AnnotationError(f"{path}: its folder is not writable, so the file cannot be replaced safely. Copy it to a writable folder.")


class _EafText:
    """An .eaf's bytes, the spans of its elements, and a list of pending edits applied back to front."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path, self.data = path, data
        self.elements = _scan(data, path)
        self.root = self.elements[0]
        if not self.top("TIME_ORDER"):
            raise AnnotationError(f"{path}: no TIME_ORDER element; open the file in ELAN and save it again.")
        self.newline = "\r\n" if b"\r\n" in data else "\n"
        first_child = next((element for element in self.elements[1:]), None)
        self.indent = self._indentation(first_child.start) if first_child else "    "
        self.edits: list[tuple[int, int, bytes]] = []

    def _indentation(self, position: int) -> str:
        line_start = self.data.rfind(b"\n", 0, position) + 1
        leading = self.data[line_start:position].decode("utf-8")
        return leading if leading and not leading.strip() else "    "

    def top(self, name: str) -> list[_Element]:
        return [element for element in self.elements if element.name == name and element.depth == 1]

    def within(self, outer: _Element, name: str) -> list[_Element]:
        return [element for element in self.elements if element.name == name and outer.start < element.start < outer.end]

    def replace(self, element: _Element, text: str) -> None:
        self.edits.append((element.start, element.end, text.encode("utf-8")))

    def insert(self, position: int, text: str) -> None:
        self.edits.append((position, position, text.encode("utf-8")))

    def remove_line(self, element: _Element) -> None:
        """Remove an element together with the line break and indentation before it."""
        start = element.start
        while start > 0 and self.data[start - 1:start] in (b" ", b"\t"):
            start -= 1
        for ending in (b"\r\n", b"\n"):
            if self.data[:start].endswith(ending):
                start -= len(ending)
                break
        self.edits.append((start, element.end, b""))

    def result(self) -> bytes:
        data = self.data
        for start, end, replacement in sorted(self.edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
            data = data[:start] + replacement + data[end:]
        return data


def _linguistic_type_edit(document: _EafText, linguistic_type: str) -> None:
    """Check that `linguistic_type` can hold time-aligned top-level annotations; add it if the file lacks it."""
    types = {element.attributes.get("LINGUISTIC_TYPE_ID"): element for element in document.top("LINGUISTIC_TYPE")}
    existing = types.get(linguistic_type)
    if existing is not None:
        if existing.attributes.get("TIME_ALIGNABLE", "true") != "true" or existing.attributes.get("CONSTRAINTS"):
            raise AnnotationError(
                f"{document.path}: linguistic type {linguistic_type!r} is not a plain time-alignable type "
                f"(constraints {existing.attributes.get('CONSTRAINTS')!r}). Pass another linguistic type, e.g. 'default-lt'."
            )
        return
    new_type = f'<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID={quoteattr(linguistic_type)} TIME_ALIGNABLE="true"/>'
    if types:
        document.insert(list(types.values())[-1].end, document.newline + document.indent + new_type)
        return
    following = [element for name in AFTER_LINGUISTIC_TYPES for element in document.top(name)]
    if following:
        document.insert(min(element.start for element in following), new_type + document.newline + document.indent)
    else:
        document.insert(document.root.inner_end, document.indent + new_type + document.newline)


def _time_order_edit(document: _EafText, slots: Sequence[tuple[str, int]], unused: set[str]) -> None:
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


def _existing_tier(document: _EafText, tier_name: str) -> _Element | None:
    tiers = document.top("TIER")
    existing = next((tier for tier in tiers if tier.attributes.get("TIER_ID") == tier_name), None)
    if existing is None:
        return None
    children = [tier.attributes["TIER_ID"] for tier in tiers if tier.attributes.get("PARENT_REF") == tier_name]
    if existing.attributes.get("PARENT_REF") or children or document.within(existing, "REF_ANNOTATION"):
        raise AnnotationError(
            f"{document.path}: tier {tier_name!r} is part of a tier hierarchy (parent {existing.attributes.get('PARENT_REF')!r}, "
            f"children {children}); replacing it would break the dependent annotations. Write to a new tier name instead."
        )
    return existing


def _slots_used_outside(document: _EafText, tier: _Element) -> set[str]:
    used = set()
    for element in document.elements:
        if element.name == "ALIGNABLE_ANNOTATION" and not tier.start < element.start < tier.end:
            used.update((element.attributes.get("TIME_SLOT_REF1"), element.attributes.get("TIME_SLOT_REF2")))
    return used


def write_tier_into_eaf(
    eaf_path: str | Path,
    tier_name: str,
    annotations: Sequence[TimedText],
    *,
    linguistic_type: str = "default-lt",
    participant: str | None = None,
    backup: bool = True,
) -> Path:
    """Add tier `tier_name` to an existing .eaf, or replace that tier's annotations; every other byte is kept.

    A replaced tier keeps its attributes (linguistic type, annotator, language), except PARTICIPANT when given.
    Only a top-level tier without dependent tiers can be replaced. The original is copied to `<name>.eaf.bak`
    (when `backup`) and the new file replaces it atomically; `lastUsedAnnotationId` is raised to the new ids.
    """
    path = Path(eaf_path)
    _check_writable(path)
    timed = _milliseconds(annotations, f"{path} tier {tier_name!r}")
    document = _EafText(path, path.read_bytes())
    existing = _existing_tier(document, tier_name)
    slot_numbers = [_number(element.attributes.get("TIME_SLOT_ID", "")) for element in document.elements if element.name == "TIME_SLOT"]
    annotation_numbers = [_number(element.attributes.get("ANNOTATION_ID", "")) for element in document.elements
                          if element.name in ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION")]
    last_used = [element for element in document.top("HEADER") for element in document.within(element, "PROPERTY")
                 if element.attributes.get("NAME") == LAST_USED_ANNOTATION_ID]
    next_slot = max(slot_numbers, default=0) + 1
    next_annotation = max(annotation_numbers + [_number(element.text) for element in last_used], default=0) + 1
    slots, rows = [], []
    for offset, (start_ms, end_ms, text) in enumerate(timed):
        start_slot, end_slot = f"ts{next_slot + 2 * offset}", f"ts{next_slot + 2 * offset + 1}"
        slots += [(start_slot, start_ms), (end_slot, end_ms)]
        rows.append((f"a{next_annotation + offset}", start_slot, end_slot, text))
    if existing is None:
        attributes = {"LINGUISTIC_TYPE_REF": linguistic_type, **({"PARTICIPANT": participant} if participant else {}), "TIER_ID": tier_name}
        _linguistic_type_edit(document, linguistic_type)
        tiers = document.top("TIER")
        anchor = tiers[-1] if tiers else document.top("TIME_ORDER")[0]
        document.insert(anchor.end, document.newline + document.indent + _tier_xml(attributes, rows, document.indent, document.newline))
        unused: set[str] = set()
    else:
        attributes = dict(existing.attributes)
        if participant is not None:
            attributes["PARTICIPANT"] = participant
        _linguistic_type_edit(document, attributes.get("LINGUISTIC_TYPE_REF", linguistic_type))
        document.replace(existing, _tier_xml(attributes, rows, document.indent, document.newline))
        old_slots = {element.attributes.get(key) for element in document.within(existing, "ALIGNABLE_ANNOTATION")
                     for key in ("TIME_SLOT_REF1", "TIME_SLOT_REF2")}
        unused = old_slots - _slots_used_outside(document, existing)
    _time_order_edit(document, slots, unused)
    if last_used and rows:
        property_element = last_used[0]
        document.edits.append((property_element.inner_start, property_element.inner_end, str(next_annotation + len(rows) - 1).encode()))
    new_data = document.result()
    _scan(new_data, path)  # never replace a good file with a broken one
    if backup:
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    return atomic_write_bytes(path, new_data, like=path)


def _mime_type(media_path: Path) -> str:
    return "audio/x-wav" if media_path.suffix.lower() == ".wav" else "audio/*"


def write_new_eaf(
    eaf_path: str | Path,
    media_path: str | Path,
    tiers: Mapping[str, Sequence[TimedText]],
    *,
    overwrite: bool = False,
) -> Path:
    """A new ELAN 6 style .eaf linking `media_path` by a relative URL (and an absolute file:// URL), one tier per entry."""
    eaf_path, media_path = Path(eaf_path), Path(media_path)
    if eaf_path.exists() and not overwrite:
        raise AnnotationError(f"{eaf_path}: already exists. Use write_tier_into_eaf to add a tier to it, or choose another name.")
    relative = Path(os.path.relpath(media_path.resolve(), eaf_path.resolve().parent)).as_posix()
    relative_url = relative if relative.startswith("../") else f"./{relative}"
    indent, newline = "    ", "\n"
    slot_lines, tier_blocks, next_slot, next_annotation = [], [], 1, 1
    for tier_name, annotations in tiers.items():
        rows = []
        for start_ms, end_ms, text in _milliseconds(annotations, f"{eaf_path} tier {tier_name!r}"):
            slot_lines += [f'{indent * 2}<TIME_SLOT TIME_SLOT_ID="ts{next_slot}" TIME_VALUE="{start_ms}"/>',
                           f'{indent * 2}<TIME_SLOT TIME_SLOT_ID="ts{next_slot + 1}" TIME_VALUE="{end_ms}"/>']
            rows.append((f"a{next_annotation}", f"ts{next_slot}", f"ts{next_slot + 1}", text))
            next_slot, next_annotation = next_slot + 2, next_annotation + 1
        attributes = {"LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": tier_name}
        tier_blocks.append(indent + _tier_xml(attributes, rows, indent, newline))
    date = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    media = {"MEDIA_URL": media_path.resolve().as_uri(), "MIME_TYPE": _mime_type(media_path), "RELATIVE_MEDIA_URL": relative_url}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ANNOTATION_DOCUMENT AUTHOR="fieldasr" DATE="{date}" FORMAT="3.0" VERSION="3.0" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{EAF_SCHEMA}">',
        f'{indent}<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">',
        f"{indent * 2}<MEDIA_DESCRIPTOR {_attributes_xml(media)}/>",
        f'{indent * 2}<PROPERTY NAME="{LAST_USED_ANNOTATION_ID}">{next_annotation - 1}</PROPERTY>',
        f"{indent}</HEADER>",
        *([f"{indent}<TIME_ORDER>", *slot_lines, f"{indent}</TIME_ORDER>"] if slot_lines else [f"{indent}<TIME_ORDER/>"]),
        *tier_blocks,
        f'{indent}<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt" TIME_ALIGNABLE="true"/>',
        *(f'{indent}<CONSTRAINT DESCRIPTION={quoteattr(description)} STEREOTYPE="{name}"/>' for name, description in CONSTRAINTS.items()),
        "</ANNOTATION_DOCUMENT>",
    ]
    return atomic_write_bytes(eaf_path, (newline.join(lines) + newline).encode("utf-8"))
