"""Hand-written orthography rules: ordered rewrite rules with left/right context and word boundaries.

A rule file has one rule per line (see g2p/README.md):

    ::V:: = a e i o u          % a class of graphemes, used in contexts as {V}
    ng -> ŋ                    % grapheme(s) -> IPA
    s -> ʃ / _ i               % with a context: left _ right (regular expressions)
    h -> ∅ / _ #               % ∅ (or nothing) deletes; # is a word boundary; % starts a comment

A word is read left to right. At each position the rules whose graphemes match are tried longest
grapheme first, and among equally long ones in file order; the first whose contexts match wins.
Contexts are matched against the written word (not the output), so rules never feed each other.
A character no rule covers is skipped and reported, never silently dropped.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import regex

from fieldasr.g2p.errors import RuleFileError

BOUNDARY = "#"
DELETION = {"∅", "0", ""}
CLASS_PATTERN = regex.compile(r"^::(\w+)::\s*=\s*(.+)$")
CLASS_REFERENCE = regex.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Rule:
    graphemes: str
    ipa: str
    left: str  # regular expression that must end just before the graphemes ('' = anything)
    right: str  # regular expression that must start just after them
    line: int
    pattern: regex.Pattern


@dataclass(frozen=True)
class WordTranscription:
    ipa: str
    uncovered: tuple[str, ...]  # characters of the word no rule covered, in order


@dataclass(frozen=True)
class RuleSet:
    path: str
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        by_first: dict[str, list[Rule]] = defaultdict(list)
        for rule in sorted(self.rules, key=lambda rule: -len(rule.graphemes)):  # stable: file order kept
            by_first[rule.graphemes[0]].append(rule)
        object.__setattr__(self, "_by_first", dict(by_first))

    def transcribe(self, word: str) -> WordTranscription:
        text = BOUNDARY + word + BOUNDARY
        output: list[str] = []
        uncovered: list[str] = []
        position = 1
        while position < len(text) - 1:
            rule = self._first_match(text, position)
            if rule is None:
                uncovered.append(text[position])
                position += 1
                continue
            output.append(rule.ipa)
            position += len(rule.graphemes)
        return WordTranscription(ipa="".join(output), uncovered=tuple(uncovered))

    def _first_match(self, text: str, position: int) -> Rule | None:
        for rule in self._by_first.get(text[position], ()):  # type: ignore[attr-defined]
            if rule.pattern.match(text, position):
                return rule
        return None


def load_rules(path: str | Path) -> RuleSet:
    """Parse a rule file; raises RuleFileError naming the line and the reason."""
    path = Path(path)
    if not path.is_file():
        raise RuleFileError(f"{path}: rule file not found. Check the `rules:` entry of the spec (paths are relative to the spec).")
    from fieldasr.g2p.table import looks_like_table, read_table

    if looks_like_table(path):  # an Elpis letter-to-sound table given as the spec itself
        return parse_rules(read_table(path).rules_text(), str(path))
    return parse_rules(path.read_text(encoding="utf-8"), str(path))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    classes: dict[str, str] = {}
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("%", 1)[0].strip()  # '%' starts a comment ('#' is the word boundary)
        if not line:
            continue
        where = f"{source} line {number}"
        class_match = CLASS_PATTERN.match(line)
        if class_match:
            name, members = class_match.groups()
            if name in classes:
                raise RuleFileError(f"{where}: class {name!r} is defined twice; give the second one another name.")
            classes[name] = "(?:" + "|".join(regex.escape(member) for member in members.split()) + ")"
            continue
        rules.append(_parse_rule(line, where, number, classes))
    if not rules:
        raise RuleFileError(f"{source}: no rules found. Write one rule per line as `graphemes -> ipa [/ left _ right]`.")
    return RuleSet(path=source, rules=tuple(rules))


def _parse_rule(line: str, where: str, number: int, classes: dict[str, str]) -> Rule:
    if "->" not in line:
        raise RuleFileError(f"{where}: {line!r} has no '->'. Write `graphemes -> ipa [/ left _ right]`.")
    graphemes, rest = (part.strip() for part in line.split("->", 1))
    if not graphemes or " " in graphemes:
        raise RuleFileError(f"{where}: the graphemes before '->' must be one non-empty string without spaces; got {graphemes!r}.")
    if BOUNDARY in graphemes:
        raise RuleFileError(f"{where}: '#' (word boundary) may only appear in contexts, not in the graphemes.")
    ipa, _, context = (part.strip() for part in rest.partition("/"))
    left, right = "", ""
    if context:
        if context.count("_") != 1:
            raise RuleFileError(f"{where}: the context {context!r} must contain exactly one '_' marking the graphemes' place.")
        left, right = (part.replace(" ", "") for part in context.split("_"))
    ipa = "" if ipa in DELETION else ipa.replace(" ", "")
    pattern_text = ""
    if left:
        pattern_text += f"(?<={_expand(left, where, classes)})"
    pattern_text += regex.escape(graphemes)
    if right:
        pattern_text += f"(?={_expand(right, where, classes)})"
    try:
        pattern = regex.compile(pattern_text)
    except regex.error as error:
        raise RuleFileError(f"{where}: the context {context!r} is not a valid regular expression ({error}).") from error
    return Rule(graphemes=graphemes, ipa=ipa, left=left, right=right, line=number, pattern=pattern)


def _expand(context: str, where: str, classes: dict[str, str]) -> str:
    def replace(match: regex.Match) -> str:
        name = match.group(1)
        if name not in classes:
            raise RuleFileError(f"{where}: class {{{name}}} is used but not defined; add `::{name}:: = ...` above this rule.")
        return classes[name]

    return CLASS_REFERENCE.sub(replace, context)
