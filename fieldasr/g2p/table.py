"""Letter-to-sound tables as Elpis reads them, turned into this project's rule files.

Elpis (CoEDL/elpis, `make_prn_dict.py`) reads one mapping per line, `GRAPHEMES SOUND`, split at the first
space; the sound may be several space-separated symbols; lines starting with `#` are comments and lines
with one field are ignored. Words are lowercased and read left to right, longest matching graphemes first
(ties in file order). The rules engine here reads words the same way, so each line becomes one rule
`graphemes -> sound`. Fieldworkers write sounds in IPA or SAMPA-like symbols (`I E O C J`, `a:`): panphon
knows the IPA ones; X-SAMPA ones are converted with panphon's own X-SAMPA table when asked (`xsampa=True`),
and every symbol that is neither is listed with its lines, never kept silently.
"""
from __future__ import annotations

import csv
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

from fieldasr.files import atomic_write_text
from fieldasr.g2p.errors import G2PError, SpecError
from fieldasr.g2p.rules import parse_rules
from fieldasr.g2p.segment import is_known_phone, segment_ipa

COMMENT = "#"
TABLE_SUFFIXES = (".txt", ".l2s", ".tsv")  # Elpis names its table letter_to_sound.txt
# Characters the rule-file syntax reserves: they cannot appear in graphemes (or, for '/' and '%', in sounds).
RESERVED_IN_GRAPHEMES = ("#", "%", "->")
RESERVED_IN_SOUNDS = ("/", "%")


class TableError(G2PError):
    """A letter-to-sound table cannot be used as asked."""


@dataclass(frozen=True)
class TableRule:
    line: int
    graphemes: str
    sound: str  # as written in the table
    ipa: str  # the sound in IPA (converted from X-SAMPA when asked), symbols separated by spaces


@dataclass(frozen=True)
class SkippedLine:
    line: int
    content: str
    reason: str


@dataclass(frozen=True)
class Symbol:
    """A sound symbol of the table that is not plain IPA, with the lines it is on."""

    symbol: str
    lines: tuple[int, ...]
    ipa: str | None  # what X-SAMPA reads it as (None: X-SAMPA does not know it either)
    name: str  # panphon's description of the X-SAMPA symbol

    def describe(self) -> str:
        where = f"line{'s' if len(self.lines) > 1 else ''} {', '.join(map(str, self.lines))}"
        reading = f"X-SAMPA for {self.ipa} ({self.name})" if self.ipa else "neither IPA nor X-SAMPA"
        return f"{self.symbol!r} ({where}): {reading}"


@dataclass(frozen=True)
class LetterToSoundTable:
    path: Path
    xsampa: bool  # sounds were read as X-SAMPA (converted), else as IPA
    rules: tuple[TableRule, ...]
    skipped: tuple[SkippedLine, ...]
    converted: tuple[Symbol, ...]  # X-SAMPA symbols converted to IPA (xsampa=True)
    not_ipa: tuple[Symbol, ...]  # X-SAMPA symbols kept as written (xsampa=False): not mappable by features
    unknown: tuple[Symbol, ...]  # neither IPA nor X-SAMPA

    def rules_text(self) -> str:
        lines = [f"% Converted from the letter-to-sound table {self.path.name} by fieldasr"
                 f"{' (sounds read as X-SAMPA)' if self.xsampa else ''}; each rule names its table line."]
        width = max((len(rule.graphemes) for rule in self.rules), default=1)
        lines += [f"{rule.graphemes:<{width}} -> {rule.ipa.replace(' ', '')}   % line {rule.line}: {rule.sound}" for rule in self.rules]
        return "\n".join(lines) + "\n"

    def spec_text(self, language: str, rules_name: str) -> str:
        spec = {"language": language, "name": f"{language} (letter-to-sound table {self.path.name})", "backend": "rules",
                "rules": rules_name, "source": str(self.path), "normalization": {"lowercase": True}}
        header = "# Converted by `fieldasr g2p-import-table`. Words are lowercased before look-up, as Elpis does.\n"
        return header + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)

    @property
    def problems(self) -> tuple[str, ...]:
        """What --strict refuses: lines not used, and symbols panphon cannot give features for."""
        return (tuple(f"line {line.line}: {line.content!r}: {line.reason}" for line in self.skipped)
                + tuple(symbol.describe() + ("; pass --xsampa to convert it" if symbol.ipa else "") for symbol in self.not_ipa)
                + tuple(symbol.describe() for symbol in self.unknown))

    def summary(self) -> str:
        lines = [f"{self.path}: {len(self.rules)} rules from the table, {len(self.skipped)} lines left out"]
        lines += [f"  line {line.line}: {line.content!r}: {line.reason}" for line in self.skipped]
        lines += [f"  converted {symbol.describe()}" for symbol in self.converted]
        if self.not_ipa:
            lines.append("  not IPA, kept as written (not mappable by features to other languages' phones; --xsampa converts them):")
            lines += [f"    {symbol.describe()}" for symbol in self.not_ipa]
        if self.unknown:
            lines.append("  unknown symbols, kept as written (correct them in the table, or write them in IPA):")
            lines += [f"    {symbol.describe()}" for symbol in self.unknown]
        return "\n".join(lines)


