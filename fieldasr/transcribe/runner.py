"""Transcribing many recordings: progress with ETA, resumable, and nothing lost on failure or Ctrl-C.

A file's output appears only when it is complete (atomic writes), so "the output exists" means "done":
a rerun skips finished files unless `overwrite` is set, and a killed run leaves no half-written file.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.audio import AUDIO_EXTENSIONS, audio_info
from fieldasr.errors import AudioError, FieldasrError
from fieldasr.transcribe.engine import Transcriber, TranscriptionError
from fieldasr.transcribe.outputs import output_path, write_into_eaf, write_transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    audio: Path
    output: Path | None
    status: str  # "written", "skipped" (already done), "failed"
    detail: str = ""  # why it failed, or a note such as "no speech detected"


@dataclass(frozen=True)
class TranscriptionSummary:
    outcomes: tuple[FileOutcome, ...]

    def by_status(self, status: str) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == status]

    def table(self) -> str:
        lines = [f"{len(self.by_status('written'))} written, {len(self.by_status('skipped'))} already done (skipped), "
                 f"{len(self.by_status('failed'))} failed"]
        lines += [f"  {o.status:8} {o.audio}" + (f" -> {o.output}" if o.output else "") + (f"  ({o.detail})" if o.detail else "")
                  for o in self.outcomes if o.status != "skipped"]
        return "\n".join(lines)


def find_audio(inputs: Iterable[str | Path]) -> list[Path]:
    """Audio files named directly or found (recursively) in folders, in a stable order."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith("."))
        elif item.is_file():
            found.append(item)
        else:
            raise TranscriptionError(f"{item}: no such file or folder.")
    if not found:
        raise TranscriptionError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {', '.join(map(str, inputs))}.")
    return found


def transcribe_paths(
    inputs: Sequence[str | Path],
    transcriber: Transcriber,
    output_format: str = "eaf",
    out_dir: Path | None = None,
    overwrite: bool = False,
    into: Path | None = None,
    tier: str = "fieldasr",
    show_progress: bool = True,
) -> TranscriptionSummary:
    """Transcribe every recording in `inputs`; `into` adds the tier to that existing .eaf (one recording only)."""
    audio_files = find_audio(inputs)
    if into is not None and len(audio_files) != 1:
        raise TranscriptionError(f"--into takes one recording, got {len(audio_files)}; transcribe a folder into new files instead.")
    if out_dir is not None and not out_dir.is_dir():
        raise TranscriptionError(f"{out_dir}: output folder does not exist. Create it first (mkdir -p {out_dir}).")
    durations = {path: _duration_or_none(path) for path in audio_files}
    total = sum(d for d in durations.values() if d)
    outcomes: list[FileOutcome] = []
    with tqdm(total=total, unit="s", desc="audio", disable=not show_progress, bar_format=_BAR) as overall:
        for audio in audio_files:
            target = into if into is not None else output_path(audio, output_format, out_dir)
            if into is None and target.exists() and not overwrite:
                outcomes.append(FileOutcome(audio, target, "skipped"))
                overall.update(durations[audio] or 0)
                continue
            start = overall.n
            outcomes.append(_one_file(audio, target, transcriber, output_format, into, tier, overall))
            overall.update(start + (durations[audio] or 0) - overall.n)  # the whole file, whatever was reported
    return TranscriptionSummary(tuple(outcomes))


_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]"


def _duration_or_none(path: Path) -> float | None:
    try:
        return audio_info(path).duration
    except AudioError:
        return None


def _one_file(audio: Path, target: Path, transcriber: Transcriber, output_format: str, into: Path | None, tier: str, overall: tqdm) -> FileOutcome:
    overall.set_postfix_str(audio.name)
    start = overall.n
    try:
        transcript = transcriber.transcribe(audio, on_progress=lambda seconds: overall.update(start + seconds - overall.n))
        if into is not None:
            write_into_eaf(transcript, into, tier)
        else:
            write_transcript(transcript, target, output_format, tier)
    except FieldasrError as error:  # one bad file must not stop a folder of good ones
        log.warning("%s: %s", audio, error)
        return FileOutcome(audio, None, "failed", str(error))
    return FileOutcome(audio, target, "written", transcript.note or "")
