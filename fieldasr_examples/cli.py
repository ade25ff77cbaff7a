"""`fieldasr-examples synth | synth-long | import-real` (also `python -m fieldasr_examples ...`): build corpora
to train and evaluate on. They serve the demo, the tests and the benchmarks, not a fieldworker's own data
(that is `fieldasr prepare`), so they live here and not in the `fieldasr` command.
"""
from __future__ import annotations

from pathlib import Path

import click

from fieldasr.cli import run

MANIFEST_ROOT = Path("corpora_manifests")


def _language_list(value: str | None) -> tuple[str, ...]:
    from fieldasr_examples.corpora import DEFAULT_LANGUAGES

    if not value:
        return DEFAULT_LANGUAGES
    return tuple(code.strip() for code in value.split(",") if code.strip())


@click.command()
@click.option("--languages", help="Comma-separated ISO 639-3 codes (default: 14 languages). `--list-languages` shows all.")
@click.option("--name", default="udhr-synth", show_default=True, help="Corpus name: written to corpora_manifests/NAME.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder instead of corpora_manifests/NAME.")
@click.option("--utterances-per-language", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--speakers-per-language", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--noise-snr-db", type=float, help="Add white noise at this signal-to-noise ratio (dB).")
@click.option("--reverb/--no-reverb", default=False, show_default=True, help="Convolve with a synthetic room response.")
@click.option("--max-characters", default=200, show_default=True, type=click.IntRange(min=20), help="Longer paragraphs are cut at sentence ends.")
@click.option("--list-languages", is_flag=True, help="Print the available languages and exit.")
def synth(languages, name, out_dir, utterances_per_language, speakers_per_language, seed, noise_snr_db, reverb, max_characters, list_languages):
    """Synthesise a multilingual corpus: UDHR text read by espeak-ng voices (16 kHz wav + manifests)."""
    from fieldasr_examples.corpora import LANGUAGES, build_synthetic_corpus

    if list_languages:
        for entry in LANGUAGES.values():
            click.echo(f"{entry.code}\t{entry.espeak_voice}\t{entry.name}")
        return
    result = build_synthetic_corpus(
        _language_list(languages),
        out_dir or MANIFEST_ROOT / name,
        utterances_per_language=utterances_per_language,
        speakers_per_language=speakers_per_language,
        seed=seed,
        noise_snr_db=noise_snr_db,
        reverb=reverb,
        max_characters=max_characters,
    )
    for code, count in result.utterances.items():
        phones = "no G2P spec: phones empty" if code in result.segments_without_phones else "phones from fieldasr.g2p"
        click.echo(f"{code}\t{count} utterances\t{result.audio_seconds[code] / 60:.1f} min\t{phones}")
    click.echo(
        f"{result.total_utterances} utterances, {len(result.speakers)} speakers in {result.elapsed_seconds:.1f} s -> {result.corpus_dir}"
    )


@click.command("synth-long")
@click.argument("language")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder (default corpora_manifests/LANGUAGE-long).")
@click.option("--utterances", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--speaker-index", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--noise-snr-db", type=float)
@click.option("--reverb/--no-reverb", default=False, show_default=True)
def synth_long(language, out_dir, utterances, seed, speaker_index, noise_snr_db, reverb):
    """One long recording of LANGUAGE (ISO 639-3) with pauses, plus its reference segments."""
    from fieldasr_examples.corpora import build_long_recording

    result = build_long_recording(
        language,
        out_dir or MANIFEST_ROOT / f"{language}-long",
        utterances=utterances,
        seed=seed,
        speaker_index=speaker_index,
        noise_snr_db=noise_snr_db,
        reverb=reverb,
    )
    recording = next(iter(result.corpus.recordings.values()))
    click.echo(f"{result.wav_path}: {recording.duration / 60:.1f} min, {len(result.corpus.segments)} reference segments -> {result.corpus_dir}")


@click.command("import-real")
@click.argument("source", type=click.Choice(["fillets", "pocketsphinx"]))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder (default corpora_manifests/SOURCE).")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), help="Data folder, if not the Debian package's.")
def import_real(source, out_dir, root):
    """Manifests of real speech from Debian packages: Fish Fillets NG Dutch dialogue or pocketsphinx test utterances."""
    out_dir = out_dir or MANIFEST_ROOT / source
    if source == "fillets":
        from fieldasr_examples.corpora.debian import FILLETS_ROOT
        from fieldasr_examples.corpora.fillets import import_fillets

        result = import_fillets(out_dir, root or FILLETS_ROOT)
        click.echo(f"{result.segments} segments, {result.hours:.2f} h -> {result.corpus_dir}")
        skipped = {
            "lines without a recording": result.lines_without_audio,
            "lines without Dutch text": result.lines_without_text,
            "recordings without a line": result.audio_without_line,
            "lines repeating a recording": result.repeated_lines,
            "unreadable recordings": result.unreadable_audio,
        }
    else:
        from fieldasr_examples.corpora.debian import POCKETSPHINX_TEST_DATA
        from fieldasr_examples.corpora.pocketsphinx import import_pocketsphinx

        result = import_pocketsphinx(out_dir, root or POCKETSPHINX_TEST_DATA)
        click.echo(f"{sum(result.segments.values())} segments ({result.segments}), {result.hours * 60:.1f} min -> {result.corpus_dir}")
        skipped = {
            "transcripts without audio": result.transcripts_without_audio,
            "audio without a transcript": result.audio_without_transcript,
        }
    for reason, items in skipped.items():
        if items:
            shown = ", ".join(items[:5]) + (", ..." if len(items) > 5 else "")
            click.echo(f"skipped {len(items)} {reason}: {shown}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """fieldasr-examples: the corpora the demo, tests and benchmarks are built from (synthetic speech, real
    speech from Debian packages). `python -m fieldasr_examples.demo` runs the demo itself."""


cli.add_command(synth)
cli.add_command(synth_long)
cli.add_command(import_real)


def main() -> None:
    run(cli)
