"""`fieldasr g2p` (text or manifests -> IPA phones) and `fieldasr inventory` (phone inventory table)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("g2p")
@click.option("--spec", "spec_name", required=True,
              help="A spec in g2p/ by name (sw, mi, ain, ...), a path to a spec YAML, or an Elpis letter-to-sound table (.txt).")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Segments JSONL(.gz) whose `phones` to fill.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the segments of --manifest with phones (leave it out to write only --lexicon).")
@click.option("--lexicon", "lexicon_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the decoder lexicon of all words seen.")
@click.option("--word-boundaries", is_flag=True, help="Put the word-boundary token | between words (never into --lexicon entries: the decoder adds it).")
@click.option("--strict", is_flag=True, help="Fail when a non-empty word gives no phones (or a table has unusable lines or non-IPA symbols).")
@click.argument("texts", nargs=-1)
def g2p(
    spec_name: str, manifest: Path | None, out: Path | None, lexicon_out: Path | None,
    word_boundaries: bool, strict: bool, texts: tuple[str, ...],
) -> None:
    """Turn text into IPA phones with a language's G2P spec.

    \b
    fieldasr g2p --spec sw "habari ya asubuhi"
    fieldasr g2p --spec g2p/mi.yaml --manifest segments.jsonl.gz --out with_phones.jsonl.gz --word-boundaries
    fieldasr g2p --spec g2p/mi.yaml --manifest segments.jsonl.gz --lexicon lexicon.txt
    """
    from fieldasr.g2p import get_g2p
    from fieldasr.g2p.table import checked_table

    if bool(manifest) == bool(texts):
        raise click.UsageError("give either TEXTS or --manifest (with --out), not both and not neither.")
    if manifest and not (out or lexicon_out):
        raise click.UsageError("--manifest needs --out for the segments with phones, or --lexicon for the words' pronunciations.")
    if out and not manifest:
        raise click.UsageError("--out writes the segments of --manifest with phones; give --manifest.")
    g2p_of_spec = get_g2p(spec_name)
    table = checked_table(g2p_of_spec.spec.path, strict)
    if table is not None and table.problems:
        click.echo(table.summary(), err=True)
    if texts:
        result = g2p_of_spec.phonemize(list(texts), word_boundaries=word_boundaries, strict=strict)
        for phones in result.phones:
            click.echo(" ".join(phones))
        click.echo(result.report.summary(), err=True)
        all_texts = list(texts)
    elif out is None:  # the lexicon alone
        from fieldasr.g2p.manifests import manifest_texts

        all_texts = manifest_texts(manifest)  # type: ignore[arg-type]
    else:
        from fieldasr.g2p.manifests import fill_manifest_phones

        filled = fill_manifest_phones(g2p_of_spec, manifest, out, word_boundaries, strict)  # type: ignore[arg-type]
        click.echo(filled.report.summary(), err=True)
        click.echo(filled.summary(), err=True)
        all_texts = list(filled.texts)
    if lexicon_out:
        from fieldasr.g2p.lexicon import Lexicon

        lexicon = Lexicon(g2p_of_spec.spec)
        report = lexicon.write(lexicon_out, lexicon.words_of(all_texts))
        click.echo(
            f"{lexicon_out}: {report.written} words ({report.from_lexicon} from the lexicon, {report.from_g2p} from G2P); "
            f"{len(report.skipped_empty)} without phones skipped{': ' + ', '.join(report.skipped_empty[:10]) if report.skipped_empty else ''}",
            err=True,
        )


@click.command("inventory")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--min-count", default=1, show_default=True, help="Phones seen fewer times map to their nearest frequent phone.")
def inventory(manifests: tuple[Path, ...], min_count: int) -> None:
    """Print the phone inventory of segment manifests: counts per language and the shared inventory.

    \b
    fieldasr inventory corpora_manifests/*/segments.jsonl.gz --min-count 5
    """
    from fieldasr.g2p.inventory import format_inventory_table
    from fieldasr.g2p.manifests import manifest_inventory

    found = manifest_inventory(manifests, min_count)
    click.echo(format_inventory_table(found.shared))
    if found.segments_without_phones:
        click.echo(f"{found.segments_without_phones} segments without phones were not counted; "
                   "fill them with `fieldasr g2p --manifest`.", err=True)


@click.command("g2p-import-table")
@click.argument("table_path", metavar="TABLE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--language", required=True, help="Language code of the spec (matched against the segments' language).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Spec YAML to write (e.g. g2p/abz.yaml); the rules go beside it with the suffix .rules.")
@click.option("--xsampa", is_flag=True, help="Read the sounds as X-SAMPA (I E O C J a: tS ...) and convert them to IPA.")
@click.option("--strict", is_flag=True, help="Refuse a table with unusable lines or symbols that are not IPA after conversion.")
@click.option("--overwrite", is_flag=True, help="Replace existing spec and rule files.")
def g2p_import_table(table_path: Path, language: str, out: Path, xsampa: bool, strict: bool, overwrite: bool) -> None:
    """Convert an Elpis letter-to-sound TABLE (`GRAPHEMES SOUND` per line, `#` comments) into a rules spec.

    Each line becomes one rule; words are read as Elpis reads them (lowercased, longest graphemes first).
    Symbols that are not IPA are listed with their lines.

    \b
    fieldasr g2p-import-table letter_to_sound.txt --language abz --out g2p/abz.yaml --xsampa
    fieldasr g2p --spec g2p/abz.yaml "hen ayoku"
    """
    from fieldasr.g2p.table import import_table

    table = import_table(table_path, language, out, xsampa=xsampa, strict=strict, overwrite=overwrite)
    click.echo(table.summary(), err=True)
    click.echo(f"wrote {out} and {out.with_suffix('.rules')}; try it: fieldasr g2p --spec {out} WORDS", err=True)
