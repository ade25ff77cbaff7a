"""Writing transcripts where fieldworkers want them: new ELAN/TextGrid/SRT/JSON/text files, sclite's CTM (timed
words, with each word's mean label probability as its confidence) and STM, or tiers added to an existing .eaf.
Every writer is atomic, so an interrupted run never leaves half a file. CTM and STM name the recording by its file
name without extension, on channel 1; without word times (`--no-word-times`) a CTM spreads each segment's words evenly
over the segment, as `fieldasr export-corpus --format ctm` does.

Replacing an existing output (`--overwrite`): an .eaf is replaced only while everything in it is fieldasr's
unedited output (`check_replaceable_output` refuses otherwise, before any work); a TextGrid, SRT, JSON or
text file cannot carry fieldasr's mark, so the previous one is kept as a numbered backup (`rec.TextGrid.bak`,
`rec.TextGrid.bak2`, ...) before it is replaced.

With `confidence`, each segment's confidence goes to `<tier>-confidence` ("0.873"): in ELAN a Symbolic_Association
dependent of the transcription tier, in a TextGrid or JSON a tier of the same intervals.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from fieldasr.data.eaf_text import EafText
from fieldasr.data.elan_provenance import AudioIdentity, summarise_tiers
from fieldasr.data.elan_write import write_new_eaf, write_tiers_into_eaf
from fieldasr.data.export import TimedText, atomic_write_text, write_json, write_srt
from fieldasr.data.formats import CtmWord, StmLine, write_ctm, write_stm
from fieldasr.data.formats.sclite import spread_words
from fieldasr.data.textgrid import write_textgrid
from fieldasr.errors import AnnotationError
from fieldasr.files import keep_backup
from fieldasr.transcribe.engine import Transcript, TranscriptionError

FORMATS = {"eaf": ".eaf", "textgrid": ".TextGrid", "srt": ".srt", "json": ".json", "txt": ".txt", "ctm": ".ctm", "stm": ".stm"}
CONFIDENCE_FORMATS = ("eaf", "textgrid", "json")  # those that hold more than one tier


def tier_names(tier: str, word_tier: bool = True, confidence: bool = False) -> list[str]:
    """The tiers a transcript is written to: `tier`, `<tier>-words` for the timed words, `<tier>-confidence`."""
    return [tier] + ([f"{tier}-words"] if word_tier else []) + ([confidence_tier(tier)] if confidence else [])


def confidence_tier(tier: str) -> str:
    return f"{tier}-confidence"


def check_confidence_format(output_format: str) -> None:
    if output_format not in CONFIDENCE_FORMATS:
        raise TranscriptionError(f"--confidence writes a confidence tier, which --format {output_format} cannot hold; "
                                 f"choose --format {', '.join(CONFIDENCE_FORMATS)}, or leave out --confidence.")


def transcript_tiers(transcript: Transcript, tier: str, word_tier: bool = True,
                     confidence: bool = False) -> dict[str, list[tuple[float, float, str]]]:
    """Tier name → (start, end, text): the segments, each timed word on `<tier>-words`, and each segment's
    confidence on `<tier>-confidence` (the transcript must have been made with `TranscribeOptions.confidence`)."""
    tiers = {tier: [(segment.start, segment.end, segment.text) for segment in transcript.segments]}
    if word_tier:
        tiers[f"{tier}-words"] = [(word.start, word.end, word.word) for segment in transcript.segments for word in segment.words]
    if confidence:
        if any(segment.confidence is None for segment in transcript.segments):
            raise TranscriptionError("a confidence tier was asked for, but the transcript was made without confidence "
                                     "(TranscribeOptions.confidence).")
        tiers[confidence_tier(tier)] = [(segment.start, segment.end, f"{segment.confidence:.3f}") for segment in transcript.segments]
    return tiers


def check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise TranscriptionError(f"unknown output format {output_format!r}; choose one of {', '.join(FORMATS)}.")


def output_path(audio: Path, output_format: str, out_dir: Path | None) -> Path:
    check_format(output_format)
    folder = out_dir if out_dir is not None else audio.parent
    return folder / (audio.stem + FORMATS[output_format])


def check_replaceable_output(path: Path) -> None:
    """Raise when replacing the existing .eaf output `path` would lose work that is not fieldasr's unedited output."""
    if path.suffix.lower() != FORMATS["eaf"]:
        return  # cannot carry a mark: backed up before it is replaced
    theirs = [summary for summary in summarise_tiers(EafText.read(path)) if not summary.is_fieldasr_output]
    if theirs:
        described = ", ".join(f"{s.name!r} ({'edited since fieldasr wrote it' if s.provenance else 'not written by fieldasr'})"
                              for s in theirs)
        raise AnnotationError(
            f"{path}: --overwrite would replace this whole file, but it holds work that is not fieldasr's unedited output: "
            f"tier {described}. Nothing was written. Move the file elsewhere first, or add a new tier to it instead "
            f"with --into {path} --tier NEW-NAME."
        )


