"""`fieldasr import-hf`: a published Hugging Face CTC checkpoint as a model bundle."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("import-hf", context_settings={"show_default": True})
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "output", required=True, type=click.Path(path_type=Path), help="The bundle folder to write.")
@click.option("--target-lang", "target_language", help="MMS: the language whose adapter.<lang>.safetensors and vocabulary to use.")
@click.option("--label-unit", type=click.Choice(["characters", "phones"]), default="characters",
              help="phones: the tokens are IPA (e.g. wav2vec2-xlsr-53-espeak-cv-ft), spelled as fieldasr's G2P spells phones.")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Lexicon for beam decoding (checked line by line).")
@click.option("--lm", "language_model", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="n-gram LM (ARPA or KenLM binary).")
@click.option("--g2p-spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="G2P spec YAML to ship with a phone model.")
@click.option("--overwrite", is_flag=True, help="Replace an existing bundle folder (atomically).")
def import_hf(directory: Path, output: Path, target_language: str | None, label_unit: str, lexicon: Path | None,
              language_model: Path | None, g2p_spec: Path | None, overwrite: bool) -> None:
    """Turn a local Hugging Face CTC checkpoint (config.json, weights, vocab.json) into a bundle for zero-shot transcription.

    The checkpoint's own output layer is kept; its pad token (the CTC blank of Hugging Face models) becomes
    fieldasr's blank at index 0. Nothing is downloaded: DIRECTORY is a local copy of the model.

    \b
    Examples:
      fieldasr import-hf models/mms-1b-all --out bundles/mms-ain --target-lang ain
      fieldasr import-hf models/wav2vec2-xlsr-53-espeak-cv-ft --out bundles/phones --label-unit phones
    """
    from fieldasr.hf_bundle import import_hf as run_import

    summary = run_import(directory, output, target_language, label_unit, overwrite, lexicon, language_model, g2p_spec)
    mapping = summary.mapping
    click.echo(f"bundle written to {summary.bundle}: {summary.model_type}, {len(mapping.tokens)} tokens ({summary.label_unit})"
               + (f", adapter {summary.language}" if summary.language else ""))
    click.echo(f"  blank: {mapping.hf_tokens[0]!r} (id {mapping.hf_ids[0]} in vocab.json) → <blank> at index 0")
    renamed = {hf: ours for hf, ours in mapping.renamed().items() if ours != "<blank>"}
    if renamed:
        click.echo(f"  {len(renamed)} token(s) renamed: " + ", ".join(f"{hf!r}→{ours!r}" for hf, ours in list(renamed.items())[:12]))
    if summary.added_word_boundary:
        click.echo("  no word delimiter in vocab.json: added | scored as the blank, for lexicon decoding (greedy output unchanged)")
    if summary.unsplit_phone_tokens:
        click.echo(f"  {len(summary.unsplit_phone_tokens)} token(s) are several phones for fieldasr's G2P and stay whole: "
                   + ", ".join(summary.unsplit_phone_tokens[:12]))
