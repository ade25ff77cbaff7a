"""Byte-level LM: a GPT-2 over bytes trained by the common Trainer, saved as a model folder, used for rescoring."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForCausalLM, AutoTokenizer

from fieldasr.cli import cli
from fieldasr.train.config import ConfigError
from fieldasr.transfer.byte_level import ByteLevelShape, byte_level_model, byte_tokenizer
from fieldasr.transfer.nbest_files import rescore_nbest_file
from fieldasr.transfer.pretrain import continue_lm_pretraining
from fieldasr.transfer.recipe import run_lm_transfer_recipe
from fieldasr.transfer.rescore import Hypothesis, NbestRescorer, lm_log_probability, rescore_nbest
from fieldasr_examples.toy_corpus import parallel_sentences

TINY = ByteLevelShape(layers=2, width=32, heads=2, positions=128)


def _mean(values) -> float:
    return sum(values) / len(values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    _, target_lines = parallel_sentences(240, seed=5)
    out = tmp_path_factory.mktemp("bytes") / "lm"
    summary = continue_lm_pretraining(byte_level_model(TINY), byte_tokenizer(), target_lines[:200], out,
                                      valid_lines=target_lines[200:], max_steps=60, lr=5e-3, batch_size=16,
                                      max_length=128, progress_bar=False)
    return summary, out, target_lines[200:]


def test_the_vocabulary_is_the_bytes_and_any_text_round_trips():
    tokenizer = byte_tokenizer()
    assert len(tokenizer) == 256 + 3
    text = "mulher, pão e ŋʉ̃"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text


def test_training_lowers_the_loss_and_saves_a_loadable_folder(trained):
    summary, out, _ = trained
    assert summary.optimizer_steps == 60
    assert _mean(summary.step_losses[-5:]) < _mean(summary.step_losses[:5]) - 0.5
    assert summary.valid_loss is not None and summary.valid_loss < summary.step_losses[0]
    model = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert model.get_input_embeddings().weight.shape[0] == len(AutoTokenizer.from_pretrained(out, local_files_only=True))


def test_rescoring_with_the_byte_lm_changes_scores_and_the_choice(trained, tmp_path):
    _, out, lines = trained
    model = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    garbled = [" ".join("xqzjk" if index == 1 else word for index, word in enumerate(line.split())) for line in lines[:10]]
    right_scores, garbled_scores = lm_log_probability(model, tokenizer, lines[:10]), lm_log_probability(model, tokenizer, garbled)
    assert all(right > wrong for right, wrong in zip(right_scores, garbled_scores))
    nbest = [Hypothesis(tuple(garbled[0].split()), -10.0), Hypothesis(tuple(lines[0].split()), -10.5)]
    assert rescore_nbest(nbest, model, tokenizer, weight=0.0)[0].text == garbled[0]
    assert rescore_nbest(nbest, model, tokenizer, weight=1.0)[0].text == lines[0]
    records = [{"id": f"u{i}", "hypotheses": [{"text": wrong, "score": -10.0}, {"text": right, "score": -10.5}]}
               for i, (right, wrong) in enumerate(zip(lines[:4], garbled[:4]))]
    (tmp_path / "nbest.jsonl").write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in records))
    rescore_nbest_file(tmp_path / "nbest.jsonl", out, tmp_path / "best.jsonl", weight=1.0)
    best = [json.loads(line)["text"] for line in (tmp_path / "best.jsonl").read_text(encoding="utf-8").splitlines()]
    assert best == lines[:4]
    assert NbestRescorer(out, weight=1.0).lm.config.vocab_size == 259  # what `transcribe --rescore-lm` loads


def test_the_recipe_trains_a_byte_level_model_without_a_source_model(tmp_path):
    _, target_lines = parallel_sentences(60, seed=6)
    (tmp_path / "train.txt").write_text("\n".join(target_lines), encoding="utf-8")
    config = {"experiment_dir": str(tmp_path / "exp"), "data": {"train_text": str(tmp_path / "train.txt")},
              "model": {"byte_level": True, "byte_shape": {"layers": 1, "width": 16, "heads": 2, "positions": 128}},
              "transfer": {}, "pretraining": {"max_steps": 3, "batch_size": 8, "progress_bar": False}}
    summary = run_lm_transfer_recipe(config)
    assert summary.optimizer_steps == 3
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "exp", local_files_only=True).config.n_embd == 16
    with pytest.raises(ConfigError, match="more than one is set"):
        run_lm_transfer_recipe({**config, "model": {**config["model"], "path": str(tmp_path)}})
    with pytest.raises(ConfigError, match="byte-level model is causal"):
        run_lm_transfer_recipe({**config, "model": {**config["model"], "kind": "masked"}})


def test_cli_saves_a_fresh_byte_model_and_never_over_an_existing_folder(tmp_path):
    arguments = ["transfer", "byte-model", str(tmp_path / "bytes"), "--layers", "1", "--width", "16", "--heads", "2"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "bytes", local_files_only=True)
    assert (model.config.n_layer, model.config.n_embd, model.config.vocab_size) == (1, 16, 259)
    assert CliRunner().invoke(cli, arguments).exit_code != 0
    bad = CliRunner().invoke(cli, ["transfer", "byte-model", str(tmp_path / "odd"), "--width", "30", "--heads", "4"])
    assert "not a multiple of heads" in str(bad.exception) and not (tmp_path / "odd").exists()
