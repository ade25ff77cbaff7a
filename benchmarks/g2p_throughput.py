"""G2P throughput (utterances per second) for espeak-ng, epitran and hand-written rules on 10k sentences.

    PYTHONPATH=. python benchmarks/g2p_throughput.py [--sentences 10000] [--vocabulary 20000]

Sentences are made of pseudo-words over the letters Swahili and Māori share (Zipf-distributed, 8 words each),
so every backend reads the same text. Each backend starts with an empty word cache ("cold"); the second run
over the same sentences shows the cached speed ("warm"). Writes docs/benchmarks/g2p_throughput.md.
"""
from __future__ import annotations

import argparse
import itertools
import random
import time

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr.g2p import G2P, load_spec
from fieldasr.g2p.spec import spec_from_mapping

SYLLABLES = [consonant + vowel for consonant in ["", "k", "m", "n", "p", "t", "h", "w", "r", "ng"] for vowel in "aeiou"]


def make_sentences(count: int, vocabulary_size: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocabulary = list(dict.fromkeys("".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(vocabulary_size * 2)))
    vocabulary = vocabulary[:vocabulary_size]
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
    return [" ".join(rng.choices(vocabulary, cum_weights=cumulative, k=8)) for _ in range(count)]


def measure(g2p: G2P, sentences: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    result = g2p.phonemize(sentences)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    g2p.phonemize(sentences)
    warm = time.perf_counter() - start
    return cold, warm, result.report.distinct_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--vocabulary", type=int, default=20_000)
    add_report_option(parser, "g2p_throughput")
    arguments = parser.parse_args()
    sentences = make_sentences(arguments.sentences, arguments.vocabulary)
    specs = {"espeak (sw)": load_spec("sw"), "epitran (swa-Latn)": load_spec("sw-epitran"), "rules (mi)": load_spec("mi")}
    rows = []
    for name, spec in specs.items():
        cold, warm, distinct = measure(G2P(spec), sentences)
        rows.append((name, distinct, f"{cold:.2f}", f"{len(sentences) / cold:,.0f}", f"{len(sentences) / warm:,.0f}"))
    g2p = G2P(spec_from_mapping({"language": "sw", "backend": "espeak", "voice": "sw"}))
    start = time.perf_counter()
    g2p.phonemize([f"{sentence} {index}" for index, sentence in enumerate(sentences[:1000])])
    words = sum(len(sentence.split()) for sentence in sentences)
    tables = [
        Table("Utterances per second", ("backend", "distinct words", "cold s", "cold utt/s", "warm utt/s"), rows,
              f"{len(sentences):,} sentences of 8 pseudo-words ({words:,} words); cold = empty word cache, warm = the same sentences again."),
        Table("A new word in every sentence", ("backend", "sentences", "utt/s"),
              [("espeak (sw)", 1000, f"{1000 / (time.perf_counter() - start):,.0f}")], "The first 1,000 sentences, each with a number appended."),
    ]
    publish(arguments.output, "G2P throughput", tables)


if __name__ == "__main__":
    main()
