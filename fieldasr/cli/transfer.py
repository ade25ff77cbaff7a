"""`fieldasr transfer ...`: target tokenizers, embedding transfer into a local model, continued pretraining, rescoring."""
from __future__ import annotations

import json

import click

from fieldasr.device import DEVICE_HELP


@click.group()
def transfer() -> None:
    """Text-side transfer: a target-language LM from a related high-resource model."""


@transfer.command("tokenizer")
@click.argument("target_text", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--vocab-size", default=8000, show_default=True)
@click.option("--style", type=click.Choice(["byte-bpe", "unigram", "like-source"]), default="byte-bpe", show_default=True,
              help="like-source: the type, special tokens and pipeline of the --source tokenizer (any family).")
@click.option("--source", "source_tokenizer", type=click.Path(exists=True, file_okay=False),
              help="The source model's folder (its tokenizer): needed by --style like-source and --extend.")
@click.option("--extend", is_flag=True, help="Append the new tokens to the --source tokenizer instead of replacing it.")
def tokenizer_command(target_text: str, output: str, vocab_size: int, style: str, source_tokenizer: str | None,
                      extend: bool) -> None:
    """Train a tokenizer on TARGET_TEXT (UTF-8, one sentence per line) and save it to OUTPUT."""
    from fieldasr.transfer.tokenizer import save_target_tokenizer

    if (extend or style == "like-source") and not source_tokenizer:
        raise click.UsageError("--extend and --style like-source need --source SOURCE_MODEL_FOLDER")
    saved = save_target_tokenizer(target_text, output, vocab_size, style, source_tokenizer, extend)
    if saved.added_tokens is not None:
        click.echo(f"added {len(saved.added_tokens)} target tokens to the source vocabulary")
    click.echo(f"{saved.size} tokens → {output}")


@transfer.command("glossary")
@click.argument("eaf_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--tier", "gloss_tier", required=True, help="The gloss tier (glosses in the source model's language).")
@click.option("--parent-tier", "word_tier", required=True, help="The word tier the gloss tier depends on.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Dictionary file to write.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def glossary_command(eaf_files: tuple[str, ...], gloss_tier: str, word_tier: str, output: str, overwrite: bool) -> None:
    """Write the word/gloss pairs of ELAN files as a bilingual dictionary for `transfer init --dictionary`."""
    from fieldasr.data.elan_glossary import read_glossary, write_glossary

    glossary = read_glossary(eaf_files, gloss_tier, word_tier)
    write_glossary(glossary, output, overwrite)
    click.echo(f"{len(glossary.pairs)} gloss/word pairs from {glossary.words} words → {output} "
               f"({glossary.unglossed} without a gloss, {glossary.several_glosses} with several, "
               f"{glossary.repeated} repeats)")


def _read_lines(path: str | None) -> list[str] | None:
    from fieldasr.transfer.tokenizer import read_target_text

    return read_target_text(path) if path else None


@transfer.command("init")
@click.argument("source_model", type=click.Path(exists=True, file_okay=False))
@click.argument("target_tokenizer", type=click.Path(exists=True, file_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--method", default="focus", show_default=True,
              type=click.Choice(["random", "mean", "multivariate-normal", "convex-hull", "wechsel", "focus", "clp", "ofa", "cw2v"]))
@click.option("--kind", type=click.Choice(["causal", "masked"]), default="causal", show_default=True)
@click.option("--source-text", type=click.Path(exists=True, dir_okay=False), help="Source-language text (WECHSEL, OFA).")
@click.option("--target-text", type=click.Path(exists=True, dir_okay=False), help="Target-language text (WECHSEL, OFA, FOCUS, CW2V).")
@click.option("--dictionary", type=click.Path(exists=True, dir_okay=False),
              help="Bilingual word pairs, 'source<TAB>target' (or 'source target') a line, '#' comments; e.g. from "
                   "`fieldasr transfer glossary` (WECHSEL, OFA).")
@click.option("--helper-model", type=click.Path(exists=True, file_okay=False), help="Small model with the target tokenizer (CLP).")
@click.option("--min-count", type=int, default=None, help="fastText min_count; lower it on small texts (FOCUS default 10).")
@click.option("--dim", default=100, show_default=True, help="Size of the static fastText vectors trained here.")
@click.option("--seed", default=0, show_default=True)
def init_command(source_model: str, target_tokenizer: str, output: str, method: str, kind: str, source_text: str | None,
                 target_text: str | None, dictionary: str | None, helper_model: str | None, min_count: int | None,
                 dim: int, seed: int) -> None:
    """Give SOURCE_MODEL the vocabulary of TARGET_TOKENIZER, initialised by --method; save to OUTPUT."""
    from fieldasr.transfer.target_model import initialise_target_model

    transferred = initialise_target_model(source_model, target_tokenizer, output, method, kind, source_text, target_text,
                                          dictionary, helper_model, min_count=min_count, dim=dim, seed=seed)
    click.echo(json.dumps(transferred.report, indent=1))


@transfer.command("byte-model")
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--layers", default=4, show_default=True)
@click.option("--width", default=256, show_default=True, help="Embedding size (a multiple of --heads).")
@click.option("--heads", default=4, show_default=True)
@click.option("--positions", default=1024, show_default=True, help="Longest input in bytes (training and rescoring).")
@click.option("--seed", default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def byte_model_command(output: str, layers: int, width: int, heads: int, positions: int, seed: int,
                       overwrite: bool) -> None:
    """Save a fresh byte-level GPT-2 (256 bytes, no tokenizer to transfer) to OUTPUT, for `transfer pretrain`."""
    from fieldasr.transfer.byte_level import ByteLevelShape, save_byte_level_model

    save_byte_level_model(output, ByteLevelShape(layers, width, heads, positions), seed, overwrite)
    click.echo(f"byte-level model ({layers} layers, width {width}) → {output}; train it with "
               f"`fieldasr transfer pretrain {output} TRAIN_TEXT OUT --max-length 512`")


@transfer.command("pretrain")
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.argument("train_text", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--tokenizer", type=click.Path(exists=True, file_okay=False), help="Tokenizer folder (default: MODEL's).")
@click.option("--kind", type=click.Choice(["causal", "masked"]), default="causal", show_default=True)
@click.option("--valid-text", type=click.Path(exists=True, dir_okay=False), help="Held-out lines for the validation loss.")
@click.option("--max-steps", default=2000, show_default=True)
@click.option("--lr", default=5e-4, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--max-length", default=128, show_default=True, help="Tokens per line; longer lines are cut.")
@click.option("--warmup-steps", default=100, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
def pretrain_command(model: str, train_text: str, output: str, tokenizer: str | None, kind: str, valid_text: str | None,
                     max_steps: int, lr: float, batch_size: int, max_length: int, warmup_steps: int, seed: int,
                     device: str) -> None:
    """Continue pretraining MODEL (a local folder, e.g. from `transfer init`) on TRAIN_TEXT; resumable; saved to OUTPUT."""
    from fieldasr.device import resolve_device
    from fieldasr.transfer.pretrain import continue_lm_pretraining
    from fieldasr.transfer.tokenizer import read_target_text

    device = resolve_device(device)
    click.echo(f"device: {device}", err=True)
    summary = continue_lm_pretraining(model, tokenizer or model, read_target_text(train_text), output, kind=kind,
                                      valid_lines=_read_lines(valid_text), max_steps=max_steps, lr=lr,
                                      batch_size=batch_size, max_length=max_length, warmup_steps=warmup_steps,
                                      seed=seed, device=device)
    losses = summary.step_losses
    trend = f"loss {losses[0]:.3f} → {losses[-1]:.3f} over this run's {len(losses)} steps" if losses else "no new steps"
    click.echo(f"{summary.optimizer_steps} steps ({trend}); valid loss {summary.valid_loss}; model in {output}")


@transfer.command("rescore")
@click.argument("nbest", type=click.Path(exists=True, dir_okay=False))
@click.argument("language_model", type=click.Path(exists=True, file_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--weight", type=float, default=None, help="LM weight; omit to tune it on --dev.")
@click.option("--dev", type=click.Path(exists=True, dir_okay=False), help="N-best JSONL with 'reference' fields.")
@click.option("--kind", type=click.Choice(["causal", "masked"]), default="causal", show_default=True)
def rescore_command(nbest: str, language_model: str, output: str, weight: float | None, dev: str | None,
                    kind: str) -> None:
    """Rescore NBEST (JSONL: id, hypotheses [{text, score}]) with LANGUAGE_MODEL; write the best per line."""
    from fieldasr.transfer.nbest_files import rescore_nbest_file

    if weight is None and dev is None:
        raise click.UsageError("give --weight, or --dev n-best lists with references to tune it")
    rescored = rescore_nbest_file(nbest, language_model, output, weight, dev, kind)
    if rescored.tuning_summary():
        click.echo(rescored.tuning_summary())
    click.echo(f"{rescored.utterances} utterances rescored with weight {rescored.weight} → {output}")
