"""Real Dutch speech: the acted dialogue of the game Fish Fillets NG (Debian `fillets-ng-data-nl`).

About 1.6 hours of Dutch recordings, 22.05 kHz stereo Ogg Vorbis, one file per line of dialogue. The
transcripts are in the game's Lua dialogue scripts (Debian `fillets-ng-data`), one pair of calls per line:

    dialogId("let-m-oko", "font_small", "This is not a glass eye but a gyroscope.")
    dialogStr("Dit is geen glazen oog, maar een gyroscoop.")

`dialogId` names the line and its font (the font tells who speaks: `font_small` is the small fish,
`font_big` the big one, `font_parrot` the parrot, ...) and gives the English original; `dialogStr` gives
the translation. The game plays `<sound prefix>/nl/<dialog id>.ogg`, where the sound prefix is
`sound/<level>/` for a level's scripts and is named by `dialogLoad(script prefix, sound prefix)` for the
shared ones (`script/share/bore_` -> `sound/share/borejokes/`). Lines without a recording, recordings
without a line and repeated ids are counted in the result, never dropped silently.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.data import Corpus, Recording, Segment
from fieldasr.errors import AudioError
from fieldasr_examples.corpora.errors import CorpusSourceError

INSTALL_HINT = (
    "Install the Debian packages fillets-ng-data and fillets-ng-data-nl (about 100 MB: "
    "`FIELDASR_REAL_SPEECH=1 bash tools/install_system_packages.sh`, or apt-get install them)."
)

_STRING = r'"((?:[^"\\\n]|\\.)*)"'
_CALL = re.compile(
    rf"dialogId\s*\(\s*{_STRING}\s*,\s*{_STRING}\s*,\s*{_STRING}\s*\)|dialogStr\s*\(\s*{_STRING}\s*\)"
)
_DIALOG_LOAD = re.compile(r'dialogLoad\s*\(\s*"script/([^"]+)/([^"/]*)"\s*,\s*"(sound/[^"]+?)/?"\s*\)')
_ESCAPE = re.compile(r"\\(\d{1,3}|.)")
_LUA_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
# Voiced game languages (suffix -> ISO 639-3), the code fieldasr manifests use (most endangered languages have no 2-letter code).
GAME_LANGUAGES = {"nl": "nld"}
_SPEAKERS = {"font_small": "small_fish", "font_big": "big_fish", "font_both": "both_fish"}


@dataclass(frozen=True)
class DialogueLine:
    id: str
    font: str
    english: str
    text: str | None  # None: the script names the line but gives no translation

    @property
    def speaker(self) -> str:
        return _SPEAKERS.get(self.font, self.font.removeprefix("font_"))


@dataclass(frozen=True)
class FilletsImport:
    corpus_dir: Path
    segments: int
    hours: float
    lines_without_audio: tuple[str, ...]  # "<script>:<dialog id>"
    lines_without_text: tuple[str, ...]
    audio_without_line: tuple[str, ...]  # ogg paths relative to the data root
    repeated_lines: tuple[str, ...]  # a second line with the same sound file: the first is kept
    unreadable_audio: tuple[str, ...]  # empty or undecodable .ogg files (the data has a few)


def _unescape(literal: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped.isdigit():
            return chr(int(escaped))
        # Lua keeps the character itself after an unknown escape (e.g. "\/").
        return _LUA_ESCAPES.get(escaped, escaped)

    return _ESCAPE.sub(replace, literal)


def _without_comments(source: str) -> str:
    source = re.sub(r"--\[(=*)\[.*?\]\1\]", "", source, flags=re.DOTALL)
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("--"))


def parse_dialogue_script(source: str) -> list[DialogueLine]:
    """Every `dialogId(...)` with the `dialogStr(...)` that follows it, in order.

    Raises CorpusSourceError for a `dialogStr` with no `dialogId` before it.
    """
    lines: list[DialogueLine] = []
    pending: DialogueLine | None = None
    for match in _CALL.finditer(_without_comments(source)):
        dialog_id, font, english, translation = match.groups()
        if dialog_id is not None:
            if pending is not None:
                lines.append(pending)
            pending = DialogueLine(_unescape(dialog_id), _unescape(font), _unescape(english), None)
            continue
        if pending is None:
            raise CorpusSourceError(f"dialogStr({translation[:40]!r}...) comes before any dialogId; the script is malformed.")
        lines.append(DialogueLine(pending.id, pending.font, pending.english, _unescape(translation)))
        pending = None
    if pending is not None:
        lines.append(pending)
    return lines


def sound_prefixes(root: Path) -> dict[tuple[str, str], Path]:
    """(script folder, script prefix) -> sound folder, from every explicit `dialogLoad(script, sound)` call."""
    prefixes = {}
    for script in sorted((root / "script").rglob("*.lua")):
        for folder, prefix, sound in _DIALOG_LOAD.findall(script.read_text(encoding="utf-8", errors="replace")):
            prefixes[(folder, prefix)] = root / sound
    return prefixes


def dialogue_scripts(root: Path, language: str) -> Iterator[tuple[Path, Path]]:
    """(dialogue script, sound folder) for every `<prefix>dialogs_<language>.lua`."""
    explicit = sound_prefixes(root)
    for script in sorted((root / "script").glob(f"*/*dialogs_{language}.lua")):
        folder, prefix = script.parent.name, script.name.removesuffix(f"dialogs_{language}.lua")
        yield script, explicit.get((folder, prefix), root / "sound" / folder)


def import_fillets(out_dir: str | Path, root: str | Path, language: str = "nl") -> FilletsImport:
    """Manifests of every recorded, transcribed line of `language`, written to `out_dir` (recordings point at the .ogg files)."""
    root, out_dir = Path(root), Path(out_dir)
    if language not in GAME_LANGUAGES:
        raise CorpusSourceError(f"Fish Fillets NG has recorded dialogue only in {', '.join(GAME_LANGUAGES)}; got {language!r}.")
    if not (root / "script").is_dir() or not (root / "sound").is_dir():
        raise CorpusSourceError(f"{root}: Fish Fillets NG data not found. {INSTALL_HINT}")
    recordings: dict[str, Recording] = {}
    segments: list[Segment] = []
    without_audio, without_text, repeated, unreadable = [], [], [], []
    used_audio: set[Path] = set()
    scripts = list(dialogue_scripts(root, language))
    for script, sound_folder in tqdm(scripts, desc="fillets dialogue scripts", unit="script"):
        where = script.relative_to(root)
        for line in parse_dialogue_script(script.read_text(encoding="utf-8")):
            audio = sound_folder / language / f"{line.id}.ogg"
            if not (line.text or "").strip():
                without_text.append(f"{where}:{line.id}")
            elif not audio.is_file():
                without_audio.append(f"{where}:{line.id}")
            elif audio in used_audio:
                repeated.append(f"{where}:{line.id}")
            else:
                used_audio.add(audio)
                try:
                    recording, segment = _manifest_entry(root, audio, line, language)
                except AudioError:
                    unreadable.append(str(audio.relative_to(root)))
                    continue
                recordings[recording.id] = recording
                segments.append(segment)
    if not segments:
        raise CorpusSourceError(f"{root}: no recorded {language!r} dialogue found. {INSTALL_HINT}")
    all_audio = sorted((root / "sound").glob(f"**/{language}/*.ogg"))
    corpus = Corpus(recordings=recordings, segments=tuple(segments))
    corpus.validate(require_text=True)
    corpus.save(out_dir)
    return FilletsImport(
        corpus_dir=out_dir.resolve(),
        segments=len(segments),
        hours=corpus.hours,
        lines_without_audio=tuple(without_audio),
        lines_without_text=tuple(without_text),
        audio_without_line=tuple(str(path.relative_to(root)) for path in all_audio if path not in used_audio),
        repeated_lines=tuple(repeated),
        unreadable_audio=tuple(unreadable),
    )


def _manifest_entry(root: Path, audio: Path, line: DialogueLine, language: str) -> tuple[Recording, Segment]:
    # sound/<level>/nl/<id>.ogg -> "<level>-<id>"; shared folders keep their sub-folder (share-borejokes-...).
    identifier = "-".join(audio.relative_to(root / "sound").with_suffix("").parts).replace(f"-{language}-", "-")
    recording = Recording.from_audio(identifier, audio)
    segment = Segment.spanning(
        recording,
        text=line.text,
        speaker=line.speaker,
        language=GAME_LANGUAGES[language],
        custom={"source": "fillets-ng", "english": line.english, "font": line.font},
    )
    return recording, segment
