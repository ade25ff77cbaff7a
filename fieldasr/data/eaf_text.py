"""An .eaf as bytes plus the byte span of every XML element, for reading tiers and for editing in place.

Edits are applied to the original bytes back to front, so every byte outside them stays exactly as ELAN wrote
it. Used by `fieldasr.data.elan_write` (editing), `fieldasr.data.elan_provenance` (the fieldasr mark) and
`fieldasr tiers` (listing); reading annotations for training stays in `fieldasr.data.elan` (pympi).
"""
from __future__ import annotations

import os
import xml.parsers.expat
from dataclasses import dataclass
from pathlib import Path

from fieldasr.errors import AnnotationError


@dataclass
class Element:
    """Byte span of one XML element: [start, end) is the whole element, [inner_start, inner_end) its content."""

    name: str
    attributes: dict[str, str]
    start: int
    inner_start: int
    depth: int
    end: int = -1
    inner_end: int = -1
    text: str = ""


def _tag_end(data: bytes, start: int, path: Path) -> int:
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
    raise AnnotationError(f"{path}: an XML tag is never closed; the file is probably truncated. Open it in ELAN and save it again.")


# expat's "no element found", "unclosed token" and "unclosed CDATA": the document stops in the middle
_ENDED_EARLY = (3, 5, 6)


def malformed_eaf_error(path: Path, data: bytes, code: int, line: int, column: int) -> AnnotationError:
    """What an XML parse error of an .eaf means for the fieldworker: empty, truncated, or not an ELAN file."""
    if not data.strip():
        return AnnotationError(f"{path}: the file is empty. Restore it from a backup or save it again in ELAN.")
    looks_like_xml = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    if looks_like_xml and code in _ENDED_EARLY:
        return AnnotationError(f"{path}: truncated: the file ends in the middle of the ELAN document (line {line}), "
                               "e.g. after an interrupted copy. Copy it again or restore it from a backup.")
    offset = sum(len(text) + 1 for text in data.split(b"\n")[:line - 1]) + column
    hint = (" (a character that is not in the file's declared encoding: was it edited in another program?)"
            if looks_like_xml and offset < len(data) and data[offset] >= 0x80 else "")
    return AnnotationError(f"{path}: not an ELAN file: not well-formed XML at line {line}, column {column + 1}{hint}. "
                           "Open it in ELAN or a text editor to check it, or restore it from a backup.")


def scan_eaf(data: bytes, path: Path) -> list[Element]:
    """Every element of an .eaf in document order; raises naming the file when it is not a well-formed ELAN file."""
    parser = xml.parsers.expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    elements: list[Element] = []
    stack: list[Element] = []

    def on_start(name: str, attributes: list[str]) -> None:
        start = parser.CurrentByteIndex
        element = Element(name, dict(zip(attributes[::2], attributes[1::2])), start, _tag_end(data, start, path), len(stack))
        stack.append(element)
        elements.append(element)

    def on_end(name: str) -> None:
        element = stack.pop()
        position = parser.CurrentByteIndex
        if data.startswith(b"</", position):
            element.inner_end, element.end = position, _tag_end(data, position, path)
        else:  # an empty-element tag <X .../>
            element.inner_end = element.end = element.inner_start

    def on_text(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = on_start, on_end, on_text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        raise malformed_eaf_error(path, data, error.code, error.lineno, error.offset) from None
    if not elements or elements[0].name != "ANNOTATION_DOCUMENT":
        raise AnnotationError(f"{path}: not an ELAN file (no ANNOTATION_DOCUMENT root). Check that you chose the right file.")
    return elements


def check_readable(path: Path) -> None:
    """Raise naming the file when it is missing, a folder or unreadable."""
    if path.is_dir():
        raise AnnotationError(f"{path}: is a folder, not an ELAN file. Name the .eaf file itself.")
    if not path.is_file():
        raise AnnotationError(f"{path}: ELAN file not found. Check the path and the file name.")
    if not os.access(path, os.R_OK):
        raise AnnotationError(f"{path}: the file cannot be read (no read permission). Make it readable (chmod u+r) and run again.")


def read_eaf_bytes(path: Path) -> bytes:
    check_readable(path)
    return path.read_bytes()


class EafText:
    """An .eaf's bytes, the spans of its elements, and a list of pending edits applied back to front."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path, self.data = path, data
        self.elements = scan_eaf(data, path)
        self.root = self.elements[0]
        if not self.top("TIME_ORDER"):
            raise AnnotationError(f"{path}: no TIME_ORDER element; open the file in ELAN and save it again.")
        self.newline = "\r\n" if b"\r\n" in data else "\n"
        first_child = next((element for element in self.elements[1:]), None)
        self.indent = self._indentation(first_child.start) if first_child else "    "
        self.edits: list[tuple[int, int, bytes]] = []

    @classmethod
    def read(cls, path: Path) -> EafText:
        return cls(path, read_eaf_bytes(path))

    def _indentation(self, position: int) -> str:
        line_start = self.data.rfind(b"\n", 0, position) + 1
        leading = self.data[line_start:position].decode("utf-8")
        return leading if leading and not leading.strip() else "    "

    def top(self, name: str) -> list[Element]:
        return [element for element in self.elements if element.name == name and element.depth == 1]

    def within(self, outer: Element, name: str) -> list[Element]:
        return [element for element in self.elements if element.name == name and outer.start < element.start < outer.end]

    def header_properties(self) -> list[Element]:
        return [element for header in self.top("HEADER") for element in self.within(header, "PROPERTY")]

    def slot_times(self) -> dict[str, int | None]:
        """Time slot id → milliseconds (None for an unaligned slot)."""
        times: dict[str, int | None] = {}
        for element in self.elements:
            if element.name == "TIME_SLOT":
                value = element.attributes.get("TIME_VALUE")
                times[element.attributes.get("TIME_SLOT_ID", "")] = int(value) if value and value.lstrip("-").isdigit() else None
        return times

    def replace(self, element: Element, text: str) -> None:
        self.edits.append((element.start, element.end, text.encode("utf-8")))

    def insert(self, position: int, text: str) -> None:
        self.edits.append((position, position, text.encode("utf-8")))

    def replace_content(self, element: Element, text: str) -> None:
        self.edits.append((element.inner_start, element.inner_end, text.encode("utf-8")))

    def remove_line(self, element: Element) -> None:
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
