"""`fieldasr transfer ...`: target tokenizers, embedding transfer into a local model, continued pretraining, rescoring."""
from __future__ import annotations

import json
from pathlib import Path

import click
from fieldasr.files import atomic_write_text


@click.group()
def transfer() -> None:
    """Text-side transfer: a target-language LM from a related high-resource model."""


@transfer.command("tokenizer")
@click.argument("target_text", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--vocab-size", default=8000, show_default=True)
@click.option("--style", type=click.Choice(["byte-bpe", "unigram"]), default="byte-bpe", show_default=True)
@click.option("--extend", "source_tokenizer", type=click.Path(exists=True, file_okay=False),
              help="Append the new tokens to this source tokenizer instead of replacing it.")
def tokenizer_command(target_text: str, output: str, vocab_size: int, style: str, source_tokenizer: str | None) -> None:
    """Train a tokenizer on TARGET_TEXT (UTF-8, one sentence per line) and save it to OUTPUT."""
    from transformers import AutoTokenizer

    from fieldasr.transfer.tokenizer import extend_tokenizer, read_target_text, train_target_tokenizer

    tokenizer = train_target_tokenizer(read_target_text(target_text), vocab_size, style)
    if source_tokenizer:
        extended = extend_tokenizer(AutoTokenizer.from_pretrained(source_tokenizer, local_files_only=True), tokenizer)
        tokenizer = extended.tokenizer
        click.echo(f"added {len(extended.added_tokens)} target tokens to the source vocabulary")
    tokenizer.save_pretrained(output)
    click.echo(f"{len(tokenizer)} tokens → {output}")


def _read_lines(path: str | None) -> list[str] | None:
    from fieldasr.transfer.tokenizer import read_target_text

    return read_target_text(path) if path else None


@transfer.command("init")
@click.argument("source_model", type=click.Path(exists=True, file_okay=False))
@click.argument("target_tokenizer", type=click.Path(exists=True, file_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--method", default="focus", show_default=True,
              type=click.Choice(["random", "mean", "multivariate-normal", "convex-hull", "wechsel", "focus", "clp", "ofa"]))
@click.option("--kind", type=click.Choice(["causal", "masked"]), default="causal", show_default=True)
@click.option("--source-text", type=click.Path(exists=True, dir_okay=False), help="Source-language text (WECHSEL, OFA).")
@click.option("--target-text", type=click.Path(exists=True, dir_okay=False), help="Target-language text (WECHSEL, OFA, FOCUS).")
@click.option("--dictionary", type=click.Path(exists=True, dir_okay=False), help="source<TAB>target word pairs (WECHSEL, OFA).")
@click.option("--helper-model", type=click.Path(exists=True, file_okay=False), help="Small model with the target tokenizer (CLP).")
@click.option("--min-count", type=int, default=None, help="fastText min_count; lower it on small texts (FOCUS default 10).")
@click.option("--dim", default=100, show_default=True, help="Size of the static fastText vectors trained here.")
@click.option("--seed", default=0, show_default=True)
def init_command(source_model: str, target_tokenizer: str, output: str, method: str, kind: str, source_text: str | None,
                 target_text: str | None, dictionary: str | None, helper_model: str | None, min_count: int | None,
                 dim: int, seed: int) -> None:
    """Give SOURCE_MODEL the vocabulary of TARGET_TOKENIZER, initialised by --method; save to OUTPUT."""
    from transformers import AutoModel, AutoTokenizer

    from fieldasr.transfer.apply import transfer_model_embeddings
    from fieldasr.transfer.embeddings import read_bilingual_dictionary
    from fieldasr.transfer.lm_task import load_language_model
    from fieldasr.transfer.registry import build_resources, make_initialiser

    source_tokenizer = AutoTokenizer.from_pretrained(source_model, local_files_only=True)
    target = AutoTokenizer.from_pretrained(target_tokenizer, local_files_only=True)
    helper = None
    if helper_model:
        helper = AutoModel.from_pretrained(helper_model, local_files_only=True).get_input_embeddings().weight.detach().numpy()
    resources = build_resources(method, target, _read_lines(source_text), _read_lines(target_text),
                                read_bilingual_dictionary(dictionary) if dictionary else None, helper,
                                min_count=min_count, dim=dim, seed=seed)
    model = load_language_model(source_model, kind)
    result = transfer_model_embeddings(model, source_tokenizer, target, make_initialiser(method, seed=seed, **resources))
    alignment = resources.get("alignment")
    summary = {"method": method, **result.summary()}
    if alignment is not None:
        summary.update(dictionary_pairs_used=alignment.pairs_used, dictionary_missing_source=alignment.missing_source,
                       dictionary_missing_target=alignment.missing_target, dictionary_missing_both=alignment.missing_both,
                       alignment_ill_posed=alignment.ill_posed)
    model.save_pretrained(output)
    target.save_pretrained(output)
    _write_json(Path(output) / "transfer_report.json", summary)
    click.echo(json.dumps(summary, indent=1))


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
@click.option("--device", default="cpu", show_default=True)
def pretrain_command(model: str, train_text: str, output: str, tokenizer: str | None, kind: str, valid_text: str | None,
                     max_steps: int, lr: float, batch_size: int, max_length: int, warmup_steps: int, seed: int,
                     device: str) -> None:
    """Continue pretraining MODEL (a local folder, e.g. from `transfer init`) on TRAIN_TEXT; resumable; saved to OUTPUT."""
    from fieldasr.transfer.pretrain import continue_lm_pretraining
    from fieldasr.transfer.tokenizer import read_target_text

    summary = continue_lm_pretraining(model, tokenizer or model, read_target_text(train_text), output, kind=kind,
                                      valid_lines=_read_lines(valid_text), max_steps=max_steps, lr=lr,
                                      batch_size=batch_size, max_length=max_length, warmup_steps=warmup_steps,
                                      seed=seed, device=device)
    losses = summary.step_losses
    trend = f"loss {losses[0]:.3f} → {losses[-1]:.3f} over this run's {len(losses)} steps" if losses else "no new steps"
    click.echo(f"{summary.optimizer_steps} steps ({trend}); valid loss {summary.valid_loss}; model in {output}")


def _write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False))


