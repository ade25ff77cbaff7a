"""Writing transcripts where fieldworkers want them: new ELAN/TextGrid/SRT/JSON/text files, or one tier
added to an existing .eaf. Every writer is atomic, so an interrupted run never leaves half a file."""
from __future__ import annotations

from pathlib import Path

from fieldasr.data.elan_write import write_new_eaf, write_tier_into_eaf
from fieldasr.data.export import atomic_write_text, write_json, write_srt
from fieldasr.data.textgrid import write_textgrid
from fieldasr.transcribe.engine import Transcript, TranscriptionError

FORMATS = {"eaf": ".eaf", "textgrid": ".TextGrid", "srt": ".srt", "json": ".json", "txt": ".txt"}


def transcript_tiers(transcript: Transcript, tier: str, word_tier: bool = True) -> dict[str, list[tuple[float, float, str]]]:
    """Tier name → (start, end, text): the segments, and each timed word on `<tier>-words`."""
    tiers = {tier: [(segment.start, segment.end, segment.text) for segment in transcript.segments]}
    if word_tier:
        tiers[f"{tier}-words"] = [(word.start, word.end, word.word) for segment in transcript.segments for word in segment.words]
    return tiers


def output_path(audio: Path, output_format: str, out_dir: Path | None) -> Path:
    if output_format not in FORMATS:
        raise TranscriptionError(f"unknown output format {output_format!r}; choose one of {', '.join(FORMATS)}.")
    folder = out_dir if out_dir is not None else audio.parent
    return folder / (audio.stem + FORMATS[output_format])


def write_transcript(transcript: Transcript, path: Path, output_format: str, tier: str = "fieldasr") -> Path:
    """Write `transcript` as a new file at `path` (replacing it atomically if it exists)."""
    tiers = transcript_tiers(transcript, tier)
    if output_format == "eaf":
        return write_new_eaf(path, transcript.audio, tiers, overwrite=True)
    if output_format == "textgrid":
        return write_textgrid(path, transcript.duration, tiers)
    if output_format == "srt":
        return write_srt(path, tiers[tier])
    if output_format == "json":
        metadata = {"note": transcript.note} if transcript.note else {}
        return write_json(path, tiers, media_path=transcript.audio, duration=transcript.duration, metadata=metadata)
    if output_format == "txt":
        return atomic_write_text(path, "".join(f"{segment.text}\n" for segment in transcript.segments))
    raise TranscriptionError(f"unknown output format {output_format!r}; choose one of {', '.join(FORMATS)}.")


def write_into_eaf(transcript: Transcript, eaf_path: Path, tier: str, word_tier: bool = True) -> Path:
    """Add or replace `tier` (and `<tier>-words`) in the user's .eaf; every other tier stays as it was."""
    for name, annotations in transcript_tiers(transcript, tier, word_tier).items():
        write_tier_into_eaf(eaf_path, name, annotations, backup=name == tier)
    return eaf_path
