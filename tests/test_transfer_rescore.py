"""N-best rescoring with a target-language LM trained on target text, and tuning of its weight."""
from __future__ import annotations

import jiwer
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from fieldasr.transfer.lm_task import LanguageModelCollator, LanguageModelTask, TextLineDataset
from fieldasr.transfer.rescore import Hypothesis, lm_log_probability, rescore_nbest, tune_rescoring_weight
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr_examples.toy_corpus import parallel_sentences


@pytest.fixture(scope="module")
def trained_lm():
    torch.set_num_threads(1)
    source_lines, target_lines = parallel_sentences(300)
    tokenizer = train_target_tokenizer(target_lines, 300)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=64))
    dataset = TextLineDataset(target_lines[:256], tokenizer, max_length=32)
    collate = LanguageModelCollator(tokenizer, "causal")
    task = LanguageModelTask(model, "causal")
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
    for step in range(60):
        batch = collate([dataset[(step * 32 + i) % len(dataset)] for i in range(32)])
        optimiser.zero_grad()
        task(batch).loss.backward()
        optimiser.step()
    return model, tokenizer, source_lines[256:], target_lines[256:]


def confusable_nbest(source_line: str, target_line: str) -> list[Hypothesis]:
    """The right target sentence, and one where a word came out in the source language with a better acoustic score."""
    right, wrong = target_line.split(), target_line.split()
    wrong[1] = source_line.split()[1]  # e.g. 'homem' heard as 'hombre'
    return [Hypothesis(tuple(wrong), -10.0), Hypothesis(tuple(right), -10.5)]


def test_lm_prefers_target_language_sentences(trained_lm):
    model, tokenizer, source_lines, target_lines = trained_lm
    target_scores = lm_log_probability(model, tokenizer, target_lines[:10])
    scrambled = [" ".join(reversed(line.split())) for line in target_lines[:10]]
    assert sum(t > s for t, s in zip(target_scores, lm_log_probability(model, tokenizer, scrambled))) >= 9


def test_rescoring_puts_the_right_hypothesis_first(trained_lm):
    model, tokenizer, source_lines, target_lines = trained_lm
    nbest = confusable_nbest(source_lines[0], target_lines[0])
    assert rescore_nbest(nbest, model, tokenizer, weight=0.0)[0].words == nbest[0].words  # acoustics alone: wrong
    best = rescore_nbest(nbest, model, tokenizer, weight=1.0)[0]
    assert best.text == target_lines[0]
    assert best.total_score == pytest.approx(best.acoustic_score + best.lm_score)


def test_beam_search_results_become_hypotheses():
    from torchaudio.models.decoder import CTCHypothesis

    from fieldasr.transfer.rescore import hypotheses_from_beam

    beam = [CTCHypothesis(tokens=torch.tensor([1, 2]), words=["o", "gato"], score=-3.5, timesteps=torch.tensor([0, 4]))]
    assert hypotheses_from_beam(beam) == [Hypothesis(("o", "gato"), -3.5)]


def test_weight_tuned_on_dev_lowers_the_word_error_rate(trained_lm):
    model, tokenizer, source_lines, target_lines = trained_lm
    nbest_lists = [confusable_nbest(s, t) for s, t in zip(source_lines[:12], target_lines[:12])]
    references = target_lines[:12]
    tuning = tune_rescoring_weight(nbest_lists, references, model, tokenizer, weights=[0.0, 0.5, 1.0])
    acoustic_only = jiwer.wer(references, [" ".join(nbest[0].words) for nbest in nbest_lists])
    assert tuning.word_error_rates[0.0] == pytest.approx(acoustic_only)
    assert tuning.best_weight > 0
    assert tuning.word_error_rates[tuning.best_weight] < acoustic_only


def test_masked_lm_score_is_the_pseudo_log_likelihood(trained_lm):
    """Salazar et al.: mask each token in turn and add its log-probability; checked one mask at a time."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    _, tokenizer, _, target_lines = trained_lm
    torch.manual_seed(0)
    model = RobertaForMaskedLM(RobertaConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=32,
                                             pad_token_id=tokenizer.pad_token_id)).eval()
    ids = tokenizer(target_lines[0])["input_ids"]
    expected = 0.0
    with torch.no_grad():
        for position, token in enumerate(ids):
            if token in tokenizer.all_special_ids:
                continue
            masked = list(ids)
            masked[position] = tokenizer.mask_token_id
            logits = model(input_ids=torch.tensor([masked])).logits[0, position]
            expected += float(torch.log_softmax(logits, -1)[token])
    assert lm_log_probability(model, tokenizer, [target_lines[0]])[0] == pytest.approx(expected, rel=1e-4)
