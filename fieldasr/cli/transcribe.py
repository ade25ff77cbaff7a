"""`fieldasr transcribe`: recordings in, ELAN/Praat/SRT/JSON/text/sclite CTM and STM out."""
from __future__ import annotations

from pathlib import Path

import click

from fieldasr.device import DEVICE_HELP


@click.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["eaf", "textgrid", "srt", "json", "txt", "ctm", "stm"]), default="eaf", show_default=True)
@click.option("--out-dir", type=click.Path(path_type=Path), help="Folder for the outputs, created when missing (default: next to each recording).")
@click.option("--into", type=click.Path(path_type=Path),
              help="Add the tiers to this existing .eaf instead (one recording). The file is first copied to FILE.bak (then .bak2, ...).")
@click.option("--tier", default="fieldasr", show_default=True, help="Tier name; word timings go to TIER-words.")
@click.option("--replace-tier", "replace_tiers", multiple=True, metavar="NAME",
              help="With --into: allow replacing tier NAME although it holds your own annotations (repeat for TIER-words).")
@click.option("--overwrite", is_flag=True, help="Transcribe again recordings whose output already exists (fieldasr's own output only; see above).")
@click.option("--segments-from-tier", "segments_from", multiple=True, metavar="TIER",
              help="Transcribe only inside the annotations of TIER (or of every TIER@SPEAKER tier), from the --into .eaf or "
                   "--segments-file; one tier per speaker is written (asr@A, asr-words@A, ...).")
@click.option("--segments-file", type=click.Path(path_type=Path), help="The .eaf or .TextGrid holding the --segments-from-tier tier "
              "(not needed with --into, whose file is used).")
@click.option("--redo-transcribed", is_flag=True, help="With --segments-from-tier: transcribe segments that already hold text too "
              "(by default they are left alone).")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]), default="greedy", show_default=True, help="beam uses the bundle's lexicon and n-gram LM.")
@click.option("--lm-weight", type=float, default=1.0, show_default=True)
@click.option("--word-score", type=float, default=0.0, show_default=True, help="Word insertion bonus (negative: fewer words).")
@click.option("--beam-size", type=int, default=50, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default="auto", show_default=True, help="bf16 autocast or int8 dynamic quantisation for faster CPU inference; auto: the measured CPU default (printed).")
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--language", help="Per-language adapter to run (models trained with adapters; default: the bundle's language).")
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
               replace_tiers: tuple[str, ...], overwrite: bool, segments_from: tuple[str, ...], segments_file: Path | None,
               redo_transcribed: bool, decoder: str, lm_weight: float, word_score: float, beam_size: int, precision: str, device: str,
               language: str | None, threads: int | None, batch_seconds: float, max_segment_seconds: float, no_word_times: bool,
               confidence: bool,
               rescore_lm: Path | None, rescore_weight: float, rescore_nbest: int) -> None:
    """Transcribe recordings (files or folders) with a model BUNDLE.

    Long recordings are split at pauses by voice activity detection and processed in bounded memory.
    Finished files are skipped on a rerun (use --overwrite to redo them); an interrupted run keeps every
    finished file and never leaves a half-written one.

    With --into, a tier that holds your own annotations (not written by fieldasr, or corrected since) is never
    replaced unless you name it with --replace-tier; everything is checked before the model is loaded.
    --overwrite replaces only fieldasr's own, unedited output; an older TextGrid/SRT/JSON/text output is kept as
    a numbered backup (FILE.bak, FILE.bak2, ...). `fieldasr tiers FILE.eaf` shows which tiers fieldasr wrote.

    With --segments-from-tier, the recording is transcribed only inside an existing segmentation (say, an ELAN
    tier of empty or partly filled annotations): segments that already hold text are left alone (unless
    --redo-transcribed), segments without speech stay empty. Into an .eaf the new tiers become dependent tiers
    (Included_In) of their segmentation tier, with its participant.

    \b
    Examples:
      fieldasr transcribe exp/bundle recordings/ --format eaf --out-dir transcripts/
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --segments-from-tier Phrase --tier asr
      fieldasr transcribe exp/bundle session3.wav --segments-file session3.TextGrid --segments-from-tier Phrase --format textgrid --out-dir asr/
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --tier asr
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --tier Phrase --replace-tier Phrase
      fieldasr transcribe exp/bundle recordings/ --decoder beam --rescore-lm exp/lm_transfer/pt --rescore-weight 0.5
    """
    from fieldasr.device import resolve_device
    from fieldasr.transcribe.engine import TranscribeOptions
    from fieldasr.transcribe.runner import TranscriptionSummary, plan_transcription, run_plan
    from fieldasr.transcribe.segment_tiers import SegmentRequest
    from fieldasr.vad import VadOptions

    device = resolve_device(device, precision)  # int8 on a GPU is refused here, before CUDA is touched
    options = TranscribeOptions(decoder=decoder, batch_seconds=batch_seconds, word_timestamps=not no_word_times,
                                confidence=confidence, precision=precision, device=device, threads=threads,
                                vad=VadOptions(max_segment_seconds=max_segment_seconds))
    options.validate()
    if (segments_file is not None or redo_transcribed) and not segments_from:
        raise click.UsageError("--segments-file and --redo-transcribed go with --segments-from-tier TIER.")
    segments = SegmentRequest(segments_from, segments_file, redo_transcribed) if segments_from else None
    plan = plan_transcription(inputs, output_format, out_dir, overwrite, into, tier, not no_word_times, replace_tiers,
                              segments, confidence)
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
    click.echo(f"device: {device}, precision: {precision}", err=True)
    acoustic_model = BundleAcousticModel(loaded, precision, language)
    if acoustic_model.language_for_audio() is not None:
        click.echo(f"adapter language: {acoustic_model.language}", err=True)
    transcriber = Transcriber(acoustic_model, options,
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
@click.option("--language", help="Per-language adapter for every segment (models with adapters; default: each segment's "
                                 "language when the model has its adapter, else the bundle's language).")
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
def decode(bundle: Path, manifest: Path, output: Path, decoder: str, lm_weight: float, word_score: float,
           beam_size: int, precision: str, language: str | None, device: str) -> None:
    """Decode every segment of a MANIFEST folder with BUNDLE, for `fieldasr evaluate`.

    \b
    Example:
      fieldasr decode exp/bundle corpora_manifests/ainu-test --out hyp/ainu-test
      fieldasr evaluate --ref corpora_manifests/ainu-test --hyp hyp/ainu-test --unit word --unit phone
    """
    from fieldasr.bundle import load_bundle
    from fieldasr.device import resolve_device
    from fieldasr.transcribe import TranscribeOptions
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, beam_decoder_for, resolve_precision
    from fieldasr.transcribe.manifest_decoding import decode_manifest_to

    device = resolve_device(device, precision)  # int8 on a GPU is refused here, before CUDA is touched
    loaded = load_bundle(bundle, device=device)
    beam = beam_decoder_for(loaded, TranscribeOptions(decoder=decoder), lm_weight, word_score, beam_size)
    precision = resolve_precision(precision, device)
    click.echo(f"device: {device}, precision: {precision}", err=True)
    acoustic_model = BundleAcousticModel(loaded, precision, language)
    click.echo(f"hypotheses written to {decode_manifest_to(acoustic_model, manifest, output, beam)}")