def write_transcript(transcript: Transcript, path: Path, output_format: str, tier: str = "fieldasr", word_tier: bool = True,
                     audio: AudioIdentity | None = None, tiers: Mapping[str, Sequence[TimedText]] | None = None,
                     confidence: bool = False) -> Path:
    """Write `transcript` as a new file at `path`; an existing one is replaced atomically (see the module docstring).
    `tiers` replaces the transcript's own `tier` / `<tier>-words` (e.g. one pair per speaker: `segment_tiers`)."""
    check_format(output_format)
    if confidence:
        check_confidence_format(output_format)
    tiers = tiers if tiers is not None else transcript_tiers(transcript, tier, word_tier, confidence)
    if path.exists():
        check_replaceable_output(path)  # again: the file may have been edited while the model was running
        if output_format != "eaf":
            keep_backup(path, path.read_bytes())
    if output_format == "eaf":
        return write_new_eaf(path, transcript.audio, tiers, overwrite=True, audio=audio, associations=_associations(tier, confidence))
    if output_format == "textgrid":
        return write_textgrid(path, transcript.duration, tiers)
    if output_format == "srt":
        return write_srt(path, tiers[tier])
    if output_format == "json":
        metadata = {"note": transcript.note} if transcript.note else {}
        return write_json(path, tiers, media_path=transcript.audio, duration=transcript.duration, metadata=metadata)
    if output_format == "txt":
        return atomic_write_text(path, "".join(f"{segment.text}\n" for segment in transcript.segments))
    if output_format == "ctm":
        return write_ctm(path, transcript_words(transcript))
    if output_format == "stm":
        name = transcript.audio.stem
        return write_stm(path, [StmLine(name, "1", None, segment.start, segment.end, segment.text) for segment in transcript.segments])
    raise TranscriptionError(f"output format {output_format!r} has no writer.")  # a FORMATS entry without a branch above


def transcript_words(transcript: Transcript) -> list[CtmWord]:
    """The CTM words of a transcript: aligned words with their score, else each segment's words spread evenly."""
    name, words = transcript.audio.stem, []
    for segment in transcript.segments:
        if segment.words:
            words += [CtmWord(name, "1", word.start, word.end - word.start, word.word, word.score) for word in segment.words]
        else:
            words += spread_words(name, segment.start, segment.end, segment.text)
    return words


def _associations(tier: str, confidence: bool) -> dict[str, str]:
    return {confidence_tier(tier): tier} if confidence else {}


def write_into_eaf(transcript: Transcript, eaf_path: Path, tier: str, word_tier: bool = True, *,
                   replace: Collection[str] = (), audio: AudioIdentity | None = None, confidence: bool = False) -> Path:
    """Add or replace `tier` (and `<tier>-words`, `<tier>-confidence`) in the user's .eaf in one atomic write; every
    other tier stays as it was, and a tier that is not fieldasr's unedited output is replaced only when named in `replace`."""
    return write_tiers_into_eaf(eaf_path, transcript_tiers(transcript, tier, word_tier, confidence), audio=audio,
                                replace=replace, associations=_associations(tier, confidence))
