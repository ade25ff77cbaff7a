"""`fieldasr prepare` and `fieldasr validate`: fieldwork files to manifests, and a check of existing manifests."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import click

from fieldasr.data.formats import CORPUS_FORMATS, EXPORT_FORMATS, ExportResult, export_corpus
from fieldasr.data.manifest import AudioProblem, Corpus, audio_problems
from fieldasr.data.prepare import FORMATS, PrepareResult, Share, prepare_corpus, shares_by
from fieldasr.data.source import TierSelection
from fieldasr.errors import AudioError

SHOWN = 20  # problems listed one by one before "... and N more"


def _share_table(title: str, shares: Mapping[str, Share]) -> None:
    width = max([len(title)] + [len(key) for key in shares])
    click.echo(f"\n{title:<{width}}  {'segments':>8}  {'hours':>8}")
    for key, share in shares.items():
        click.echo(f"{key:<{width}}  {share.segments:>8}  {share.hours:>8.3f}")


def print_summary(corpus: Corpus) -> None:
    if corpus.text_only:
        recordings = len({segment.recording_id for segment in corpus.segments})
        click.echo(f"text-only corpus (prepared with --text-only; no audio): {recordings} annotated recording(s), "
                   f"segments {len(corpus.segments)}, hours annotated {corpus.hours:.3f}")
    else:
        click.echo(f"recordings {len(corpus.recordings)}, segments {len(corpus.segments)}, hours {corpus.hours:.3f}")
    _share_table("language", shares_by(corpus, "language"))
    _share_table("speaker", shares_by(corpus, "speaker"))


def _print_result(result: PrepareResult) -> None:
    click.echo(f"corpus {result.corpus_name!r} -> {result.output}")
    print_summary(result.corpus)
    if result.counts["overlapping_pairs"]:
        click.echo(f"\n{result.counts['overlapping_pairs']} pair(s) of segments of one recording overlap (kept; times compared in whole ms).")
    if result.substitutions:
        click.secho(f"\naudio found other than where {len(result.substitutions)} annotation file(s) link it (also in "
                    f"{result.output / 'media.tsv'}); check that each is the right recording:", fg="yellow")
        for item in result.substitutions:
            click.echo(f"  {item.annotation}: links {item.linked}; used {item.used} ({item.how})")
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
                   "or .tsv; csv: path,text[,start,end,speaker,language]; folder: audio files with same-name .txt; "
                   "kaldi: a data directory; lhotse: recordings + supervisions manifests; hf-audiofolder: audio + "
                   "metadata.csv/.jsonl; stm: sclite reference; trs: Transcriber files.")
@click.option("--corpus", "corpus_name", required=True, help="Name of the corpus: the manifests go to OUT_DIR/CORPUS.")
@click.option("--tier", "tiers", multiple=True, help="Tier holding the transcription (repeatable).")
@click.option("--linguistic-type", help="ELAN: take the tiers of this linguistic type.")
@click.option("--participant", help="ELAN: take the tiers of this participant.")
@click.option("--language", help="Language code for segments whose source names none.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("corpora_manifests"), show_default=True)
@click.option("--strict", is_flag=True, help="Stop at the first unusable file instead of skipping it.")
@click.option("--media-dir", type=click.Path(path_type=Path),
              help="eaf / textgrid / stm / trs: folder (searched with its subfolders) holding recordings that are not where the "
                   "annotation files link them; found files are listed in the summary and in media.tsv.")
@click.option("--text-only", is_flag=True,
              help="eaf / textgrid / csv with times: import the annotations without audio (for language models, lexicons, "
                   "G2P checks); no audio is looked for or opened. Such a corpus cannot be used for training.")
def prepare(source: Path, format_: str, corpus_name: str, tiers: tuple[str, ...], linguistic_type: str | None,
            participant: str | None, language: str | None, out_dir: Path, strict: bool, media_dir: Path | None,
            text_only: bool) -> None:
    """Turn fieldwork files in SOURCE into manifests; print what was made and everything skipped, with reasons.

    The audio of an .eaf is looked for at its absolute link, its relative link, then by the linked file name beside
    the .eaf and under --media-dir, then by the .eaf's own name (a TextGrid: by its own name, beside it or under
    --media-dir).
    """
    selection = TierSelection(names=tiers, linguistic_type=linguistic_type, participant=participant)
    result = prepare_corpus(source, format_, corpus_name, out_dir=out_dir, selection=selection, language=language, strict=strict,
                            media_dir=media_dir, text_only=text_only)
    _print_result(result)


def _report_audio(problems: list[AudioProblem], manifest_dir: Path) -> None:
    """Raise AudioError with counts per problem and the files, when any recording's audio is unusable."""
    if not problems:
        return
    counts = Counter(problem.problem for problem in problems)
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    listed = "\n".join(f"  [{problem.problem}] {problem.message}" for problem in problems[:SHOWN])
    more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    raise AudioError(f"{manifest_dir}: {len(problems)} recording(s) have unusable audio ({summary}):\n{listed}{more}\n"
                     "Restore or copy the files again and re-run `fieldasr prepare` (or `fieldasr validate --quick` to skip this check).")


@click.command()
@click.argument("manifest_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--require-text", is_flag=True, help="Every segment must have a transcription (for supervised training).")
@click.option("--quick", is_flag=True, help="Do not open the audio files (by default every audio header is read).")
def validate(manifest_dir: Path, require_text: bool, quick: bool) -> None:
    """Check the manifests in MANIFEST_DIR: ids, times, links to recordings, durations (and text), and that every
    audio file is there and readable (not missing, empty or truncated)."""
    corpus = Corpus.load(manifest_dir, text_only_ok=True)
    corpus.validate(require_text=require_text)
    if not quick and not corpus.text_only:
        _report_audio(audio_problems(corpus.recordings.values()), manifest_dir)
    print_summary(corpus)
    if corpus.text_only:
        click.secho("\nvalid (text only: prepared with --text-only, no audio to check; not usable for training).", fg="green")
    elif quick:
        click.secho("\nvalid (audio files not checked: --quick).", fg="green")
    else:
        click.secho("\nvalid.", fg="green")


def _print_export(result: ExportResult) -> None:
    click.echo(f"{result.segments_written} segment(s) -> {result.output}")
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.skipped:
        click.secho(f"\nskipped {len(result.skipped)} segment(s):", fg="yellow")
        for item in result.skipped:
            click.echo(f"  [{item.kind}] {item.describe()}")
    else:
        click.echo("nothing skipped.")


@click.command("export-corpus")
@click.argument("manifest_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "format_", type=click.Choice(EXPORT_FORMATS), required=True,
              help="; ".join(f"{name}: {CORPUS_FORMATS[name].description}" for name in EXPORT_FORMATS) + ".")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The folder to write (kaldi, lhotse, hf-audiofolder, trs) or the file (stm, ctm).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (by default an existing OUT is left alone).")
def export_corpus_command(manifest_dir: Path, format_: str, out: Path, overwrite: bool) -> None:
    """Write the corpus in MANIFEST_DIR in another tool's format (Kaldi, Lhotse, Hugging Face, sclite, Transcriber).

    Every segment that the format cannot hold is listed with the reason; the output is written atomically.

    \b
    Examples:
      fieldasr export-corpus corpora_manifests/ainu --format kaldi --out data/ainu
      fieldasr export-corpus corpora_manifests/ainu-test --format stm --out ref.stm
      fieldasr export-corpus hyp/ainu-test --format ctm --out hyp.ctm   # then: sclite -r ref.stm stm -h hyp.ctm ctm
    """
    _print_export(export_corpus(manifest_dir, format_, out, overwrite))
