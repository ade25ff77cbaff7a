"""Scoring time for 100k utterance pairs: fieldasr.eval (sclite-compatible) against jiwer.

Run: PYTHONPATH=. python benchmarks/scoring_speed.py [--pairs 100000]; writes docs/benchmarks/scoring_speed.md.
"""
from __future__ import annotations

import argparse
import random
import time

import jiwer

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr.eval import score
from fieldasr.eval.align import align_batch


def make_pairs(count: int, seed: int = 0) -> tuple[dict[str, str], dict[str, str]]:
    generator = random.Random(seed)
    vocabulary = ["".join(generator.choices("aeiouptkmnŋsʃlrwj", k=generator.randint(2, 8))) for _ in range(2000)]
    references, hypotheses = {}, {}
    for index in range(count):
        words = generator.choices(vocabulary, k=generator.randint(3, 20))
        hypothesis = [generator.choice(vocabulary) if generator.random() < 0.1 else word for word in words
                      if generator.random() > 0.05]
        if generator.random() < 0.05:
            hypothesis.insert(generator.randint(0, len(hypothesis)), generator.choice(vocabulary))
        references[f"utt{index:06d}"] = " ".join(words)
        hypotheses[f"utt{index:06d}"] = " ".join(hypothesis)
    return references, hypotheses


def timed(function, *arguments, **keywords) -> tuple[str, object]:
    """Wall and CPU seconds: on a shared machine the CPU time is the fairer comparison."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*arguments, **keywords)
    return f"{time.perf_counter() - wall:.2f} / {time.process_time() - cpu:.2f}", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=100_000)
    add_report_option(parser, "scoring_speed")
    arguments = parser.parse_args()
    references, hypotheses = make_pairs(arguments.pairs)
    compile_seconds, _ = timed(align_batch, [["a"]], [["b"]])  # numba compiles (or loads its cache) once
    ref_list, hyp_list = list(references.values()), [hypotheses[key] for key in references]
    rows = []
    for unit, jiwer_function in (("word", jiwer.process_words), ("char", jiwer.process_characters)):
        ours_seconds, ours = timed(score, references, hypotheses, unit=unit, normaliser="none")
        jiwer_seconds, theirs = timed(jiwer_function, ref_list, hyp_list)
        rows.append((unit, ours_seconds, ours.errors, jiwer_seconds, theirs.substitutions + theirs.deletions + theirs.insertions))
    align_seconds, _ = timed(align_batch, [r.split() for r in ref_list], [h.split() for h in hyp_list])
    note = (f"{arguments.pairs:,} random utterance pairs. numba compile/cache load {compile_seconds} s (wall / CPU); "
            f"alignment alone (words) {align_seconds} s. jiwer counts spaces as characters and uses unit weights, "
            "so its error totals differ from sclite's.")
    columns = ("unit", "fieldasr score() wall / CPU s", "errors", "jiwer wall / CPU s", "jiwer errors")
    publish(arguments.output, "Scoring speed: fieldasr.eval against jiwer", [Table("Seconds for all pairs", columns, rows, note)])


if __name__ == "__main__":
    main()
