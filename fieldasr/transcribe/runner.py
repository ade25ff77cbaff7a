"""Transcribing many recordings: progress with ETA, resumable, and nothing lost on failure or Ctrl-C.

First a plan (`plan_transcription`) checks every input and output, before a model is loaded: a mistake is an
error that costs nothing and changes nothing. A file's output appears only when it is complete (atomic
writes), so "the output exists" means "done": a rerun skips finished files unless `overwrite` is set, and a
killed run leaves no half-written file. With `into`, "done" means the .eaf already holds fieldasr's unedited
tiers for this very recording (same audio digest).
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fieldasr.audio import AUDIO_EXTENSIONS, audio_info
from fieldasr.data.elan_provenance import AudioIdentity
from fieldasr.data.elan_write import plan_eaf_write
from fieldasr.data.textgrid import TEXTGRID_SUFFIXES
from fieldasr.errors import AudioError, FieldasrError
from fieldasr.transcribe.engine import Transcriber, Transcript, TranscriptionError
from fieldasr.transcribe.segment_tiers import (SegmentRequest, all_spans, dependent_tier_placement, read_segmentation, segment_groups,
                                               write_groups_into_eaf, write_groups_to_new_file)
from fieldasr.transcribe.spans import TimeSpan
from fieldasr.transcribe.outputs import (FORMATS, check_confidence_format, check_format, check_replaceable_output, output_path, tier_names,
                                        write_into_eaf, write_transcript)

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
            raise TranscriptionError(f"{item}: no such file or folder. Check the path of the recording (or folder of recordings).")
    if not found:
        raise TranscriptionError(f"{', '.join(map(str, inputs))}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) found. "
                                 "Name recordings, or folders that hold them.")
    return found


@dataclass(frozen=True)
class FileJob:
    audio: Path
    output: Path
    already_done: bool  # the output exists (new files) or holds fieldasr's unedited tiers of this audio (--into)
    identity: AudioIdentity | None = None  # computed for --into only (new .eaf files compute their own)
    within: tuple[TimeSpan, ...] | None = None  # an existing segmentation to transcribe inside (None: wherever VAD finds speech)


@dataclass(frozen=True)
class TranscriptionPlan:
    """Everything checked before a model is loaded or any audio is transcribed: a refused run costs nothing."""

    jobs: tuple[FileJob, ...]
    output_format: str
    tier: str
    word_tier: bool
    into: Path | None = None
    replace_tiers: tuple[str, ...] = ()
    out_dir: Path | None = None
    # Writes a finished transcript instead of the format writers (segment tiers, ELAN's recognizer protocol);
    # returns a note for the summary, e.g. what it left out.
    deliver: Callable[[Transcript, FileJob], str | None] | None = None
    confidence: bool = False  # write each segment's confidence to `<tier>-confidence`

    @property
    def to_transcribe(self) -> list[FileJob]:
        return [job for job in self.jobs if not job.already_done]


def _check_into(into: Path, audio_files: Sequence[Path], out_dir: Path | None, output_format: str) -> None:
    if into.suffix.lower() in TEXTGRID_SUFFIXES:
        raise TranscriptionError(f"{into}: --into adds tiers to an existing ELAN .eaf file; a Praat TextGrid cannot be "
                                 "extended in place. Write a new TextGrid instead: --format textgrid --out-dir FOLDER.")
    if into.suffix.lower() != FORMATS["eaf"]:
        raise TranscriptionError(f"{into}: --into takes an ELAN .eaf file. For other formats write new files with "
                                 "--format FORMAT --out-dir FOLDER.")
    if not into.exists():
        raise TranscriptionError(f"{into}: not found. --into adds tiers to an existing .eaf; check the path, or leave out "
                                 "--into to write a new .eaf next to the recording (or in --out-dir).")
    if out_dir is not None:
        raise TranscriptionError(f"{into}: --into writes into that file, so --out-dir {out_dir} would be ignored. Leave out one of them.")
    if output_format != "eaf":
        raise TranscriptionError(f"{into}: --into writes tiers into that .eaf, so --format {output_format} would be ignored. "
                                 "Leave out one of them.")
    if len(audio_files) != 1:
        raise TranscriptionError(f"{into}: --into takes one recording, got {len(audio_files)} ({', '.join(p.name for p in audio_files[:3])}"
                                 f"{', ...' if len(audio_files) > 3 else ''}). Transcribe a folder into new files with --out-dir instead.")


def _new_file_jobs(audio_files: Sequence[Path], output_format: str, out_dir: Path | None, overwrite: bool) -> list[FileJob]:
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise TranscriptionError(f"{out_dir}: --out-dir names a file, not a folder. Choose a folder (it is created when missing).")
    jobs, sources = [], {}
    for audio in audio_files:
        target = output_path(audio, output_format, out_dir)
        if target in sources:
            raise TranscriptionError(f"{target}: recordings {sources[target]} and {audio} would both be written here. "
                                     "Rename one of them, or transcribe them into different --out-dir folders.")
        sources[target] = audio
        if target.exists() and overwrite:
            check_replaceable_output(target)
        jobs.append(FileJob(audio, target, target.exists() and not overwrite))
    return jobs


def plan_transcription(
    inputs: Sequence[str | Path],
    output_format: str = "eaf",
    out_dir: Path | None = None,
    overwrite: bool = False,
    into: Path | None = None,
    tier: str = "fieldasr",
    word_tier: bool = True,
    replace_tiers: Sequence[str] = (),
    segments: SegmentRequest | None = None,
    confidence: bool = False,
) -> TranscriptionPlan:
    """Check every input and output and decide what to do with each recording; raises before any work.
    With `segments`, transcribe inside an existing segmentation (`fieldasr.transcribe.segment_tiers`)."""
    check_format(output_format)
    if confidence:
        check_confidence_format(output_format)
    if replace_tiers and into is None:
        raise TranscriptionError(f"--replace-tier {' '.join(replace_tiers)} applies only with --into (adding tiers to an "
                                 "existing .eaf). New files never replace anyone's tiers; leave it out.")
    audio_files = find_audio(inputs)
    common = dict(output_format=output_format, tier=tier, word_tier=word_tier, out_dir=out_dir)
    if segments is not None:
        if confidence:
            raise TranscriptionError("--confidence is not written inside existing segments yet (--segments-from-tier); "
                                     "run without --confidence, or transcribe the recording without --segments-from-tier.")
        return _plan_in_segments(audio_files, segments, overwrite, into, tuple(replace_tiers), **common)
    common["confidence"] = confidence
    if into is None:
        return TranscriptionPlan(tuple(_new_file_jobs(audio_files, output_format, out_dir, overwrite)), **common)
    _check_into(into, audio_files, out_dir, output_format)
    identity = AudioIdentity.of(audio_files[0])
    plan = plan_eaf_write(into, tier_names(tier, word_tier, confidence), identity, replace=replace_tiers, overwrite=overwrite)
    job = FileJob(audio_files[0], into, plan.already_done, identity)
    return TranscriptionPlan((job,), into=into, replace_tiers=tuple(replace_tiers), **common)


def _plan_in_segments(audio_files: Sequence[Path], segments: SegmentRequest, overwrite: bool, into: Path | None,
                      replace_tiers: tuple[str, ...], output_format: str, tier: str, word_tier: bool,
                      out_dir: Path | None) -> TranscriptionPlan:
    if len(audio_files) != 1:
        raise TranscriptionError(f"--segments-from-tier takes one recording (the one its segmentation belongs to), got "
                                 f"{len(audio_files)} ({', '.join(p.name for p in audio_files[:3])}{', ...' if len(audio_files) > 3 else ''}).")
    audio = audio_files[0]
    if into is not None:
        _check_into(into, audio_files, out_dir, output_format)
    source = segments.source_file(into, output_format)
    groups = segment_groups(read_segmentation(source, segments.tiers), tier, word_tier, segments.redo_transcribed)
    within = all_spans(groups)
    common = dict(output_format=output_format, tier=tier, word_tier=word_tier, out_dir=out_dir)
    if into is not None:
        identity = AudioIdentity.of(audio)
        parents, _ = dependent_tier_placement(groups)
        names = [name for group in groups for name in group.names]
        done = plan_eaf_write(into, names, identity, replace=replace_tiers, overwrite=overwrite, parents=parents).already_done
        job = FileJob(audio, into, done or not within, identity, within)
        deliver = functools.partial(write_groups_into_eaf, groups=groups, replace=replace_tiers)
        return TranscriptionPlan((job,), into=into, replace_tiers=replace_tiers, deliver=deliver, **common)
    [job] = _new_file_jobs([audio], output_format, out_dir, overwrite)
    if job.output.resolve() == source.resolve():
        raise TranscriptionError(f"{source}: the new {output_format} file would replace the segmentation it is read from. Write it "
                                 "elsewhere with --out-dir FOLDER" + (", or add the tiers to it with --into." if source.suffix.lower() == ".eaf" else "."))
    job = dataclasses.replace(job, already_done=job.already_done or not within, within=within)
    deliver = functools.partial(write_groups_to_new_file, groups=groups, output_format=output_format)
    return TranscriptionPlan((job,), deliver=deliver, **common)


def plan_delivery(audio: Path, output: Path, deliver: Callable[[Transcript, FileJob], str | None],
                  within: Sequence[TimeSpan] | None = None) -> TranscriptionPlan:
    """One recording whose transcript goes to `deliver` instead of a format writer (e.g. ELAN's recognizer
    protocol, `fieldasr.elan_recognizer`); `output` is where it writes, for the summary."""
    if not Path(audio).is_file():
        raise TranscriptionError(f"{audio}: recording not found. Check that the file exists and is linked where ELAN expects it.")
    job = FileJob(Path(audio), Path(output), False, within=None if within is None else tuple(within))
    return TranscriptionPlan((job,), output_format="json", tier="fieldasr", word_tier=True, deliver=deliver)


def run_plan(plan: TranscriptionPlan, transcriber: Transcriber | None, show_progress: bool = True,
             on_progress: Callable[[float], None] | None = None) -> TranscriptionSummary:
    """Transcribe the recordings a plan leaves to do; finished files are kept whatever happens later.
    `transcriber` may be None when nothing is left to do (a rerun need not load the model); `on_progress`
    receives the fraction of the audio done so far (0 to 1)."""
    todo = plan.to_transcribe
    if todo and plan.out_dir is not None:
        plan.out_dir.mkdir(parents=True, exist_ok=True)
    durations = {job.audio: _duration_or_none(job.audio) for job in todo}
    outcomes: list[FileOutcome] = []
    total, finished = sum(d for d in durations.values() if d), 0.0  # seconds of audio (tqdm counts nothing when disabled)
    with tqdm(total=total, unit="s", desc="audio", disable=not show_progress, bar_format=_BAR) as overall:
        for job in plan.jobs:
            if job.already_done:
                outcomes.append(FileOutcome(job.audio, job.output, "skipped", "already done"))
                continue
            start = overall.n
            report = None if on_progress is None or not total else (
                lambda seconds, before=finished: on_progress(min(1.0, (before + seconds) / total)))
            outcomes.append(_one_file(job, plan, transcriber, overall, report))
            overall.update(start + (durations[job.audio] or 0) - overall.n)  # the whole file, whatever was reported
            finished += durations[job.audio] or 0
            if report is not None:
                on_progress(min(1.0, finished / total))
    return TranscriptionSummary(tuple(outcomes))


def transcribe_paths(
    inputs: Sequence[str | Path],
    transcriber: Transcriber,
    output_format: str = "eaf",
    out_dir: Path | None = None,
    overwrite: bool = False,
    into: Path | None = None,
    tier: str = "fieldasr",
    show_progress: bool = True,
    replace_tiers: Sequence[str] = (),
) -> TranscriptionSummary:
    """Plan, then transcribe every recording in `inputs`; `into` adds the tiers to that existing .eaf (one recording only)."""
    plan = plan_transcription(inputs, output_format, out_dir, overwrite, into, tier,
                              transcriber.options.word_timestamps, replace_tiers, confidence=transcriber.options.confidence)
    return run_plan(plan, transcriber, show_progress)


_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]"


def _duration_or_none(path: Path) -> float | None:
    try:
        return audio_info(path).duration
    except AudioError:
        return None


def _one_file(job: FileJob, plan: TranscriptionPlan, transcriber: Transcriber, overall: tqdm,
              report: Callable[[float], None] | None) -> FileOutcome:
    """`report` receives the seconds of this file done so far."""
    overall.set_postfix_str(job.audio.name)
    start = overall.n

    def advance(seconds: float) -> None:
        overall.update(start + seconds - overall.n)
        if report is not None:
            report(seconds)

    note = None
    try:
        transcript = transcriber.transcribe(job.audio, on_progress=advance, within=job.within)
        if plan.deliver is not None:
            note = plan.deliver(transcript, job)
        elif plan.into is not None:
            write_into_eaf(transcript, plan.into, plan.tier, plan.word_tier, replace=plan.replace_tiers, audio=job.identity,
                           confidence=plan.confidence)
        else:
            write_transcript(transcript, job.output, plan.output_format, plan.tier, plan.word_tier, confidence=plan.confidence)
    except FieldasrError as error:  # one bad file must not stop a folder of good ones
        log.warning("%s: %s", job.audio, error)
        return FileOutcome(job.audio, None, "failed", str(error))
    return FileOutcome(job.audio, job.output, "written", note or transcript.note or "")
