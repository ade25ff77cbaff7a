"""Continued LM pretraining through the common Trainer: the loss falls, a crashed run resumes to the same weights."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, RobertaConfig, RobertaForMaskedLM

import fieldasr.transfer.pretrain as pretrain
from fieldasr.transfer.lm_task import LanguageModelTask
from fieldasr.transfer.pretrain import continue_lm_pretraining
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr_examples.toy_corpus import parallel_sentences


@pytest.fixture(scope="module")
def text():
    torch.set_num_threads(1)
    _, target_lines = parallel_sentences(260, seed=3)
    tokenizer = train_target_tokenizer(target_lines[:200], 300)
    return target_lines[:200], target_lines[200:], tokenizer


def tiny_gpt2(vocab_size: int) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))


def tiny_roberta(vocab_size: int, pad_token_id: int) -> RobertaForMaskedLM:
    torch.manual_seed(0)
    return RobertaForMaskedLM(RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                            num_attention_heads=2, intermediate_size=64, max_position_embeddings=70,
                                            pad_token_id=pad_token_id, hidden_dropout_prob=0.0,
                                            attention_probs_dropout_prob=0.0))


def _mean(values) -> float:
    return sum(values) / len(values)


def test_causal_loss_decreases_and_the_result_is_a_loadable_model(text, tmp_path):
    train_lines, valid_lines, tokenizer = text
    summary = continue_lm_pretraining(tiny_gpt2(len(tokenizer)), tokenizer, train_lines, tmp_path / "lm",
                                      valid_lines=valid_lines, max_steps=40, lr=3e-3, batch_size=16, progress_bar=False)
    assert summary.optimizer_steps == 40
    assert _mean(summary.step_losses[-5:]) < _mean(summary.step_losses[:5]) - 1.0
    assert summary.valid_loss is not None and summary.valid_loss < summary.step_losses[0]
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "lm", local_files_only=True)
    assert reloaded.get_input_embeddings().weight.shape[0] == len(tokenizer)
    recorded = json.loads((tmp_path / "lm" / "pretraining_summary.json").read_text())
    assert recorded["optimizer_steps"] == 40
    assert (tmp_path / "lm" / "training" / "log.csv").is_file()


def test_masked_loss_decreases(text, tmp_path):
    train_lines, _, tokenizer = text
    model = tiny_roberta(len(tokenizer), tokenizer.pad_token_id)
    summary = continue_lm_pretraining(model, tokenizer, train_lines, tmp_path / "mlm", kind="masked", max_steps=40,
                                      lr=3e-3, batch_size=16, progress_bar=False)
    assert _mean(summary.step_losses[-5:]) < _mean(summary.step_losses[:5]) - 1.0


class _Crash(RuntimeError):
    pass


def test_crashed_masked_run_resumes_to_the_uninterrupted_result(text, tmp_path, monkeypatch):
    train_lines, valid_lines, tokenizer = text
    initial = tmp_path / "initial"
    tiny_roberta(len(tokenizer), tokenizer.pad_token_id).save_pretrained(initial)
    settings = dict(kind="masked", valid_lines=valid_lines, max_steps=24, lr=3e-3, batch_size=32,
                    checkpoint_interval_steps=3, progress_bar=False)
    reference = continue_lm_pretraining(initial, tokenizer, train_lines, tmp_path / "reference", **settings)

    class CrashingTask(LanguageModelTask):
        calls = 0

        def forward(self, batch):
            if self.training:
                CrashingTask.calls += 1
                if CrashingTask.calls == 17:  # in the third epoch (7 batches each), after some checkpoint
                    raise _Crash("killed")
            return super().forward(batch)

    monkeypatch.setattr(pretrain, "LanguageModelTask", CrashingTask)
    with pytest.raises(_Crash):
        continue_lm_pretraining(initial, tokenizer, train_lines, tmp_path / "resumed", **settings)
    monkeypatch.setattr(pretrain, "LanguageModelTask", LanguageModelTask)
    resumed = continue_lm_pretraining(initial, tokenizer, train_lines, tmp_path / "resumed", **settings)

    assert resumed.optimizer_steps == reference.optimizer_steps == 24
    redone = len(resumed.step_losses)
    assert 24 - 16 <= redone < 24  # 16 steps were done before the crash; the resumption starts at a checkpoint
    assert resumed.step_losses == pytest.approx(reference.step_losses[-redone:], rel=1e-4)
    expected = RobertaForMaskedLM.from_pretrained(tmp_path / "reference").state_dict()
    for name, value in RobertaForMaskedLM.from_pretrained(tmp_path / "resumed").state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5)


def test_recipe_transfers_then_pretrains_and_the_cli_continues_it(text, tmp_path):
    from click.testing import CliRunner

    from fieldasr.cli.transfer import transfer
    from fieldasr.transfer.recipe import main

    train_lines, valid_lines, target_tokenizer = text
    source_lines, _ = parallel_sentences(200, seed=4)
    source_tokenizer = train_target_tokenizer(source_lines, 280)
    tiny_gpt2(len(source_tokenizer)).save_pretrained(tmp_path / "source")
    source_tokenizer.save_pretrained(tmp_path / "source")
    (tmp_path / "train.txt").write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    (tmp_path / "valid.txt").write_text("\n".join(valid_lines) + "\n", encoding="utf-8")
    hparams = "recipes/lm_transfer/hparams/pt_from_es.yaml"
    summary = main([hparams, "--set", f"experiment_dir={tmp_path / 'exp'}", "--set", f"data.train_text={tmp_path / 'train.txt'}",
                    "--set", f"data.valid_text={tmp_path / 'valid.txt'}", "--set", f"transfer.source_model={tmp_path / 'source'}",
                    "--set", "transfer.method=mean", "--set", "transfer.vocab_size=300", "--set", "pretraining.max_steps=2",
                    "--set", "pretraining.warmup_steps=0"])
    assert summary.optimizer_steps == 2
    report = json.loads((tmp_path / "exp" / "transfer_report.json").read_text())
    assert report["copied"] > 0 and report["mean"] > 0
    assert (tmp_path / "exp" / "config.yaml").is_file()

    result = CliRunner().invoke(transfer, ["pretrain", str(tmp_path / "exp"), str(tmp_path / "train.txt"),
                                           str(tmp_path / "more"), "--max-steps", "2", "--warmup-steps", "0"])
    assert result.exit_code == 0, result.output
    assert "2 steps" in result.output
    assert (tmp_path / "more" / "tokenizer.json").is_file()


def test_langsamp_embeddings_are_trained_and_saved_beside_the_model(text, tmp_path):
    from fieldasr.transfer.langsamp import LanguageScriptEmbeddings

    train_lines, _, tokenizer = text
    langsamp = LanguageScriptEmbeddings(num_languages=3, num_scripts=2, hidden_size=32)
    before = langsamp.languages.weight.detach().clone()
    continue_lm_pretraining(tiny_gpt2(len(tokenizer)), tokenizer, train_lines, tmp_path / "lm", max_steps=3, lr=3e-3,
                            langsamp=langsamp, language_id=2, script_id=1, progress_bar=False)
    saved = torch.load(tmp_path / "lm" / "langsamp.pt")
    assert not torch.equal(saved["languages.weight"][2], before[2])  # the row of the language trained on moved
    torch.testing.assert_close(saved["languages.weight"][0], before[0])  # other languages' rows did not
