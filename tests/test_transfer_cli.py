"""`fieldasr transfer` end to end on a tiny saved model: tokenizer, init with resources, rescore with tuning."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from transformers import GPT2Config, GPT2LMHeadModel

from fieldasr.cli import cli
from fieldasr.transfer.errors import MissingResourceError
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr_examples.toy_corpus import dictionary_pairs, parallel_sentences


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("transfer_cli")
    source_lines, target_lines = parallel_sentences(200)
    (folder / "source.txt").write_text("\n".join(source_lines), encoding="utf-8")
    (folder / "target.txt").write_text("\n".join(target_lines), encoding="utf-8")
    (folder / "dictionary.tsv").write_text("\n".join(f"{s}\t{t}" for s, t in dictionary_pairs()), encoding="utf-8")
    tokenizer = train_target_tokenizer(source_lines, 280)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=64))
    model.save_pretrained(folder / "source_model")
    tokenizer.save_pretrained(folder / "source_model")
    return folder, source_lines, target_lines


def run(*arguments: str):
    return CliRunner().invoke(cli, list(arguments), catch_exceptions=True)


def test_tokenizer_then_init_with_focus_cw2v_and_wechsel(files):
    folder, _, _ = files
    result = run("transfer", "tokenizer", str(folder / "target.txt"), str(folder / "target_tok"), "--vocab-size", "300")
    assert result.exit_code == 0, result.output
    for method, extra in [("focus", ["--target-text", str(folder / "target.txt"), "--min-count", "1"]),
                          ("cw2v", ["--target-text", str(folder / "target.txt")]),
                          ("wechsel", ["--source-text", str(folder / "source.txt"), "--target-text",
                                       str(folder / "target.txt"), "--dictionary", str(folder / "dictionary.tsv")])]:
        out = folder / f"model_{method}"
        result = run("transfer", "init", str(folder / "source_model"), str(folder / "target_tok"), str(out),
                     "--method", method, "--dim", "16", *extra)
        assert result.exit_code == 0, result.output
        report = json.loads((out / "transfer_report.json").read_text())
        assert report["method"] == method and report["combined"] > 0
        assert GPT2LMHeadModel.from_pretrained(out).get_input_embeddings().weight.shape[0] == 300
    assert report["dictionary_pairs_used"] == len(dictionary_pairs()) - report["dictionary_missing_both"] \
        - report["dictionary_missing_source"] - report["dictionary_missing_target"]
    assert report["dictionary_pairs"] == len(dictionary_pairs())
    assert 0 < report["translated"] <= report["dictionary_pairs_in_both_vocabularies"]


def test_init_names_the_missing_resource(files):
    folder, _, _ = files
    run("transfer", "tokenizer", str(folder / "target.txt"), str(folder / "target_tok"), "--vocab-size", "300")
    result = run("transfer", "init", str(folder / "source_model"), str(folder / "target_tok"),
                 str(folder / "never"), "--method", "wechsel", "--target-text", str(folder / "target.txt"))
    assert isinstance(result.exception, MissingResourceError)
    assert "--source-text" in str(result.exception)


def test_rescore_tunes_the_weight_on_dev_and_writes_best_hypotheses(files):
    folder, _, target_lines = files
    nbest = folder / "nbest.jsonl"
    lines = [{"id": f"u{i}", "reference": line,
              "hypotheses": [{"text": line, "score": -1.0}, {"text": line + " um", "score": -3.0}]}
             for i, line in enumerate(target_lines[:4])]
    nbest.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in lines), encoding="utf-8")
    result = run("transfer", "rescore", str(nbest), str(folder / "source_model"), str(folder / "best.jsonl"),
                 "--dev", str(nbest))
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in (folder / "best.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [item["id"] for item in written] == ["u0", "u1", "u2", "u3"]
    assert "tuned on 4 dev utterances" in result.output
