"""Continued pretraining: transferred embeddings in a model, and a loss that goes down (causal and masked LM)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, RobertaConfig, RobertaForMaskedLM

from fieldasr.transfer.apply import transfer_model_embeddings
from fieldasr.transfer.initialisers import COPIED
from fieldasr.transfer.langsamp import LanguageScriptEmbeddings, dominant_script
from fieldasr.transfer.lm_task import LanguageModelCollator, LanguageModelTask, TextLineDataset, load_language_model
from fieldasr.transfer.registry import make_initialiser
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of
from fieldasr_examples.toy_corpus import parallel_sentences


@pytest.fixture(scope="module")
def tokenizers():
    torch.set_num_threads(1)
    source_lines, target_lines = parallel_sentences(200)
    return source_lines, target_lines, train_target_tokenizer(source_lines, 280), train_target_tokenizer(target_lines, 300)


def tiny_gpt2(vocab_size: int, tied: bool = True) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                      tie_word_embeddings=tied))


def tiny_roberta(vocab_size: int, pad_token_id: int) -> RobertaForMaskedLM:
    torch.manual_seed(0)
    return RobertaForMaskedLM(RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                            num_attention_heads=2, intermediate_size=64, max_position_embeddings=70,
                                            pad_token_id=pad_token_id))


@pytest.mark.parametrize("tied", [True, False])
def test_transferred_model_has_target_vocabulary_and_keeps_overlap(tokenizers, tied):
    _, target_lines, source_tokenizer, target_tokenizer = tokenizers
    model = tiny_gpt2(len(source_tokenizer), tied)
    source_input = model.get_input_embeddings().weight.detach().clone()
    source_output = model.get_output_embeddings().weight.detach().clone()
    result = transfer_model_embeddings(model, source_tokenizer, target_tokenizer, make_initialiser("mean"))
    assert model.get_input_embeddings().weight.shape[0] == len(target_tokenizer)
    assert model.get_output_embeddings().weight.shape[0] == len(target_tokenizer)
    overlap = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer)).overlap()
    target_id, source_id = next((t, s) for t, s in overlap.items() if result.origin[t] == COPIED)
    torch.testing.assert_close(model.get_input_embeddings().weight[target_id], source_input[source_id])
    torch.testing.assert_close(model.get_output_embeddings().weight[target_id], source_output[source_id])
    new_id = result.origin.index("mean")
    torch.testing.assert_close(model.get_output_embeddings().weight[new_id], source_output.mean(0))
    ids = torch.tensor([target_tokenizer(target_lines[0])["input_ids"]])
    assert torch.isfinite(model(input_ids=ids).logits).all()


def _train(task, batches, steps: int) -> list[float]:
    optimiser = torch.optim.AdamW(task.parameters(), lr=3e-3)
    losses = []
    for step in range(steps):
        output = task(batches[step % len(batches)])
        optimiser.zero_grad()
        output.loss.backward()
        optimiser.step()
        losses.append(output.stats["loss"])
    return losses


def _batches(lines, tokenizer, kind, size=16, **collator_options):
    dataset = TextLineDataset(lines, tokenizer, max_length=32)
    collate = LanguageModelCollator(tokenizer, kind, **collator_options)
    return [collate([dataset[i] for i in range(start, start + size)]) for start in range(0, 64, size)]


def test_causal_continued_pretraining_loss_decreases(tokenizers):
    _, target_lines, source_tokenizer, target_tokenizer = tokenizers
    model = tiny_gpt2(len(source_tokenizer))
    transfer_model_embeddings(model, source_tokenizer, target_tokenizer, make_initialiser("convex-hull"))
    batches = _batches(target_lines, target_tokenizer, "causal")
    task = LanguageModelTask(model, "causal")
    first = task(batches[0])
    assert first.weight == float((batches[0]["labels"][:, 1:] != -100).sum())
    losses = _train(task, batches, 30)
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4])


def test_masked_continued_pretraining_with_langsamp_loss_decreases(tokenizers):
    _, target_lines, source_tokenizer, target_tokenizer = tokenizers
    model = tiny_roberta(len(source_tokenizer), source_tokenizer.pad_token_id)
    transfer_model_embeddings(model, source_tokenizer, target_tokenizer, make_initialiser("random"))
    assert dominant_script(target_lines[0]) == "LATIN" and dominant_script("мой брат") == "CYRILLIC"
    langsamp = LanguageScriptEmbeddings(num_languages=2, num_scripts=1, hidden_size=32)
    batches = _batches(target_lines, target_tokenizer, "masked", language_id=1, script_id=0)
    assert batches[0]["language_ids"].tolist() == [1] * 16
    assert (batches[0]["labels"] != -100).any()
    assert (batches[0]["input_ids"] == target_tokenizer.mask_token_id).any()
    task = LanguageModelTask(model, "masked", langsamp=langsamp)
    losses = _train(task, batches, 40)
    assert np.mean(losses[-4:]) < 0.8 * np.mean(losses[:4])
    assert langsamp.languages.weight.grad is not None


def test_models_load_only_from_local_directories(tmp_path, tokenizers):
    from fieldasr.transfer.errors import TransferError

    with pytest.raises(TransferError, match="never downloaded"):
        load_language_model("gpt2", "causal")
    model = tiny_gpt2(50)
    model.save_pretrained(tmp_path / "tiny")
    assert isinstance(load_language_model(tmp_path / "tiny", "causal"), GPT2LMHeadModel)


def test_roberta_output_bias_follows_the_copied_tokens(tokenizers):
    _, _, source_tokenizer, target_tokenizer = tokenizers
    model = tiny_roberta(len(source_tokenizer), source_tokenizer.pad_token_id)
    with torch.no_grad():
        model.lm_head.bias.normal_()
    source_bias = model.lm_head.bias.detach().clone()
    result = transfer_model_embeddings(model, source_tokenizer, target_tokenizer, make_initialiser("random"))
    overlap = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer)).overlap()
    bias = model.lm_head.decoder.bias.detach()
    assert bias.shape[0] == len(target_tokenizer) and model.lm_head.bias is model.lm_head.decoder.bias
    target_id, source_id = next(iter(overlap.items()))
    assert bias[target_id] == source_bias[source_id]
    new_id = result.origin.index("random")
    assert bias[new_id] == pytest.approx(float(source_bias.mean()), abs=1e-6)


def test_masking_state_round_trips_for_resumed_runs(tokenizers):
    _, target_lines, _, target_tokenizer = tokenizers
    dataset = TextLineDataset(target_lines[:8], target_tokenizer)
    collate = LanguageModelCollator(target_tokenizer, "masked", seed=3)
    collate([dataset[0], dataset[1]])
    state = collate.state_dict()
    expected = collate([dataset[2], dataset[3]])
    resumed = LanguageModelCollator(target_tokenizer, "masked", seed=99)
    resumed.load_state_dict(state)
    assert torch.equal(resumed([dataset[2], dataset[3]])["input_ids"], expected["input_ids"])
