"""`fieldasr prepare` and `fieldasr validate`: fieldwork files to manifests, and a check of existing manifests."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from fieldasr.data.manifest import Corpus
from fieldasr.data.prepare import FORMATS, PrepareResult, Share, prepare_corpus, shares_by
from fieldasr.data.source import TierSelection


def _share_table(title: str, shares: Mapping[str, Share]) -> None:
    width = max([len(title)] + [len(key) for key in shares])
    click.echo(f"\n{title:<{width}}  {'segments':>8}  {'hours':>8}")
    for key, share in shares.items():
        click.echo(f"{key:<{width}}  {share.segments:>8}  {share.hours:>8.3f}")


def print_summary(corpus: Corpus) -> None:
    click.echo(f"recordings {len(corpus.recordings)}, segments {len(corpus.segments)}, hours {corpus.hours:.3f}")
    _share_table("language", shares_by(corpus, "language"))
    _share_table("speaker", shares_by(corpus, "speaker"))


def _print_result(result: PrepareResult) -> None:
    click.echo(f"corpus {result.corpus_name!r} -> {result.output}")
    print_summary(result.corpus)
    if result.counts["overlapping_segments"]:
        click.echo(f"\n{result.counts['overlapping_segments']} segments overlap another segment of the same recording (kept).")
    if result.skipped:
        click.secho(f"\nskipped {len(result.skipped)} item(s) (also in {result.output / 'skipped.tsv'}):", fg="yellow")
        for item in result.skipped:
            click.echo(f"  [{item.kind}] {item.describe()}")
    else:
        click.echo("\nnothing skipped.")


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), required=True,
              help="eaf / textgrid: annotation files (a folder is searched recursively); cv: Common Voice language folder "
                   "or .tsv; csv: path,text[,start,end,speaker,language]; folder: audio files with same-name .txt.")
@click.option("--corpus", "corpus_name", required=True, help="Name of the corpus: the manifests go to OUT_DIR/CORPUS.")
@click.option("--tier", "tiers", multiple=True, help="Tier holding the transcription (repeatable).")
@click.option("--linguistic-type", help="ELAN: take the tiers of this linguistic type.")
@click.option("--participant", help="ELAN: take the tiers of this participant.")
@click.option("--language", help="Language code for segments whose source names none.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("corpora_manifests"), show_default=True)
@click.option("--strict", is_flag=True, help="Stop at the first unusable file instead of skipping it.")
def prepare(source: Path, format_: str, corpus_name: str, tiers: tuple[str, ...], linguistic_type: str | None,
            participant: str | None, language: str | None, out_dir: Path, strict: bool) -> None:
    """Turn fieldwork files in SOURCE into manifests; print what was made and everything skipped, with reasons."""
    selection = TierSelection(names=tiers, linguistic_type=linguistic_type, participant=participant)
    result = prepare_corpus(source, format_, corpus_name, out_dir=out_dir, selection=selection, language=language, strict=strict)
    _print_result(result)


@click.command()
@click.argument("manifest_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--require-text", is_flag=True, help="Every segment must have a transcription (for supervised training).")
def validate(manifest_dir: Path, require_text: bool) -> None:
    """Check the manifests in MANIFEST_DIR: ids, times, links to recordings, durations (and text)."""
    corpus = Corpus.load(manifest_dir)
    corpus.validate(require_text=require_text)
    print_summary(corpus)
    click.secho("\nvalid.", fg="green")
