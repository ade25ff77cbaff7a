"""Is the per-segment confidence informative? PER by confidence quartile on held-out speech.

The model of benchmarks/synthetic_speakers.py (a small phone Conformer trained briefly on two synthetic Māori
speakers) decodes the utterances of two other speakers greedily; each gets the confidence that `transcribe
--confidence` writes (`fieldasr.decode.hypothesis_confidence`, the one place it is computed) and its own PER.
The utterances are sorted by confidence and cut into quartiles; PER is pooled within each (errors / reference
phones). Informative means: the lowest quartile has a clearly higher PER than the highest.

    PYTHONPATH=. python benchmarks/confidence.py [--work /tmp/fieldasr-synthetic] [--threads 2]

Real speech instead (`benchmarks/real_dutch.py`): `--real-dutch exp/real_speech/data --bundle BUNDLE` (a bundle real_speech.py trained)
decodes the whole real Dutch test set with that bundle; the report then goes to docs/benchmarks/confidence_real_dutch.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmark_doc import Table, add_report_option, publish
from fieldasr.bundle import load_bundle
from fieldasr.decode import greedy_decode, hypothesis_confidence
from fieldasr.eval.metrics import score_pairs
from fieldasr.transcribe.bundle_model import BundleAcousticModel, segment_emissions
from real_dutch import add_real_dutch_options, check_real_dutch_options, real_dutch_setup
from synthetic_speakers import synthetic_setup


def scored_utterances(bundle_dir: Path, corpus) -> list[tuple[float, int, int]]:
    """(confidence, phone errors, reference phones) of each utterance of `corpus`."""
    bundle = load_bundle(bundle_dir)
    emissions = segment_emissions(BundleAcousticModel(bundle), corpus, show_progress=False)
    rows = []
    for segment in corpus.segments:
        emission = emissions[segment.id]
        best = greedy_decode(emission.unsqueeze(0), bundle.vocabulary)[0]
        result = score_pairs([list(segment.phones)], [list(best.tokens)], unit="phone", normaliser="none")
        rows.append((hypothesis_confidence(emission, best.token_ids), result.errors, result.reference_length))
    return rows


def quartile_table(rows: list[tuple[float, int, int]]) -> list[list[object]]:
    ordered = sorted(rows)
    table = []
    for quartile in range(4):
        part = ordered[len(ordered) * quartile // 4: len(ordered) * (quartile + 1) // 4]
        errors, length = sum(row[1] for row in part), sum(row[2] for row in part)
        name = ["1 (lowest confidence)", "2", "3", "4 (highest confidence)"][quartile]
        table.append([name, len(part), f"{part[0][0]:.3f}-{part[-1][0]:.3f}", f"{errors / length:.3f}"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fieldasr-synthetic"), help="cache of the corpus and model")
    parser.add_argument("--threads", type=int, default=2)
    add_real_dutch_options(parser)
    add_report_option(parser, "confidence")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    if arguments.real_dutch:
        check_real_dutch_options(parser, arguments, "confidence")
        setup = real_dutch_setup(arguments.real_dutch, arguments.bundle)
        rows = scored_utterances(setup.bundle, setup.test)
        description = (f"{len(rows)} utterances of the scene-disjoint test set of real Dutch speech (Fish Fillets NG, manifests "
                       f"from benchmarks/real_speech.py); the model: the phone bundle {arguments.bundle} (see the command).")
    else:
        setup = synthetic_setup(arguments.work)
        rows = scored_utterances(setup.bundle, setup.new)
        description = (f"{len(rows)} utterances of 2 synthetic speakers (espeak-ng, Māori UDHR text) the model never heard; the "
                       f"model: a phone Conformer trained {setup.training_steps} steps on 2 other synthetic speakers.")
    total_errors, total_length = sum(row[1] for row in rows), sum(row[2] for row in rows)
    note = f"{description} Overall PER {total_errors / total_length:.3f} (word-boundary tokens count as phones where the labels have them)."
    publish(arguments.output, "Confidence against phone error rate, by quartile",
            [Table("PER by confidence quartile", ["quartile", "utterances", "confidence", "PER"], quartile_table(rows), note)])


if __name__ == "__main__":
    main()
