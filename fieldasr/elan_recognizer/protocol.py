"""ELAN's local recognizer protocol: the PARAM XML ELAN writes on standard input, the "avatech" tier files it
exchanges, and the PROGRESS / RESULT lines it reads back (see ELAN's `LocalRecognizer.java` and `XmlTierIO.java`).

Standard library only: this runs before anything heavy is imported, so that even a broken installation can
answer ELAN with `RESULT: FAILED.` and a reason.
"""
from __future__ import annotations

import csv
import io
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_write_text

# The parameter names of the CMDI file (`fieldasr.elan_recognizer.folder`) and of the PARAM XML ELAN sends.
SOURCE, SEGMENTATION, TRANSCRIPTIONS = "source", "segmentation", "transcriptions"
DECODER, UNITS = "decoder", "units"
PHONE_TIER, WORD_TIER, CONFIDENCE_TIER = "phone_tier", "word_tier", "confidence_tier"
DECODERS = ("greedy", "beam")
UNIT_CHOICES = ("phones", "words", "both")

TimedText = tuple[float, float, str]


class RecognizerError(FieldasrError):
    """A call ELAN made that the recognizer cannot carry out, with what to change in ELAN."""


@dataclass(frozen=True)
class RecognizerCall:
    """One run as ELAN asked for it: the recording, the optional input tiers, the choices and the output files."""

    source: Path
    segmentation: Path | None = None
    transcriptions: Path | None = None
    decoder: str = "greedy"
    units: str = "both"
    phone_tier: Path | None = None
    word_tier: Path | None = None
    confidence_tier: Path | None = None  # written whenever ELAN gives a file for it, whatever `units` says

    @property
    def outputs(self) -> dict[str, Path]:
        """Output parameter → file for the tiers to write: those `units` asks for that ELAN gave a file for, and the
        confidence tier when given."""
        wanted = {"phones": (PHONE_TIER,), "words": (WORD_TIER,), "both": (PHONE_TIER, WORD_TIER)}[self.units] + (CONFIDENCE_TIER,)
        given = {PHONE_TIER: self.phone_tier, WORD_TIER: self.word_tier, CONFIDENCE_TIER: self.confidence_tier}
        return {name: path for name in wanted if (path := given[name]) is not None}


def _file(value: str | None) -> Path | None:
    """A file parameter: ELAN strips `file:` and sends an empty element for an optional input left out."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    return Path(value[len("file:"):] if value.startswith("file:") else value)


def parse_call(data: bytes) -> RecognizerCall:
    """The PARAM XML ELAN writes on standard input (UTF-8, paths XML-escaped) → the call; raises RecognizerError."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise RecognizerError(f"the parameters ELAN sent are not well-formed XML ({error}); start the recognizer from ELAN's "
                              "Recognizer tab, which sends them on standard input.") from None
    if root.tag != "PARAM":
        raise RecognizerError(f"the parameters ELAN sent start with <{root.tag}>, not <PARAM>.")
    params = {element.get("name"): (element.text or "") for element in root.iter("param")}
    source = _file(params.get(SOURCE))
    if source is None:
        raise RecognizerError("no recording was given: choose the audio file in the recognizer's 'source' field in ELAN.")
    decoder = params.get(DECODER, "").strip() or "greedy"
    units = params.get(UNITS, "").strip() or "both"
    if decoder not in DECODERS:
        raise RecognizerError(f"decoder {decoder!r} is not one of {', '.join(DECODERS)}.")
    if units not in UNIT_CHOICES:
        raise RecognizerError(f"units {units!r} is not one of {', '.join(UNIT_CHOICES)}.")
    call = RecognizerCall(source, _file(params.get(SEGMENTATION)), _file(params.get(TRANSCRIPTIONS)), decoder, units,
                          _file(params.get(PHONE_TIER)), _file(params.get(WORD_TIER)), _file(params.get(CONFIDENCE_TIER)))
    if not set(call.outputs) & {PHONE_TIER, WORD_TIER}:
        wanted = {"phones": "the phone tier", "words": "the word tier", "both": "the phone tier or the word tier"}[units]
        raise RecognizerError(f"units is {units!r} but no output file was given for {wanted}: type a tier name into that "
                              "output field in ELAN's Recognizer tab.")
    return call


def _time(value: str | None, path: Path) -> float:
    """A tier file's time: seconds when it has a '.', else milliseconds (XmlTierIO's rule)."""
    try:
        return float(value) if "." in (value or "") else int(value or "") / 1000
    except ValueError:
        raise RecognizerError(f"{path}: time {value!r} is neither seconds nor milliseconds.") from None


def read_tier(path: Path) -> list[TimedText]:
    """The spans of an input tier file: `<TIER>` or `<TIERS>` XML, or ELAN's CSV form; in time order."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecognizerError(f"{path}: cannot read the tier file ELAN wrote ({error.strerror}).") from None
    if data.lstrip().startswith(b'"#starttime"') or data.lstrip().startswith(b"#starttime"):
        return _read_csv_tier(data.decode("utf-8"), path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise RecognizerError(f"{path}: the tier file is not well-formed XML ({error}).") from None
    spans = [(_time(span.get("start"), path), _time(span.get("end"), path), (span.findtext("v") or "").strip())
             for span in root.iter("span")]
    return sorted(spans)


def _read_csv_tier(text: str, path: Path) -> list[TimedText]:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    spans = [(_time(row[0], path), _time(row[1], path), (row[2] if len(row) > 2 else "").strip()) for row in rows[1:] if len(row) >= 2]
    return sorted(spans)


def tier_xml(name: str, spans: Sequence[TimedText]) -> str:
    """An output tier as ELAN reads it: times in seconds with a '.', one `<span>` per annotation."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<TIER xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="file:avatech-tier.xsd" '
             f"columns={quoteattr(name)}>"]
    lines += [f'    <span start="{start:.3f}" end="{end:.3f}"><v>{escape(text)}</v></span>' for start, end, text in spans]
    lines.append("</TIER>")
    return "\n".join(lines) + "\n"


def write_tier(path: Path, name: str, spans: Sequence[TimedText]) -> Path:
    return atomic_write_text(path, tier_xml(name, spans))


class Reporter:
    """PROGRESS lines that only ever rise and stay below 1.0 (ELAN takes 1.0 as finished), then one RESULT line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.last = 0.0

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, fraction: float, message: str = "") -> None:
        fraction = min(0.99, fraction)
        if fraction >= self.last + 0.01 or (message and fraction > self.last):
            self.last = fraction
            self._line(f"PROGRESS: {fraction:.2f} {message}".rstrip())

    def scaled(self, start: float, end: float, message: str) -> Callable[[float], None]:
        """A 0-1 progress callback mapped onto [start, end] of the whole run."""
        return lambda fraction: self.progress(start + (end - start) * fraction, message)

    def info(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._line(line)

    def done(self) -> None:
        self._line("RESULT: DONE.")

    def failed(self, message: str) -> None:
        self.info(f"fieldasr: {message}")
        self._line("RESULT: FAILED.")
