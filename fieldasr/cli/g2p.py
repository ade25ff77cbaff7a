"""`fieldasr g2p` (text or manifests -> IPA phones) and `fieldasr inventory` (phone inventory table)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("g2p")
@click.option("--spec", "spec_name", required=True,
              help="A spec in g2p/ by name (sw, mi, ain, ...), a path to a spec YAML, or an Elpis letter-to-sound table (.txt).")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Segments JSONL(.gz) whose `phones` to fill.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the segments with phones (needs --manifest).")
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
    fieldasr g2p --spec g2p/mi.yaml --manifest segments.jsonl.gz --out with_phones.jsonl.gz
    """
    from fieldasr.g2p import get_g2p

    if bool(manifest) == bool(texts):
        raise click.UsageError("give either TEXTS or --manifest (with --out), not both and not neither.")
    if manifest and not out:
        raise click.UsageError("--manifest needs --out for the segments with phones.")
    g2p_of_spec = get_g2p(spec_name)
    _report_table(g2p_of_spec.spec.path, strict)
    if texts:
        result = g2p_of_spec.phonemize(list(texts), word_boundaries=word_boundaries, strict=strict)
        for phones in result.phones:
            click.echo(" ".join(phones))
        click.echo(result.report.summary(), err=True)
        all_texts = list(texts)
    else:
        all_texts = _fill_manifest(g2p_of_spec, manifest, out, word_boundaries, strict)  # type: ignore[arg-type]
    if lexicon_out:
        from fieldasr.g2p.lexicon import Lexicon

        lexicon = Lexicon(g2p_of_spec.spec)
        report = lexicon.write(lexicon_out, lexicon.words_of(all_texts))
        click.echo(
            f"{lexicon_out}: {report.written} words ({report.from_lexicon} from the lexicon, {report.from_g2p} from G2P); "
            f"{len(report.skipped_empty)} without phones skipped{': ' + ', '.join(report.skipped_empty[:10]) if report.skipped_empty else ''}",
            err=True,
        )


def _report_table(spec_path: Path | None, strict: bool) -> None:
    """A letter-to-sound table used directly: say which lines and symbols it cannot use as IPA (strict: refuse)."""
    from fieldasr.g2p.table import TableError, looks_like_table, read_table

    if spec_path is None or not looks_like_table(spec_path):
        return
    table = read_table(spec_path)
    if strict and table.problems:
        raise TableError(f"{spec_path}: " + "; ".join(table.problems)
                         + ". Correct the table, or convert it with `fieldasr g2p-import-table --xsampa`.")
    if table.problems:
        click.echo(table.summary(), err=True)


def _fill_manifest(g2p_of_spec, manifest: Path, out: Path, word_boundaries: bool, strict: bool) -> list[str]:
    from fieldasr.data import read_segments, write_manifest

    segments = list(read_segments(manifest))
    with_text = [index for index, segment in enumerate(segments) if (segment.text or "").strip()]
    texts = [segments[index].text or "" for index in with_text]
    result = g2p_of_spec.phonemize(texts, word_boundaries=word_boundaries, strict=strict)
    for index, phones in zip(with_text, result.phones):
        segments[index] = segments[index].with_(phones=phones)
    other_language = sum(1 for index in with_text if segments[index].language not in (None, g2p_of_spec.spec.language))
    written = write_manifest(out, segments)
    click.echo(result.report.summary(), err=True)
    click.echo(
        f"{out}: {written} segments written, {len(with_text)} with phones, {written - len(with_text)} without text left "
        f"unchanged; {other_language} are labelled with another language than {g2p_of_spec.spec.language!r}.",
        err=True,
    )
    return texts


@click.command("inventory")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--min-count", default=1, show_default=True, help="Phones seen fewer times map to their nearest frequent phone.")
def inventory(manifests: tuple[Path, ...], min_count: int) -> None:
    """Print the phone inventory of segment manifests: counts per language and the shared inventory.

    \b
    fieldasr inventory corpora_manifests/*/segments.jsonl.gz --min-count 5
    """
    from collections import Counter

    from fieldasr.data import read_segments
    from fieldasr.g2p.inventory import Inventory, format_inventory_table, inventories_from_segments, shared_inventory

    counts: dict[str, Counter[str]] = {}
    skipped = 0
    for manifest in manifests:
        found, without_phones = inventories_from_segments(read_segments(manifest))
        skipped += without_phones
        for language, language_inventory in found.items():
            counts.setdefault(language, Counter()).update(language_inventory.counts)
    inventories = {language: Inventory(dict(count), language) for language, count in sorted(counts.items())}
    click.echo(format_inventory_table(shared_inventory(inventories, min_count=min_count)))
    if skipped:
        click.echo(f"{skipped} segments without phones were not counted; fill them with `fieldasr g2p --manifest`.", err=True)


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
    from fieldasr.files import atomic_write_text
    from fieldasr.g2p.errors import SpecError
    from fieldasr.g2p.rules import parse_rules
    from fieldasr.g2p.table import TableError, read_table

    rules_path = out.with_suffix(".rules")
    if out.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{out}: the spec to write must end in .yaml (its rules go to {rules_path.name} beside it).")
    existing = [str(path) for path in (out, rules_path) if path.exists()]
    if existing and not overwrite:
        raise SpecError(f"{', '.join(existing)}: already exists; nothing was written. Pass --overwrite to replace, or choose another --out.")
    table = read_table(table_path, xsampa=xsampa)
    if strict and table.problems:
        raise TableError(f"{table_path}: " + "; ".join(table.problems) + ". Correct the table, or run without --strict.")
    parse_rules(table.rules_text(), str(rules_path))  # the rule file must parse before anything is written
    atomic_write_text(rules_path, table.rules_text(), make_parents=True)
    atomic_write_text(out, table.spec_text(language, rules_path.name))
    click.echo(table.summary(), err=True)
    click.echo(f"wrote {out} and {rules_path}; try it: fieldasr g2p --spec {out} WORDS", err=True)
