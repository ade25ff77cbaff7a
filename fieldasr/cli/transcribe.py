"""`fieldasr transcribe`: recordings in, ELAN/Praat/SRT/JSON/text out."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["eaf", "textgrid", "srt", "json", "txt"]), default="eaf", show_default=True)
@click.option("--out-dir", type=click.Path(path_type=Path), help="Folder for the outputs, created when missing (default: next to each recording).")
@click.option("--into", type=click.Path(path_type=Path),
              help="Add the tiers to this existing .eaf instead (one recording). The file is first copied to FILE.bak (then .bak2, ...).")
@click.option("--tier", default="fieldasr", show_default=True, help="Tier name; word timings go to TIER-words.")
@click.option("--replace-tier", "replace_tiers", multiple=True, metavar="NAME",
              help="With --into: allow replacing tier NAME although it holds your own annotations (repeat for TIER-words).")
@click.option("--overwrite", is_flag=True, help="Transcribe again recordings whose output already exists (fieldasr's own output only; see above).")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]), default="greedy", show_default=True, help="beam uses the bundle's lexicon and n-gram LM.")
@click.option("--lm-weight", type=float, default=1.0, show_default=True)
@click.option("--word-score", type=float, default=0.0, show_default=True, help="Word insertion bonus (negative: fewer words).")
@click.option("--beam-size", type=int, default=50, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default="auto", show_default=True, help="bf16 autocast or int8 dynamic quantisation for faster CPU inference; auto: the measured CPU default (printed).")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option("--threads", type=int, help="CPU threads for the model (default: torch's choice).")
@click.option("--batch-seconds", type=float, default=120.0, show_default=True, help="Padded audio per forward pass; lower it if memory runs out.")
@click.option("--max-segment-seconds", type=float, default=20.0, show_default=True, help="VAD splits longer speech at pauses.")
@click.option("--no-word-times", is_flag=True, help="Skip the word tier (no forced alignment).")
@click.option("--confidence", is_flag=True,
              help="Write each segment's confidence (0-1; correct the lowest first) to TIER-confidence (eaf, textgrid, json).")
@click.option("--rescore-lm", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Rescore the beam's n-best list with this local Hugging Face LM (e.g. from `fieldasr transfer pretrain`).")
@click.option("--rescore-weight", type=float, default=0.5, show_default=True, help="LM weight in rescoring (tune it on dev).")
@click.option("--rescore-nbest", type=int, default=10, show_default=True, help="Hypotheses per segment to rescore.")
def transcribe(bundle: Path, inputs: tuple[Path, ...], output_format: str, out_dir: Path | None, into: Path | None, tier: str,
               replace_tiers: tuple[str, ...], overwrite: bool, decoder: str, lm_weight: float, word_score: float, beam_size: int, precision: str, device: str,
               threads: int | None, batch_seconds: float, max_segment_seconds: float, no_word_times: bool, confidence: bool,
               rescore_lm: Path | None, rescore_weight: float, rescore_nbest: int) -> None:
    """Transcribe recordings (files or folders) with a model BUNDLE.

    Long recordings are split at pauses by voice activity detection and processed in bounded memory.
    Finished files are skipped on a rerun (use --overwrite to redo them); an interrupted run keeps every
    finished file and never leaves a half-written one.

    With --into, a tier that holds your own annotations (not written by fieldasr, or corrected since) is never
    replaced unless you name it with --replace-tier; everything is checked before the model is loaded.
    --overwrite replaces only fieldasr's own, unedited output; an older TextGrid/SRT/JSON/text output is kept as
    a numbered backup (FILE.bak, FILE.bak2, ...). `fieldasr tiers FILE.eaf` shows which tiers fieldasr wrote.

    \b
    Examples:
      fieldasr transcribe exp/bundle recordings/ --format eaf --out-dir transcripts/
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --tier asr
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --tier Phrase --replace-tier Phrase
      fieldasr transcribe exp/bundle recordings/ --decoder beam --rescore-lm exp/lm_transfer/pt --rescore-weight 0.5
    """
    from fieldasr.transcribe.engine import TranscribeOptions
    from fieldasr.transcribe.runner import TranscriptionSummary, plan_transcription, run_plan
    from fieldasr.vad import VadOptions

    options = TranscribeOptions(decoder=decoder, batch_seconds=batch_seconds, word_timestamps=not no_word_times,
                                confidence=confidence, precision=precision, device=device, threads=threads,
                                vad=VadOptions(max_segment_seconds=max_segment_seconds))
    options.validate()
    plan = plan_transcription(inputs, output_format, out_dir, overwrite, into, tier, not no_word_times, replace_tiers, confidence)
    if not plan.to_transcribe:  # nothing to do: the model is not even loaded
        click.echo(run_plan(plan, transcriber=None, show_progress=False).table())
        return
    from fieldasr.bundle import load_bundle
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, beam_decoder_for, resolve_precision
    from fieldasr.transcribe.engine import Transcriber

    rescorer = None
    if rescore_lm is not None:
        from fieldasr.transfer.rescore import NbestRescorer

        rescorer = NbestRescorer(rescore_lm, rescore_weight, rescore_nbest)
    loaded = load_bundle(bundle, device=device)
    precision = resolve_precision(precision, device)
    click.echo(f"precision: {precision}", err=True)
    transcriber = Transcriber(BundleAcousticModel(loaded, precision), options,
                              beam_decoder_for(loaded, options, lm_weight, word_score, beam_size), rescorer)
    summary: TranscriptionSummary = run_plan(plan, transcriber)
    click.echo(summary.table())
    if summary.by_status("failed"):
        raise SystemExit(1)


@click.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("manifest", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the hypothesis manifest (same segment ids as MANIFEST).")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]), default="greedy", show_default=True)
@click.option("--lm-weight", type=float, default=1.0, show_default=True)
@click.option("--word-score", type=float, default=0.0, show_default=True)
@click.option("--beam-size", type=int, default=50, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default="auto", show_default=True)
def decode(bundle: Path, manifest: Path, output: Path, decoder: str, lm_weight: float, word_score: float,
           beam_size: int, precision: str) -> None:
    """Decode every segment of a MANIFEST folder with BUNDLE, for `fieldasr evaluate`.

    \b
    Example:
      fieldasr decode exp/bundle corpora_manifests/ainu-test --out hyp/ainu-test
      fieldasr evaluate --ref corpora_manifests/ainu-test --hyp hyp/ainu-test --unit word --unit phone
    """
    from fieldasr.bundle import load_bundle
    from fieldasr.transcribe import TranscribeOptions
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, beam_decoder_for, resolve_precision
    from fieldasr.transcribe.manifest_decoding import decode_manifest_to

    loaded = load_bundle(bundle)
    beam = beam_decoder_for(loaded, TranscribeOptions(decoder=decoder), lm_weight, word_score, beam_size)
    precision = resolve_precision(precision, "cpu")
    click.echo(f"precision: {precision}", err=True)
    click.echo(f"hypotheses written to {decode_manifest_to(BundleAcousticModel(loaded, precision), manifest, output, beam)}")