@lru_cache(maxsize=1)
def xsampa_table() -> dict[str, tuple[str, str]]:
    """panphon's X-SAMPA table: symbol -> (IPA, description); the first row wins where a symbol repeats."""
    table: dict[str, tuple[str, str]] = {}
    with files("panphon").joinpath("data", "ipa-xsampa.csv").open(encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            table.setdefault(row["X-SAMPA"], (unicodedata.normalize("NFC", row["IPA"]), row["Name"]))
    return table


def xsampa_to_ipa(symbol: str) -> tuple[str, str] | None:
    """IPA and description of an X-SAMPA symbol sequence (longest match first), or None if a part is unknown."""
    table = xsampa_table()
    longest = max(map(len, table))
    ipa, names, position = [], [], 0
    while position < len(symbol):
        for end in range(min(len(symbol), position + longest), position, -1):
            if symbol[position:end] in table:
                converted, name = table[symbol[position:end]]
                ipa.append(converted)
                names.append(name)
                position = end
                break
        else:
            return None
    return "".join(ipa), " + ".join(names)


def is_ipa(symbol: str) -> bool:
    return all(is_known_phone(phone) for phone in segment_ipa(symbol))


def looks_like_table(path: Path) -> bool:
    """A G2P spec or rule file named like a letter-to-sound table (.txt, .l2s, .tsv) is read as one."""
    return path.suffix.lower() in TABLE_SUFFIXES


def read_table(path: str | Path, *, xsampa: bool = False) -> LetterToSoundTable:
    """Read an Elpis letter-to-sound table; sounds are IPA, or X-SAMPA converted to IPA with `xsampa`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TableError(f"{path}: letter-to-sound table not found. Check the path.") from None
    except UnicodeDecodeError as error:
        raise TableError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save the table as UTF-8.") from None
    rules: list[TableRule] = []
    skipped: list[SkippedLine] = []
    first_line: dict[str, int] = {}
    symbols: dict[str, list[int]] = defaultdict(list)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith(COMMENT):
            continue
        graphemes, *rest = raw.split(None, 1)  # Elpis splits at the first space; a tab is read the same way here
        graphemes, sound = unicodedata.normalize("NFC", graphemes), (rest[0].strip() if rest else "")
        reason = _unusable(graphemes, sound, first_line)
        if reason:
            skipped.append(SkippedLine(number, raw.strip(), reason))
            continue
        first_line[graphemes] = number
        for token in sound.split():
            symbols[token].append(number)
        rules.append(TableRule(number, graphemes, sound, " ".join(_to_ipa(token, xsampa) for token in sound.split())))
    if not rules:
        raise TableError(f"{path}: no `GRAPHEMES SOUND` line found. A letter-to-sound table has one mapping per line, e.g. `ng ŋ`; "
                         "`#` starts a comment line. A G2P spec must end in .yaml.")
    return _with_symbol_report(path, xsampa, tuple(rules), tuple(skipped), symbols)


def _unusable(graphemes: str, sound: str, first_line: dict[str, int]) -> str | None:
    if not sound:
        return "one field only (graphemes without a sound); write `GRAPHEMES SOUND`"
    reserved = [mark for mark in RESERVED_IN_GRAPHEMES if mark in graphemes] + [mark for mark in RESERVED_IN_SOUNDS if mark in sound]
    if reserved:
        return f"{' '.join(reserved)} cannot be written in a rule file; write this mapping as a rule by hand (g2p/README.md)"
    if graphemes != graphemes.lower():
        return "never used: words are lowercased before look-up; write the graphemes in lower case"
    if graphemes in first_line:
        return f"{graphemes!r} is already mapped on line {first_line[graphemes]}, which wins; this line is never used"
    return None


def _to_ipa(token: str, xsampa: bool) -> str:
    if not xsampa or is_ipa(token):  # IPA (and ASCII look-alikes such as `a:`) reads the same either way
        return token
    converted = xsampa_to_ipa(token)
    return converted[0] if converted else token


def _with_symbol_report(path: Path, xsampa: bool, rules: tuple[TableRule, ...], skipped: tuple[SkippedLine, ...],
                        symbols: dict[str, list[int]]) -> LetterToSoundTable:
    converted, not_ipa, unknown = [], [], []
    for token, lines in symbols.items():
        reading = xsampa_to_ipa(token)
        if reading is not None and not is_ipa(reading[0]):
            reading = None  # X-SAMPA "knows" it only as a bare diacritic or another symbol panphon has no features for
        entry = Symbol(token, tuple(dict.fromkeys(lines)), reading[0] if reading else None, reading[1] if reading else "")
        if is_ipa(token):
            continue
        if reading is None:
            unknown.append(entry)
        else:
            (converted if xsampa else not_ipa).append(entry)
    return LetterToSoundTable(path, xsampa, rules, skipped, tuple(converted), tuple(not_ipa), tuple(unknown))


def checked_table(path: Path | None, strict: bool) -> LetterToSoundTable | None:
    """A spec given as a letter-to-sound table, read, so its unusable lines and symbols can be shown;
    with `strict` a table that has any is refused. None for a spec that is not a table."""
    if path is None or not looks_like_table(path):
        return None
    table = read_table(path)
    if strict and table.problems:
        raise TableError(f"{path}: " + "; ".join(table.problems)
                         + ". Correct the table, or convert it with `fieldasr g2p-import-table --xsampa`.")
    return table


def import_table(table_path: Path, language: str, out: Path, xsampa: bool = False, strict: bool = False,
                 overwrite: bool = False) -> LetterToSoundTable:
    """Write the table as a rules spec: `out` (YAML) and its rules beside it (`.rules`). Nothing is written
    unless both can be: the names are free (or `overwrite`), the table passes `strict`, and the rules parse."""
    rules_path = out.with_suffix(".rules")
    if out.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{out}: the spec to write must end in .yaml (its rules go to {rules_path.name} beside it).")
    existing = [str(path) for path in (out, rules_path) if path.exists()]
    if existing and not overwrite:
        raise SpecError(f"{', '.join(existing)}: already exists; nothing was written. Pass --overwrite to replace, or choose another --out.")
    table = read_table(table_path, xsampa=xsampa)
    if strict and table.problems:
        raise TableError(f"{table_path}: " + "; ".join(table.problems) + ". Correct the table, or run without --strict.")
    parse_rules(table.rules_text(), str(rules_path))  # the rule file must parse before anything is written
    atomic_write_text(rules_path, table.rules_text(), make_parents=True)
    atomic_write_text(out, table.spec_text(language, rules_path.name))
    return table
