"""`fieldasr lm` builds an n-gram language model; `fieldasr tune` picks the decoder's LM weight and word score."""
from __future__ import annotations

from pathlib import Path

import click

from fieldasr.device import DEVICE_HELP


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers, e.g. 0,0.5,1") from None


@click.command("lm")
@click.argument("text", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="ARPA file to write.")
@click.option("--order", type=click.IntRange(2, 5), default=3, show_default=True, help="n-gram order.")
@click.option("--spec", "spec_name", help="Normalise TEXT as this G2P spec (name or path) normalises the words of its lexicon "
              "(`fieldasr g2p --spec SPEC --lexicon`).")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Or with this model bundle's normaliser (the one its labels and lexicon words were made with).")
@click.option("--normalise", "normaliser", help="Or a normaliser by name: none (the text as it is), nfc+lowercase+punctuation, ... "
              "Default: default, as `fieldasr evaluate` normalises.")
def lm(text: Path, output: Path, order: int, spec_name: str | None, bundle: Path | None, normaliser: str | None) -> None:
    """Build a word n-gram language model (Kneser-Ney, ARPA) from TEXT, one sentence per line.

    The text is normalised first, so that the LM's words are written as the lexicon's words and evaluate's reference
    words are: give the G2P spec of the lexicon (--spec) or the model bundle (--bundle); without them, the `default`
    normaliser of `fieldasr evaluate` (lower case, punctuation removed, ' and - inside words kept).
    """
    from fieldasr.bundle import bundle_text_normaliser
    from fieldasr.decode.ngram import build_arpa
    from fieldasr.text.normalise import normaliser_from_settings

    if sum(choice is not None for choice in (spec_name, bundle, normaliser)) > 1:
        raise click.UsageError("give one of --spec, --bundle and --normalise.")
    if spec_name is not None:
        from fieldasr.g2p import load_spec

        text_normaliser = load_spec(spec_name).normalization
    elif bundle is not None:
        text_normaliser = bundle_text_normaliser(bundle)
    else:
        text_normaliser = normaliser_from_settings(normaliser or "default")
    summary = build_arpa(text, output, order=order, normaliser=text_normaliser)
    counts = ", ".join(f"{length}-grams: {count}" for length, count in enumerate(summary.ngram_counts, start=1))
    click.echo(f"Wrote {summary.path} from {summary.sentences} sentences ({counts}), normalised with {text_normaliser.name}.")
    if summary.skipped_empty_lines:
        click.echo(f"Skipped {summary.skipped_empty_lines} empty lines.")
    if summary.order < summary.requested_order:
        click.echo(f"The text has no {summary.requested_order}-grams; the model is of order {summary.order}.")
    if summary.fallback_orders:
        orders = ", ".join(map(str, summary.fallback_orders))
        click.echo(f"Too little text to estimate discounts for orders {orders}; used fixed discounts 0.5/1/1.5.")


@click.command("tune")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Model bundle: emissions of --dev are computed with it; its tokens, lexicon and LM are used.")
@click.option("--dev", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Manifest folder of the development set (with --bundle); its segments' text are the references.")
@click.option("--emissions", "emission_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instead of --bundle/--dev: .pt file with {utterance_id: (frames, labels) log-probs}; repeatable.")
@click.option("--references", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --emissions: UTTERANCE_ID<TAB>text per line.")
@click.option("--vocabulary", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --emissions: the model's tokens file (blank first).")
@click.option("--lm", "lm_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="ARPA language model (from `fieldasr lm`); default: the bundle's.")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="WORD LABEL LABEL ... per line (phone models); default: the bundle's, else spell the LM's words.")
@click.option("--lm-weights", default="0,0.5,1,1.5,2,3", show_default=True, help="LM weights to try.")
@click.option("--word-scores", default="-2,-1,0,1,2", show_default=True, help="Word insertion scores to try.")
@click.option("--beam-size", type=click.IntRange(1), default=50, show_default=True)
@click.option("--language", help="With --bundle: per-language adapter for every segment (models with adapters; default: "
                                 "each segment's language when the model has its adapter, else the bundle's language).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the full grid as JSON.")
@click.option("--device", default="auto", show_default=True, help=f"For the emissions of --dev: {DEVICE_HELP}")
def tune(bundle, dev, emission_paths, references, vocabulary, lm_path, lexicon, lm_weights, word_scores, beam_size, language, output, device) -> None:
    """Grid-search the LM weight and word score of the beam decoder on a development set, by WER."""
    from fieldasr.transcribe.decoder_tuning import TuningGrid, tune_bundle_decoder, tune_saved_decoder

    grid = TuningGrid(_numbers(lm_weights), _numbers(word_scores), beam_size)
    if language is not None and bundle is None:
        raise click.UsageError("--language picks the adapter of --bundle's model; saved --emissions are already computed.")
    if bundle is not None and dev is not None:
        from fieldasr.device import resolve_device

        device = resolve_device(device)
        click.echo(f"device: {device}", err=True)
        tuning = tune_bundle_decoder(bundle, dev, lexicon, lm_path, grid, output, language, device=device)
    elif emission_paths and references and vocabulary and lm_path:
        tuning = tune_saved_decoder(emission_paths, references, vocabulary, lm_path, lexicon, grid, output)
    else:
        raise click.UsageError("give --bundle and --dev, or --emissions, --references, --vocabulary and --lm.")
    for notice in tuning.notices:
        click.echo(notice)
    click.echo(tuning.result.table())
    click.echo(tuning.best_settings())
    for warning in tuning.result.edge_warnings():
        click.echo(warning, err=True)
