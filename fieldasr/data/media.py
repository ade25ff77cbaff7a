"""Finding the audio an annotation file belongs to, the way ELAN does, and saying so when it had to guess.

An .eaf names its audio twice: MEDIA_URL (absolute, of the computer it was made on: `file:///C:/Users/x/rec.wav`,
`file:/Users/x/rec.wav`) and, since ELAN 2.7, RELATIVE_MEDIA_URL (`./rec.wav`, `file:/./rec.wav`). Files moved
between computers keep links that no longer point anywhere, so the audio is looked for in this order:

1. the absolute link, 2. the relative link (from the annotation file's folder)  -- these are the link itself;
3. the linked file name in the annotation file's folder, 4. the linked name under `--media-dir` (recursively),
5. audio with the annotation file's own name beside it, 6. that name under `--media-dir`  -- substitutions,
   which `prepare` lists in its summary and in `media.tsv`.

A TextGrid links nothing, so only steps 5 and 6 apply. File names match exactly, else ignoring case (links
written on Windows or macOS). Two different files of the searched name under `--media-dir` are an error: guessing
would pair annotations with the wrong recording.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from fieldasr.audio import AUDIO_EXTENSIONS
from fieldasr.data.source import MediaSubstitution
from fieldasr.errors import AnnotationError

_DRIVE = re.compile(r"^/?[A-Za-z]:[/\\]")


class AmbiguousMediaError(AnnotationError):
    """Two files under --media-dir could be the audio of one annotation file."""


@dataclass(frozen=True)
class MediaLink:
    """What an annotation file says about its audio ("" where it says nothing)."""

    absolute: str = ""  # MEDIA_URL as written
    relative: str = ""  # RELATIVE_MEDIA_URL as written

    @property
    def name(self) -> str:
        """The linked file's name, from whichever link has one (Windows backslashes and %-escapes undone)."""
        for url in (self.relative, self.absolute):
            parts = [part for part in re.split(r"[/\\]", unquote(url)) if part not in ("", ".", "..")]
            if parts and not parts[-1].endswith(":"):
                return parts[-1]
        return ""

    def describe(self) -> str:
        return self.absolute or self.relative or "(no audio linked)"


def _absolute_path(url: str) -> Path | None:
    """The local path of MEDIA_URL, or None when it cannot be one here (another drive letter, a server share)."""
    text = unquote(url)
    if text.lower().startswith("file:"):
        text = text[len("file:"):]
        if text.startswith("//") and not text.startswith("///"):
            host, _, rest = text[2:].partition("/")
            if host.lower() not in ("", "localhost"):
                return None  # a server share (file://server/share) or a drive written as a host (file://C:/)
            text = "/" + rest
        text = "/" + text.lstrip("/")
    text = text.replace("\\", "/")
    if _DRIVE.match(text) and os.name != "nt":
        return None
    return Path(text) if text.startswith("/") else None


def _relative_path(url: str, folder: Path) -> Path | None:
    text = unquote(url)
    text = text[len("file:"):] if text.lower().startswith("file:") else text
    text = text.replace("\\", "/")
    if text.startswith("/./") or text.startswith("/../"):  # ELAN 2.x wrote file:/./rec.wav
        text = text[1:]
    if not text or text.startswith("/") or _DRIVE.match(text):
        return None
    return folder / text


@dataclass(frozen=True)
class FoundMedia:
    path: Path
    substitution: MediaSubstitution | None  # None: found where the link points


class MediaSearch:
    """Looks for audio; `media_dir` (optional) is indexed once, by file name."""

    def __init__(self, media_dir: str | Path | None = None) -> None:
        self.media_dir = None if media_dir is None else Path(media_dir)
        self._index: dict[str, list[Path]] = defaultdict(list)
        if self.media_dir is not None:
            if not self.media_dir.is_dir():
                raise AnnotationError(f"{self.media_dir}: --media-dir must be a folder holding the recordings (searched with its subfolders); "
                                      "this is not a folder. Give the folder the audio files are in.")
            for path in sorted(self.media_dir.rglob("*")):
                if path.is_file():
                    self._index[path.name].append(path)
                    self._index[path.name.casefold()].append(path)

    @staticmethod
    def _beside(folder: Path, name: str) -> list[Path]:
        """Not cached: the folder is the user's and may change between calls."""
        if (folder / name).is_file():
            return [folder / name]
        if not folder.is_dir():
            return []
        wanted = name.casefold()
        return sorted(path for path in folder.iterdir() if path.name.casefold() == wanted and path.is_file())

    def _in_media_dir(self, annotation: Path, name: str) -> Path | None:
        found = _by_name(self._index, name)
        if len(found) > 1:
            listed = " and ".join(str(path) for path in found)
            raise AmbiguousMediaError(f"{annotation}: its audio {name!r} could be either of {listed} under --media-dir. "
                                      "Rename or move one of them, or point --media-dir at the folder holding the right one.")
        return found[0] if found else None

    def find(self, annotation: Path, link: MediaLink | None = None) -> FoundMedia:
        """The audio of `annotation` (see the module docstring for the order); raises AnnotationError naming every place tried.

        `link` None: the annotation file links nothing by design (a TextGrid), so same-name audio beside it is where
        its audio belongs, not a substitution.
        """
        by_convention = link is None
        link = link or MediaLink()
        # Some tools write MEDIA_URL relative ("rec.wav", "./rec.wav"); ELAN resolves those from the .eaf's folder.
        absolute = (_absolute_path(link.absolute) or _relative_path(link.absolute, annotation.parent)) if link.absolute else None
        relative = _relative_path(link.relative, annotation.parent) if link.relative else None
        for candidate in (absolute, relative):
            if candidate is not None and candidate.is_file():
                return FoundMedia(Path(os.path.normpath(candidate)), None)
        tried = [str(candidate) for candidate in (absolute, relative) if candidate is not None]
        attempts: list[tuple[str, str]] = []
        if link.name:
            attempts.append((link.name, "linked name"))
        attempts += [(annotation.stem + extension, "annotation file's name") for extension in AUDIO_EXTENSIONS]
        for name, how in attempts:
            found = self._substitute(annotation, name, how, link, by_convention)
            if found is not None:
                return found
            tried.append(str(annotation.parent / name) + (f" (and under {self.media_dir})" if self.media_dir else ""))
        tried_text = "; ".join(dict.fromkeys(tried[:4] + (["..."] if len(tried) > 4 else [])))
        raise AnnotationError(
            f"{annotation}: audio not found (linked: {link.describe()}; looked for {tried_text}). Put the recording next to "
            "the annotation file, give the folder holding it with --media-dir, or fix the link (ELAN: Edit > Linked Files). "
            "To import the text alone, use --text-only."
        )

    def _substitute(self, annotation: Path, name: str, how: str, link: MediaLink, by_convention: bool) -> FoundMedia | None:
        beside = self._beside(annotation.parent, name)
        if beside and by_convention:
            return FoundMedia(beside[0], None)
        if beside:
            path, where = beside[0], f"{how} beside the annotation file"
        else:
            found = self._in_media_dir(annotation, name)
            if found is None:
                return None
            path, where = found, f"{how} under --media-dir"
        return FoundMedia(path, MediaSubstitution(str(annotation), link.describe(), str(path), where))


def _by_name(index: Mapping[str, Sequence[Path]], name: str) -> list[Path]:
    """Files called `name`, else called `name` ignoring case; the exact match wins."""
    exact = [path for path in index.get(name, ()) if path.name == name]
    if exact:
        return list(dict.fromkeys(exact))
    return list(dict.fromkeys(index.get(name.casefold(), ())))
