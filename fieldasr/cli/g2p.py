"""`fieldasr g2p` (text or manifests -> IPA phones) and `fieldasr inventory` (phone inventory table)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("g2p")
@click.option("--spec", "spec_name", required=True, help="A spec in g2p/ by name (sw, mi, ain, ...) or a path to a spec YAML.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Segments JSONL(.gz) whose `phones` to fill.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the segments with phones (needs --manifest).")
@click.option("--lexicon", "lexicon_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the decoder lexicon of all words seen.")
@click.option("--word-boundaries", is_flag=True, help="Put the word-boundary token | between words (never into --lexicon entries: the decoder adds it).")
@click.option("--strict", is_flag=True, help="Fail when a non-empty word gives no phones instead of counting it.")
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
