"""The correction loop, three rounds: transcribe new recordings -> correct them (the reference as the correction) -> adapt.

The model of benchmarks/synthetic_speakers.py (trained on two synthetic Māori speakers) meets two new synthetic
speakers. A fixed quarter of their utterances is the held-out test set; the rest is cut into three rounds. In each
round, `fieldasr transcribe`'s library path writes an .eaf per recording (fieldasr's marked tier), the tier's text is
replaced by the reference as a fieldworker would type it in ELAN (the times stay fieldasr's), and `adapt_bundle`
fine-tunes the current bundle on every correction so far plus a replay of the original training data, into a new
bundle. PER on the fixed held-out set is measured after each round with greedy decoding.

    PYTHONPATH=. python benchmarks/correction_loop.py [--work /tmp/fieldasr-synthetic] [--steps 60] [--threads 2]

Real speech instead (`benchmarks/real_dutch.py`): `--real-dutch exp/real_speech/data --bundle BUNDLE_TRAINED_ON_TRAIN_30`
(rounds of `--round-minutes` of Dutch the bundle never heard, held out: `--test-utterances` of the test set, replay:
train_30); the report then goes to docs/benchmarks/correction_loop_real_dutch.md.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import torch

from benchmark_doc import Table, add_report_option, publish
from fieldasr.audio import audio_info
from fieldasr.bundle import load_bundle
from fieldasr.data import Corpus, Segment
from fieldasr.data.eaf_text import EafText
from fieldasr.files import atomic_write_bytes
from fieldasr.train.adapt import (AdaptOptions, AdaptResult, adapt_bundle, export_fine_tuned, fine_tune, replay_examples,
                                   token_error_rate)
from fieldasr.train.pipeline import filter_ctc_feasible, prepare_ctc_examples
from fieldasr.transcribe import Transcriber, TranscribeOptions
from fieldasr.transcribe.bundle_model import BundleAcousticModel
from fieldasr.transcribe.outputs import write_transcript
from real_dutch import (add_real_dutch_options, check_real_dutch_options, fixed_subset, real_dutch_setup, rounds_by_minutes,
                        with_g2p_spec)
from synthetic_speakers import synthetic_setup

TIER = "fieldasr"


def held_out_per(bundle_dir: Path, test: Corpus) -> float:
    bundle = load_bundle(bundle_dir)
    examples, _ = filter_ctc_feasible(prepare_ctc_examples(test, bundle.vocabulary), bundle.model.frame_lengths)
    return token_error_rate(bundle.model, bundle, examples)


def correct_in_place(eaf: Path, reference: str) -> bool:
    """Type the reference over fieldasr's text, as in ELAN; False when VAD did not find exactly one segment."""
    document = EafText.read(eaf)
    tier = next(element for element in document.top("TIER") if element.attributes.get("TIER_ID") == TIER)
    values = document.within(tier, "ANNOTATION_VALUE")
    if len(values) != 1:
        return False
    document.replace_content(values[0], escape(reference))
    atomic_write_bytes(eaf, document.result())
    return True


def transcribe_and_correct(bundle_dir: Path, corpus: Corpus, folder: Path) -> tuple[list[Path], int, float]:
    """An .eaf per recording of `corpus`, corrected; also how many could not be, and the audio minutes."""
    folder.mkdir(parents=True, exist_ok=True)
    transcriber = Transcriber(BundleAcousticModel(load_bundle(bundle_dir)), TranscribeOptions())
    corrected, uncorrectable, seconds = [], 0, 0.0
    for segment in corpus.segments:
        audio = Path(corpus.recordings[segment.recording_id].path)
        seconds += audio_info(audio).duration
        eaf = write_transcript(transcriber.transcribe(audio), folder / f"{segment.id}.eaf", "eaf", TIER)
        if correct_in_place(eaf, segment.text or ""):
            corrected.append(eaf)
        else:
            uncorrectable += 1
    return corrected, uncorrectable, seconds / 60


def replay_only_round(bundle_dir: Path, result: AdaptResult, options: AdaptOptions, output: Path) -> Path:
    """The control: the same steps from the same kind of start, on as many utterances of the original training data
    (no corrections), so that a gain of the loop can be told from a gain of more training on what the model knew."""
    bundle = load_bundle(bundle_dir)
    examples = replay_examples(options, bundle, result.trained_on + result.replayed)
    fine_tune(bundle, examples, output.with_name(output.name + ".work"), options)
    return export_fine_tuned(bundle, output)


@dataclass(frozen=True)
class LoopPlan:
    bundle: Path  # the starting bundle
    replay: Path  # manifest folder of its training data
    recordings: Corpus  # where the rounds' segments come from
    rounds: list[tuple[Segment, ...]]
    test: Corpus  # the fixed held-out set, never corrected
    description: str  # the report's note: what speech, what model


