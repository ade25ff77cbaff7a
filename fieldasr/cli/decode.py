"""`fieldasr lm` builds an n-gram language model; `fieldasr tune` picks the decoder's LM weight and word score."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click


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
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Normalise TEXT with this model bundle's normaliser (the one its labels were made with).")
@click.option("--normalise", "normaliser", help="Or a normaliser by name, e.g. default or nfc+lowercase+punctuation.")
def lm(text: Path, output: Path, order: int, bundle: Path | None, normaliser: str | None) -> None:
    """Build a word n-gram language model (Kneser-Ney, ARPA) from TEXT, one sentence per line.

    Give --bundle (or --normalise) so that the LM's words are written as the model's labels and lexicon words are.
    """
    from fieldasr.decode.ngram import build_arpa
    from fieldasr.text.normalise import normaliser_from_settings

    if bundle is not None and normaliser is not None:
        raise click.UsageError("give --bundle or --normalise, not both.")
    text_normaliser = None  # the text as it is
    if bundle is not None:
        text_normaliser = _bundle_normaliser(bundle)
    elif normaliser is not None:
        text_normaliser = normaliser_from_settings(normaliser)
    summary = build_arpa(text, output, order=order, normaliser=text_normaliser)
    counts = ", ".join(f"{length}-grams: {count}" for length, count in enumerate(summary.ngram_counts, start=1))
    click.echo(f"Wrote {summary.path} from {summary.sentences} sentences ({counts}).")
    if summary.skipped_empty_lines:
        click.echo(f"Skipped {summary.skipped_empty_lines} empty lines.")
    if summary.order < summary.requested_order:
        click.echo(f"The text has no {summary.requested_order}-grams; the model is of order {summary.order}.")
    if summary.fallback_orders:
        orders = ", ".join(map(str, summary.fallback_orders))
        click.echo(f"Too little text to estimate discounts for orders {orders}; used fixed discounts 0.5/1/1.5.")


def _bundle_normaliser(bundle_dir: Path):
    from fieldasr.bundle import read_bundle_description, text_normaliser

    description = read_bundle_description(bundle_dir)  # the normaliser only: the model is not needed
    return text_normaliser(description.directory, description.normaliser)


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
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the full grid as JSON.")
def tune(bundle, dev, emission_paths, references, vocabulary, lm_path, lexicon, lm_weights, word_scores, beam_size, output) -> None:
    """Grid-search the LM weight and word score of the beam decoder on a development set, by WER."""
    from fieldasr.decode.lexicon import arpa_words, build_lexicon, spelling_lexicon
    from fieldasr.g2p.lexicon import read_pronunciations
    from fieldasr.files import atomic_write_text
    from fieldasr.decode.tune import load_dev_set, tune_decoder
    from fieldasr.text.vocabulary import Vocabulary

    if bundle is not None and dev is not None:
        emissions, texts, tokens, lexicon, lm_path = _from_bundle(bundle, dev, lexicon, lm_path)
    elif emission_paths and references and vocabulary and lm_path:
        tokens = Vocabulary.load(vocabulary)
        dev_set = load_dev_set(emission_paths, references)
        if dev_set.without_reference or dev_set.without_emission:
            click.echo(f"Skipped {len(dev_set.without_reference)} utterances without a reference and "
                       f"{len(dev_set.without_emission)} references without emissions.")
        emissions, texts = dev_set.emissions, dev_set.references
    else:
        raise click.UsageError("give --bundle and --dev, or --emissions, --references, --vocabulary and --lm.")
    if isinstance(lexicon, Path):  # from --lexicon without a bundle: no normaliser to apply
        lexicon = read_pronunciations(lexicon)
    words = build_lexicon(lexicon, tokens) if lexicon else spelling_lexicon(arpa_words(lm_path), tokens)
    if words.skipped:
        word, reason = words.skipped[0]
        click.echo(f"Left {len(words.skipped)} words out of the lexicon (e.g. {word!r}: {reason}).")
    result = tune_decoder(
        emissions, texts, tokens, words, lm_path,
        lm_weights=_numbers(lm_weights), word_scores=_numbers(word_scores), beam_size=beam_size,
    )
    click.echo(result.table())
    click.echo(f"Best on {len(texts)} utterances: --lm-weight {result.best.lm_weight:g} "
               f"--word-score {result.best.word_score:g} (WER {result.best.wer:.4f}).")
    if output:
        report = {"best": dataclasses.asdict(result.best), "grid": [dataclasses.asdict(p) for p in result.grid]}
        atomic_write_text(output, json.dumps(report, indent=2) + "\n", make_parents=True)


def _from_bundle(bundle_dir: Path, dev: Path, lexicon: Path | None, lm_path: Path | None):
    """Emissions of the dev segments by the bundle's model, their texts, and the bundle's decoding resources."""
    from fieldasr.bundle import load_bundle
    from fieldasr.data import Corpus
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, bundle_lexicon, segment_emissions

    bundle = load_bundle(bundle_dir)
    corpus = Corpus.load(dev)
    with_text = [segment for segment in corpus.segments if (segment.text or "").strip()]
    if len(with_text) < len(corpus.segments):
        click.echo(f"Skipped {len(corpus.segments) - len(with_text)} dev segments without text.")
    emissions = segment_emissions(BundleAcousticModel(bundle), type(corpus)(corpus.recordings, tuple(with_text)))
    lm_path = lm_path or bundle.language_model
    if lm_path is None:
        raise click.UsageError(f"{bundle_dir} has no LM; give one with --lm (build it with `fieldasr lm`).")
    return ([emissions[s.id] for s in with_text], [s.text for s in with_text], bundle.vocabulary,
            bundle_lexicon(bundle, lexicon), lm_path)
