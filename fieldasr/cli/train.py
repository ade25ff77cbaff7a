"""`fieldasr train` (run a recipe YAML) and `fieldasr export` (experiment folder → model bundle)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldasr.device import DEVICE_HELP


@click.command(context_settings={"show_default": True})
@click.argument("hparams")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. --set trainer.lr=0.001 (repeatable).")
@click.option("--device", default=None, help=f"Same as --set trainer.device=DEVICE [default: the recipe's, auto]: {DEVICE_HELP}")
def train(hparams: str, overrides: tuple[str, ...], device: str | None) -> None:
    """Train a CTC model with a recipe's HPARAMS YAML (e.g. recipes/ctc/hparams/demo_en.yaml), or a recipe
    shipped with fieldasr by name (RECIPE/FILE, e.g. ctc/demo_en for recipes/ctc/hparams/demo_en.yaml).

    Every setting, and every file or folder the settings name, is checked before anything is written.
    Resumes from the newest checkpoint in the experiment folder. The resolved configuration (every
    default filled in) and this command line are written there too. For several GPUs use
    `torchrun --nproc-per-node G recipes/ctc/train.py HPARAMS` (several machines: docs/training.md).
    """
    from fieldasr.train.recipe import finished_message, run_recipe_file

    if device is not None:
        overrides = (*overrides, f"trainer.device={device}")
    summary = run_recipe_file(hparams, overrides, sys.argv)  # every setting and named file checked before anything is written
    click.echo(finished_message(summary))


@click.command(context_settings={"show_default": True})
@click.argument("experiment_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--metric", default="token_error_rate", help="Pick the checkpoint best by this validation metric (newest if none has it).")
@click.option("--mode", type=click.Choice(["min", "max"]), default="min", help="Whether lower or higher --metric is better.")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Lexicon to ship with the model (checked line by line).")
@click.option("--lm", "language_model", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="n-gram LM (ARPA or KenLM binary).")
@click.option("--overwrite", is_flag=True, help="Replace an existing bundle folder (atomically: the old one stays until the new one is complete).")
@click.option("--strict", is_flag=True, help="Refuse a lexicon with bad lines instead of leaving them out of the bundle.")
def export(experiment_dir: Path, output: Path, metric: str, mode: str, lexicon: Path | None, language_model: Path | None,
           overwrite: bool, strict: bool) -> None:
    """Write a self-contained model bundle (weights, config, tokens, G2P spec with its rule and lexicon
    files, decoding lexicon, LM, subword model) to OUTPUT, with each file's size and checksum.

    \b
    Example:
      fieldasr export exp/transfer/ainu exp/ainu-bundle --lm exp/ainu.arpa --lexicon lexicon.txt
    """
    from fieldasr.bundle import export_experiment, read_bundle_description

    bundle = export_experiment(experiment_dir, output, metric=metric, mode=mode, overwrite=overwrite, lexicon=lexicon,
                               language_model=language_model, strict=strict)
    description = read_bundle_description(bundle)
    click.echo(f"bundle written to {bundle}:")
    for name, checksum in description.checksums.items():
        click.echo(f"  {name:<20} {checksum.size:>14,} bytes")
    record = description.lexicon_check
    if record:
        click.echo(f"lexicon {record['source']}: {record['entries']} entries kept, {record['bad_lines']} bad line(s) left out"
                   + (" (--strict refuses them)" if record["bad_lines"] else ""))
        for line in record["first_bad_lines"][:10]:
            click.echo(f"  {line}")
        if record["trailing_boundaries_removed"]:
            click.echo(f"  {record['trailing_boundaries_removed']} entries ended in the word boundary |; removed (the decoder adds it)")