def synthetic_plan(work: Path) -> LoopPlan:
    """Two new synthetic speakers: a fixed quarter of their utterances held out, the rest cut into three rounds."""
    setup = synthetic_setup(work)
    segments = sorted(setup.new.segments, key=lambda segment: segment.id)
    pool = [segment for index, segment in enumerate(segments) if index % 4]
    rounds = [tuple(pool[len(pool) * number // 3: len(pool) * (number + 1) // 3]) for number in range(3)]
    test = Corpus(setup.new.recordings, tuple(segments[::4]))
    return LoopPlan(setup.bundle, setup.known, setup.new, rounds, test,
                    f"Synthetic speech (espeak-ng, Māori UDHR text). Start: a phone Conformer trained {setup.training_steps} steps "
                    f"on 2 synthetic speakers; rounds use 2 new speakers; fixed held-out set: {len(test.segments)} utterances of "
                    "the new speakers, never corrected.")


def real_dutch_plan(data: Path, bundle: Path, work: Path, test_utterances: int, round_minutes: float) -> LoopPlan:
    """Real Dutch: rounds of train_full segments the train_30 bundle never heard; held out: a fixed subset of the test set."""
    setup = real_dutch_setup(data, bundle)
    test, passed_over = fixed_subset(setup.test, test_utterances, bundle)
    rounds = rounds_by_minutes(setup.new, round_minutes, 3)
    return LoopPlan(with_g2p_spec(setup.bundle, work / "start-bundle"), setup.known, setup.new, rounds, test,
                    "Real Dutch speech (Fish Fillets NG, manifests from benchmarks/real_speech.py). Start: the phone bundle "
                    f"{bundle} (trained on train_30: see the command); each round transcribes about "
                    f"{round_minutes:g} min of train_full segments that are not in train_30 (never heard by the model); fixed "
                    f"held-out set: {len(test.segments)} utterances of the scene-disjoint test set (a fixed digest order; "
                    f"{passed_over} passed over for a phone train_30 lacks), never corrected; replay: train_30.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fieldasr-synthetic"), help="cache of the corpus and model")
    parser.add_argument("--steps", type=int, default=60, help="adapt steps per round")
    parser.add_argument("--lr", type=float, default=1e-3, help="adapt peak learning rate")
    parser.add_argument("--replay-ratio", type=float, default=1.0, help="replayed utterances of the original training data per correction")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--control", action="store_true",
                        help="also run the replay-only control: each round the same steps on the original training data alone")
    add_real_dutch_options(parser)
    parser.add_argument("--test-utterances", type=int, default=80, help="with --real-dutch: size of the fixed held-out set")
    parser.add_argument("--round-minutes", type=float, default=5.0, help="with --real-dutch: audio transcribed per round")
    add_report_option(parser, "correction_loop")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    if arguments.real_dutch:
        check_real_dutch_options(parser, arguments, "correction_loop")
        plan = real_dutch_plan(arguments.real_dutch, arguments.bundle, arguments.work, arguments.test_utterances,
                               arguments.round_minutes)
    else:
        plan = synthetic_plan(arguments.work)
    loop = arguments.work / f"loop-{time.strftime('%Y%m%d-%H%M%S')}"
    options = AdaptOptions(steps=arguments.steps, lr=arguments.lr, replay=plan.replay, replay_ratio=arguments.replay_ratio,
                           progress_bar=False)
    bundle, control, corrections = plan.bundle, plan.bundle, []
    start_per = f"{held_out_per(bundle, plan.test):.3f}"
    rows = [[0, "-", "-", "-", start_per] + ([start_per] if arguments.control else []) + ["-"]]
    print(rows[0], flush=True)
    for number, segments_of_round in enumerate(plan.rounds, start=1):
        started = time.perf_counter()
        corrected, uncorrectable, minutes = transcribe_and_correct(bundle, Corpus(plan.recordings.recordings, segments_of_round),
                                                                   loop / f"round{number}")
        corrections += corrected
        result = adapt_bundle(bundle, corrections, TIER, loop / f"bundle{number}", options)
        bundle = result.bundle
        row = [number, f"{minutes:.1f}", f"{len(corrected)} (+{uncorrectable} not one VAD segment)",
               f"{result.trained_on} / {result.held_out} / {result.replayed}", f"{held_out_per(bundle, plan.test):.3f}"]
        if arguments.control:
            control = replay_only_round(control, result, options, loop / f"control{number}")
            row.append(f"{held_out_per(control, plan.test):.3f}")
        rows.append(row + [f"{time.perf_counter() - started:.0f}"])
        print(result.report(), rows[-1], flush=True)
    note = (f"{plan.description} Each round: {arguments.steps} adapt steps (peak learning rate {arguments.lr:g}, warm-up over the "
            "first tenth, linear decay to zero) from the previous round's bundle on all corrections so far (adapt holds 20% of "
            f"them out for its own before/after), replaying {arguments.replay_ratio:g} times as many utterances of the original training "
            "data as corrections (at most all of it)."
            + (" Control: from the previous control bundle, the same steps on as many utterances of the original training "
               "data alone (no corrections)." if arguments.control else ""))
    columns = ["round", "audio transcribed (min)", "recordings corrected", "adapt: trained / held out / replayed", "held-out PER"]
    columns += ["held-out PER, replay-only control"] if arguments.control else []
    publish(arguments.output, "The correction loop: PER on a fixed held-out set after each round",
            [Table("Rounds", columns + ["seconds"], rows, note)])


if __name__ == "__main__":
    main()
