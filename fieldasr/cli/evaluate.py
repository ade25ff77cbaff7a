"""`fieldasr evaluate`: WER/CER/PER reports in Markdown, JSON, sclite .trn and HTML."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--ref", "reference", required=True, type=click.Path(exists=True, path_type=Path),
              help="Reference: manifest folder or segments.jsonl(.gz), .trn, .eaf, .TextGrid, or `id<TAB>text` file.")
@click.option("--hyp", "hypotheses", required=True, multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Hypothesis file, same formats; repeat to compare systems.")
@click.option("--unit", "units", multiple=True, type=click.Choice(["word", "char", "phone"]),
              help="Units to score (repeatable). Default: word and char.")
@click.option("--normalise", "normaliser", default="default", show_default=True,
              help="Steps/presets joined by '+': nfc, nfd, lowercase, punctuation, whitespace; presets none, unicode, default.")
@click.option("--spec", "spec_name", help="Instead of --normalise: the normaliser of this G2P spec (name or path), the one that "
              "wrote the lexicon's words, so that words and characters are compared as the decoder writes them.")
@click.option("--phone-normalise", "phone_normaliser", default="phones", show_default=True, help="Normalisation of phones.")
@click.option("--tier", "tiers", multiple=True, help="ELAN/Praat tier(s) to read (default: all top-level tiers).")
@click.option("--extra-hypotheses", type=click.Choice(["ignore", "error"]), default="ignore", show_default=True,
              help="What to do with hypothesis ids that have no reference (they are always listed).")
@click.option("--ipa-unsegmented", is_flag=True, help="Phone strings are IPA without spaces: segment them into phones.")
@click.option("--training-log", type=click.Path(exists=True, path_type=Path), help="Trainer CSV log to plot in the HTML report.")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples for intervals and the paired test.")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("evaluation"), show_default=True,
              help="Folder for report.md, report.json, report.html and the .trn files.")
def evaluate(reference: Path, hypotheses: tuple[Path, ...], units: tuple[str, ...], normaliser: str, spec_name: str | None, phone_normaliser: str,
             tiers: tuple[str, ...], extra_hypotheses: str, ipa_unsegmented: bool, training_log: Path | None,
             resamples: int, seed: int, out_dir: Path) -> None:
    """Score hypotheses against a reference as sclite does; write the report and print its summary."""
    from fieldasr.eval.report_folder import evaluate_into

    if spec_name is not None:
        from fieldasr.g2p import load_spec

        if normaliser != "default":
            raise click.UsageError("give --spec or --normalise, not both.")
    written = evaluate_into(
        out_dir, reference, list(hypotheses), units=units or ("word", "char"),
        normaliser=load_spec(spec_name).normalization if spec_name is not None else normaliser,
        phone_normaliser=phone_normaliser, tiers=tiers, extra_hypotheses=extra_hypotheses,
        resamples=resamples, seed=seed, training_log=training_log, ipa_unsegmented=ipa_unsegmented,
    )
    click.echo(written.markdown)
    click.echo(f"Report written to {out_dir}/ (report.md, report.json, report.html, *.trn).", err=True)