def _read_nbest(path: str):
    from fieldasr.transfer.rescore import Hypothesis

    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            hypotheses = [Hypothesis(tuple(h["text"].split()), float(h["score"])) for h in item["hypotheses"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise click.ClickException(f"{path}:{number}: expected {{'id', 'hypotheses': [{{'text', 'score'}}]}}: {error}")
        items.append((item.get("id", str(number)), hypotheses, item.get("reference")))
    return items


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
    from transformers import AutoTokenizer

    from fieldasr.transfer.lm_task import load_language_model
    from fieldasr.transfer.rescore import rescore_nbest, tune_rescoring_weight

    tokenizer = AutoTokenizer.from_pretrained(language_model, local_files_only=True)
    lm = load_language_model(language_model, kind)
    if weight is None:
        if dev is None:
            raise click.UsageError("give --weight, or --dev n-best lists with references to tune it")
        dev_items = [item for item in _read_nbest(dev) if item[2] is not None]
        tuning = tune_rescoring_weight([h for _, h, _ in dev_items], [r for _, _, r in dev_items], lm, tokenizer)
        weight = tuning.best_weight
        click.echo(f"tuned on {tuning.utterances} dev utterances: weight {weight} (WER {tuning.word_error_rates[weight]:.3f})")
    lines = [json.dumps({"id": key, "text": rescore_nbest(hyps, lm, tokenizer, weight)[0].text if hyps else ""},
                        ensure_ascii=False) for key, hyps, _ in _read_nbest(nbest)]
    atomic_write_text(output, "\n".join(lines) + "\n")
    click.echo(f"{len(lines)} utterances rescored with weight {weight} → {output}")
