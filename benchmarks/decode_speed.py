"""Decoding speed: greedy vs. lexicon beam search vs. lexicon + 3-gram beam search, in frames per second.

Emissions are synthetic (noisy peaks on the letters of random sentences, 20 ms frames), so the numbers
measure the search, not a model. Writes docs/benchmarks/decode_speed.md. Run from the repository root:

    PYTHONPATH=. python benchmarks/decode_speed.py --minutes 10
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from decode_synthetic import LETTER_VOCABULARY, letters, synthetic_emission  # noqa: E402

from benchmarks.benchmark_doc import Table, add_report_option, publish  # noqa: E402
from fieldasr.decode import BeamDecoder, arpa_words, build_arpa, greedy_decode, spelling_lexicon  # noqa: E402
from fieldasr.decode.tune import pad_emissions  # noqa: E402

FRAME_SECONDS = 0.02
WORDS = (
    "the a cat dog bird child woman man river house tree fish mat sat saw walked slept ate found near to "
    "on in old little big red green quickly slowly today yesterday my your their brother sister mother"
).split()


def random_sentences(count: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    return [" ".join(generator.choices(WORDS, k=generator.randint(4, 12))) for _ in range(count)]


def make_emissions(minutes: float) -> list[torch.Tensor]:
    emissions, frames, seed = [], 0, 0
    while frames * FRAME_SECONDS < minutes * 60:
        (sentence,) = random_sentences(1, seed)
        emission = synthetic_emission(letters(sentence), LETTER_VOCABULARY, noise=1.5, seed=seed).log_probs
        emissions.append(emission)
        frames += emission.shape[0]
        seed += 1
    return emissions


def timed(label: str, decode, batches, frames: int) -> tuple[str, str, str, str]:
    start = time.perf_counter()
    for padded, lengths in batches:
        decode(padded, lengths)
    seconds = time.perf_counter() - start
    return label, f"{seconds:.2f}", f"{frames / seconds:,.0f}", f"{frames * FRAME_SECONDS / seconds:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of emissions to decode")
    parser.add_argument("--beam-size", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16)
    add_report_option(parser, "decode_speed")
    arguments = parser.parse_args()
    torch.set_num_threads(1)

    emissions = make_emissions(arguments.minutes)
    frames = sum(emission.shape[0] for emission in emissions)
    size = arguments.batch_size
    batches = [pad_emissions(emissions[start : start + size]) for start in range(0, len(emissions), size)]
    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / "text.txt"
        text.write_text("\n".join(random_sentences(5000, seed=10_000)) + "\n", encoding="utf-8")
        arpa = build_arpa(text, Path(folder) / "lm.arpa", order=3).path
        lexicon = spelling_lexicon(arpa_words(arpa), LETTER_VOCABULARY)
        lexicon_only = BeamDecoder(LETTER_VOCABULARY, lexicon, beam_size=arguments.beam_size)
        with_lm = BeamDecoder(LETTER_VOCABULARY, lexicon, arpa, lm_weight=1.0, beam_size=arguments.beam_size)
        rows = [timed("greedy", lambda e, n: greedy_decode(e, LETTER_VOCABULARY, n), batches, frames),
                timed("beam, lexicon", lexicon_only.decode, batches, frames),
                timed("beam, lexicon + 3-gram LM", with_lm.decode, batches, frames)]
    note = (f"{len(emissions)} utterances, {frames:,} frames ({frames * FRAME_SECONDS / 60:.1f} min) of synthetic peaky "
            f"emissions (they measure the search, not a model); beam {arguments.beam_size}, batch {arguments.batch_size}, 1 thread.")
    publish(arguments.output, "Decoding speed", [Table("Frames per second", ("decoder", "seconds", "frames/s", "x real time"), rows, note)])


if __name__ == "__main__":
    main()
