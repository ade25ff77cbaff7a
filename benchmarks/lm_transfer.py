"""How much continued pretraining each embedding initialiser saves, on the toy related-language pair.

A tiny GPT-2 is pretrained on the Spanish-like source text; its vocabulary is replaced by a tokenizer trained
on a small Portuguese-like text with each method; dev perplexity is measured before and after a few steps of
continued pretraining, against a model trained from scratch with the target tokenizer. Prints a table.

    PYTHONPATH=. python benchmarks/lm_transfer.py [--steps 100] [--source-steps 400]
"""
from __future__ import annotations

import argparse
import copy
import math
import time

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from fieldasr.transfer.apply import transfer_model_embeddings
from fieldasr.transfer.embeddings import top_k_cosine
from fieldasr.transfer.lm_task import LanguageModelCollator, LanguageModelTask, TextLineDataset
from fieldasr.transfer.registry import INITIALISERS, build_resources, make_initialiser
from fieldasr.transfer.tokenizer import train_target_tokenizer
from fieldasr.transfer.toy_corpus import dictionary_pairs, parallel_sentences

BATCH = 32


def train(model, lines, tokenizer, steps: int, seed: int = 0) -> None:
    dataset = TextLineDataset(lines, tokenizer, max_length=32)
    collate = LanguageModelCollator(tokenizer, "causal")
    task = LanguageModelTask(model, "causal").train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    order = np.random.default_rng(seed).permutation(len(dataset) * (1 + steps * BATCH // len(dataset)))
    for step in range(steps):
        batch = collate([dataset[int(i) % len(dataset)] for i in order[step * BATCH:(step + 1) * BATCH]])
        optimiser.zero_grad()
        task(batch).loss.backward()
        optimiser.step()


@torch.no_grad()
def perplexity(model, lines, tokenizer) -> float:
    dataset = TextLineDataset(lines, tokenizer, max_length=32)
    collate = LanguageModelCollator(tokenizer, "causal")
    task = LanguageModelTask(model, "causal").eval()
    total, tokens = 0.0, 0.0
    for start in range(0, len(dataset), 64):
        output = task(collate([dataset[i] for i in range(start, min(start + 64, len(dataset)))]))
        total += float(output.loss) * output.weight
        tokens += output.weight
    return math.exp(total / tokens)


def tiny_gpt2(vocab_size: int) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_embd=64, n_layer=2, n_head=4, n_positions=64,
                                      bos_token_id=0, eos_token_id=1))


def neighbour_search_rate(keys: int = 250_000, dim: int = 300, queries: int = 1_000) -> float:
    rng = np.random.default_rng(0)
    key_matrix = rng.normal(size=(keys, dim)).astype(np.float32)
    query_matrix = rng.normal(size=(queries, dim)).astype(np.float32)
    start = time.perf_counter()
    top_k_cosine(query_matrix, key_matrix, 10)
    return queries / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="continued-pretraining steps on target text")
    parser.add_argument("--source-steps", type=int, default=400, help="pretraining steps on source text")
    parser.add_argument("--target-lines", type=int, default=300, help="target training sentences")
    arguments = parser.parse_args()
    torch.set_num_threads(2)

    source_lines, _ = parallel_sentences(3000, seed=1)
    _, target_lines = parallel_sentences(arguments.target_lines + 200, seed=2)
    target_train, target_dev = target_lines[:arguments.target_lines], target_lines[arguments.target_lines:]
    source_tokenizer = train_target_tokenizer(source_lines, 400)
    target_tokenizer = train_target_tokenizer(target_train, 400)
    source_model = tiny_gpt2(len(source_tokenizer))
    train(source_model, source_lines, source_tokenizer, arguments.source_steps)

    rows = []
    scratch = tiny_gpt2(len(target_tokenizer))
    rows.append(("scratch", "", perplexity(scratch, target_dev, target_tokenizer), scratch))
    helper = copy.deepcopy(scratch)  # CLP's small target-language model: the scratch model after some training
    train(helper, target_train, target_tokenizer, 100, seed=1)
    for method in INITIALISERS:
        resources = build_resources(method, target_tokenizer, source_lines, target_train, dictionary_pairs(),
                                    helper_embeddings=helper.get_input_embeddings().weight.detach().numpy(),
                                    min_count=1, dim=50)
        model = copy.deepcopy(source_model)
        start = time.perf_counter()
        result = transfer_model_embeddings(model, source_tokenizer, target_tokenizer,
                                           make_initialiser(method, **resources))
        counts = f"{result.count('copied')}/{result.count('combined')}/{result.count('random') + result.count('mean')}"
        rows.append((method, f"{counts} {time.perf_counter() - start:.1f}s",
                     perplexity(model, target_dev, target_tokenizer), model))

    print(f"target train {len(target_train)} lines, dev {len(target_dev)} lines, "
          f"continued pretraining {arguments.steps} steps of {BATCH}")
    print(f"{'method':<22}{'copied/combined/other, time':<30}{'dev ppl @0':>12}{'dev ppl @' + str(arguments.steps):>14}")
    for method, counts, before, model in rows:
        train(model, target_train, target_tokenizer, arguments.steps)
        print(f"{method:<22}{counts:<30}{before:>12.1f}{perplexity(model, target_dev, target_tokenizer):>14.2f}")
    print(f"neighbour search, 250k keys × 300 dims, k=10: {neighbour_search_rate():.0f} queries/s")


if __name__ == "__main__":
    main()
