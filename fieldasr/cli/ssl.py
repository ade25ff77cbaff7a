"""`fieldasr vad-chunk`: untranscribed recordings → 2-20 s speech chunks for self-supervised pretraining."""
from __future__ import annotations

from pathlib import Path

import click

from fieldasr.ssl.vad_chunking import ChunkingOptions, chunk_recordings, find_recordings


@click.command("vad-chunk")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for recordings.jsonl.gz, segments.jsonl.gz, discarded.tsv and the VAD log "
                   "vad_regions.jsonl (a killed run resumes from it; re-chunking reuses it).")
@click.option("--min-seconds", default=2.0, show_default=True, help="Shorter speech chunks are left out (and listed).")
@click.option("--max-seconds", default=20.0, show_default=True, help="Longer speech is cut into even pieces.")
@click.option("--max-pause", default=1.0, show_default=True, help="Pauses up to this many seconds stay inside a chunk.")
@click.option("--threshold", default=0.5, show_default=True, help="silero-vad speech probability threshold.")
@click.option("--language", help="Language code written on every chunk (e.g. ain).")
def vad_chunk(sources: tuple[Path, ...], out_dir: Path, min_seconds: float, max_seconds: float, max_pause: float,
              threshold: float, language: str | None) -> None:
    """Find speech in SOURCES (audio files, folders, or recordings manifests) and write it as chunks."""
    recordings = find_recordings(sources)
    options = ChunkingOptions(min_seconds=min_seconds, max_seconds=max_seconds, max_pause_seconds=max_pause,
                              speech_threshold=threshold)
    result = chunk_recordings(recordings, out_dir, language=language, options=options)
    total = sum(recording.duration for recording in recordings)
    click.echo(f"{len(recordings)} recording(s), {total / 3600:.3f} h of audio, {result.speech_seconds / 3600:.3f} h of speech")
    click.echo(f"kept {len(result.segments)} chunk(s), {result.kept_seconds / 3600:.3f} h -> {out_dir}")
    for reason, (count, seconds) in sorted(result.discarded_by_reason().items()):
        click.secho(f"left out {count} ({seconds:.1f} s): {reason}", fg="yellow")
    if result.discarded:
        click.echo(f"the list of what was left out is in {out_dir / 'discarded.tsv'}")
