"""`fieldasr vad-chunk` (untranscribed recordings → 2-20 s speech chunks) and `fieldasr pretrain` (continued wav2vec 2.0 pretraining)."""
from __future__ import annotations

from pathlib import Path

import click

from fieldasr.device import DEVICE_HELP


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
    import dataclasses

    from fieldasr.ssl.vad_chunking import CHUNKING_VAD, ChunkingOptions, chunk_sources

    options = ChunkingOptions(min_seconds=min_seconds, max_seconds=max_seconds, max_pause_seconds=max_pause,
                              vad=dataclasses.replace(CHUNKING_VAD, threshold=threshold))
    chunked = chunk_sources(sources, out_dir, language=language, options=options)
    result = chunked.result
    click.echo(f"{chunked.recordings} recording(s), {chunked.audio_seconds / 3600:.3f} h of audio, {result.speech_seconds / 3600:.3f} h of speech")
    click.echo(f"kept {len(result.segments)} chunk(s), {result.kept_seconds / 3600:.3f} h -> {out_dir}")
    for reason, (count, seconds) in sorted(result.discarded_by_reason().items()):
        click.secho(f"left out {count} ({seconds:.1f} s): {reason}", fg="yellow")
    if result.discarded:
        click.echo(f"the list of what was left out is in {out_dir / 'discarded.tsv'}")


@click.command("pretrain")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("manifest_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Experiment folder: checkpoints, log.csv, and the final checkpoint in OUT/checkpoint. "
                   "Rerunning with the same folder resumes a killed run.")
@click.option("--replay", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Manifest folder of source-language audio mixed in to limit forgetting.")
@click.option("--replay-fraction", default=0.0, show_default=True, help="Share of the audio taken from --replay (0.1-0.3 is typical).")
@click.option("--max-steps", default=10000, show_default=True, help="Optimizer updates in total.")
@click.option("--lr", default=5e-5, show_default=True, help="Peak learning rate.")
@click.option("--warmup-steps", type=int, help="Linear warm-up, then linear decay to 0 [default: a tenth of --max-steps].")
@click.option("--max-batch-seconds", default=60.0, show_default=True, help="Padded audio per batch.")
@click.option("--grad-accumulation", default=1, show_default=True)
@click.option("--precision", default="fp32", show_default=True, type=click.Choice(["fp32", "bf16", "fp16"]))
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--checkpoint-minutes", default=15.0, show_default=True, help="Minutes between resumable checkpoints.")
@click.option("--seed", default=0, show_default=True)
@click.option("--mask-length", default=10, show_default=True, help="Frames per masked span (Conformer frames are 40 ms: 5 is wav2vec 2.0's 200 ms).")
@click.option("--mask-probability", default=0.65, show_default=True, help="Share of frames that start a masked span.")
@click.option("--num-negatives", default=100, show_default=True, help="Distractors per masked frame.")
@click.option("--diversity-weight", default=0.1, show_default=True,
              help="Weight of the codebook diversity loss (wav2vec 2.0's 0.1; 0.3 suits a small Conformer, whose codebook "
                   "collapsed at 0.1: docs/training.md).")
def pretrain(source: Path, manifest_dir: Path, out_dir: Path, replay: Path | None, replay_fraction: float, max_steps: int,
             lr: float, warmup_steps: int | None, max_batch_seconds: float, grad_accumulation: int, precision: str,
             device: str, checkpoint_minutes: float, seed: int, mask_length: int, mask_probability: float, num_negatives: int,
             diversity_weight: float) -> None:
    """Self-supervised wav2vec 2.0 pretraining of SOURCE on the audio of MANIFEST_DIR.

    SOURCE is a local Hugging Face checkpoint folder (config.json + weights, e.g. XLSR-53) or a Conformer SSL
    checkpoint folder to continue (in a new --out: new optimizer, warm-up again), or a JSON file of settings to
    pretrain from scratch: wav2vec 2.0 config settings, or a filterbank Conformer such as
    {"architecture": "conformer", "size": "small"}. MANIFEST_DIR holds recordings.jsonl(.gz) and
    segments.jsonl(.gz), e.g. from `fieldasr vad-chunk`; transcripts, if any, are not used.
    """
    from fieldasr.device import resolve_device
    from fieldasr.ssl.pretrain import continue_pretraining, pretraining_source
    from fieldasr.models.conformer_checkpoint import is_conformer_checkpoint
    from fieldasr.ssl.pretraining_task import PretrainingOptions

    device = resolve_device(device)
    click.echo(f"device: {device}", err=True)
    summary = continue_pretraining(
        pretraining_source(source), manifest_dir, out_dir, replay=replay, replay_fraction=replay_fraction, max_steps=max_steps,
        lr=lr, warmup_steps=warmup_steps, max_batch_seconds=max_batch_seconds, grad_accumulation=grad_accumulation,
        precision=precision, device=device, checkpoint_interval_minutes=checkpoint_minutes, seed=seed,
        options=PretrainingOptions(mask_probability=mask_probability, mask_length=mask_length, num_negatives=num_negatives,
                                   diversity_weight=diversity_weight),
    )
    if summary.skipped_short_segments:
        click.secho(f"left out {summary.skipped_short_segments} segment(s) too short for span masking", fg="yellow")
    for warning in summary.warnings:
        click.secho(f"guard: {warning.message}", fg="yellow")
    click.echo(f"done: {summary.steps} steps ({summary.steps_this_run} in this run), "
               f"loss {summary.first_loss:.3f} -> {summary.final_loss:.3f}; log in {summary.log}")
    setting = "model.init_from, conformer_ctc" if is_conformer_checkpoint(summary.checkpoint) else "model.pretrained, wav2vec2_ctc"
    click.echo(f"checkpoint for CTC fine-tuning ({setting}): {summary.checkpoint}")

