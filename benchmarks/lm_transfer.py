"""How much each embedding initialiser saves when a small LM is moved from Spanish to Portuguese; and ASR rescoring.

Real text available offline: Debian's fortune cookies (`fortunes-es` as the high-resource source, `fortunes-br`,
Brazilian Portuguese, as the target; install them with FIELDASR_LM_TEXT=1
tools/install_system_packages.sh). The Portuguese fortunes are split by fortune (not by line) into train / dev /
test; the target tokenizer, FOCUS/WECHSEL/OFA's fastText vectors, the identical-spelling seed dictionary and
CLP's helper model see the training split only. A tiny GPT-2 is pretrained on the Spanish text; each initialiser
gives it the Portuguese vocabulary; continued pretraining runs through `continue_lm_pretraining` (the common
Trainer, resumed between the evaluation points). Test bits per character (comparable across tokenizers) are
reported at each step count, mean ± std over seeds, against the same-size model trained from scratch.
A byte-level GPT-2 of the same size (`fieldasr.transfer.byte_level`, no tokenizer) is trained from scratch alongside.
Besides the full test set at `--steps`, every model is evaluated on a fixed sample of `--curve-lines` test lines at
`--curve-steps`; from that curve, the steps-to-match table gives the first evaluated step at which each initialiser
reaches the scratch model's final quality (scratch's mean curve bpc at its last step), without interpolation.
Then the best transferred LM, the scratch LM and the byte-level LM rescore n-best lists of a tiny character CTC model trained on
espeak-ng Portuguese speech (weight tuned on dev, WER on test). Each run's measured curve is kept as JSON in
`--results-dir` (docs/benchmarks/lm_transfer_results/ in the repository); `--report-only` re-renders
docs/benchmarks/lm_transfer.md from it without training (the analysis beside it, lm_transfer.analysis.md, is hand-written).

    PYTHONPATH=. python benchmarks/lm_transfer.py            # the full run (about 37 CPU minutes at 1 thread)
    PYTHONPATH=. python benchmarks/lm_transfer.py --report-only
    PYTHONPATH=. python benchmarks/lm_transfer.py --seeds 1 --steps 0 20 --curve-steps 10 20 --clp-helper-steps 20 \
        --source-steps 50 --ctc-steps 50 --results-dir /tmp/lm-smoke --output -
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import re
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from transformers import GPT2Config

sys.path.insert(0, str(Path(__file__).parent))
from lm_transfer_asr import asr_rescoring, build_speech  # noqa: E402

from benchmarks.benchmark_doc import Table, add_report_option, publish  # noqa: E402
from benchmarks.lm_rescoring_real_dutch import load_rescoring_tables  # noqa: E402
from benchmarks.lm_transfer_curves import RunCurve, load_curves, steps_to_match, write_curve  # noqa: E402

from fieldasr.files import atomic_write_text  # noqa: E402
from fieldasr.transfer.apply import transfer_model_embeddings  # noqa: E402
from fieldasr.transfer.byte_level import ByteLevelShape, byte_level_model, byte_tokenizer  # noqa: E402
from fieldasr.transfer.lm_task import LanguageModelTask, TextLineDataset, causal_start_id, load_language_model  # noqa: E402
from fieldasr.transfer.lm_task import LanguageModelCollator  # noqa: E402
from fieldasr.transfer.pretrain import continue_lm_pretraining  # noqa: E402
from fieldasr.transfer.registry import INITIALISERS, build_resources, make_initialiser  # noqa: E402
from fieldasr.transfer.tokenizer import train_target_tokenizer  # noqa: E402

FORTUNES = Path("/usr/share/games/fortunes")  # where Debian's fortunes-* packages put their files
EVAL_MAX_TOKENS = 128
BYTE_MAX_TOKENS = 512  # bytes: about 1-2 per letter, so a line needs about four times the subword positions
BYTE_LEVEL = "byte-level"
ORIGINS = ("copied", "translated", "combined", "random", "mean")  # InitialisedEmbeddings.origin values
WORD = re.compile(r"[^\W\d_]+")
RUN_FILE = "run.json"  # the run's setup, ASR result and command, beside the per-run curves


def read_fortunes(paths: list[Path]) -> list[list[str]]:
    """Each fortune as its non-blank lines (fortune files separate cookies with a line '%')."""
    fortunes, current = [], []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines() + ["%"]:
            if line.strip() == "%":
                if current:
                    fortunes.append(current)
                current = []
            elif line.strip():
                current.append(" ".join(line.split()))
    return fortunes


def split_fortunes(fortunes: list[list[str]], fractions=(0.5, 0.1, 0.4), seed: int = 0) -> dict[str, list[str]]:
    order = np.random.default_rng(seed).permutation(len(fortunes))
    cut1, cut2 = int(fractions[0] * len(order)), int((fractions[0] + fractions[1]) * len(order))
    parts = {"train": order[:cut1], "dev": order[cut1:cut2], "test": order[cut2:]}
    return {name: [line for index in indices for line in fortunes[index]] for name, indices in parts.items()}


def identical_spelling_dictionary(source_lines: list[str], target_lines: list[str], size: int = 2000) -> list[tuple[str, str]]:
    """Seed pairs for WECHSEL/OFA without a bilingual dictionary: words spelled alike in both texts (Artetxe et al.)."""
    source = Counter(word for line in source_lines for word in WORD.findall(line.lower()))
    target = Counter(word for line in target_lines for word in WORD.findall(line.lower()))
    shared = sorted((word for word in target if word in source and len(word) > 1), key=lambda w: (-target[w], w))
    return [(word, word) for word in shared[:size]]


def gpt2_config(tokenizer, width: int, layers: int) -> GPT2Config:
    return GPT2Config(vocab_size=len(tokenizer), n_embd=width, n_layer=layers, n_head=4, n_positions=EVAL_MAX_TOKENS,
                      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                      pad_token_id=tokenizer.pad_token_id)


@torch.no_grad()
def bits_per_character(model, tokenizer, lines: list[str], max_tokens: int = EVAL_MAX_TOKENS) -> float:
    """-log2 P(line | start) summed over lines, divided by their characters: comparable across tokenizers."""
    dataset = TextLineDataset(lines, tokenizer, max_tokens, causal_start_id(tokenizer))
    collate = LanguageModelCollator(tokenizer, "causal")
    task = LanguageModelTask(model, "causal").eval()
    nats = 0.0
    for start in range(0, len(dataset), 64):
        output = task(collate([dataset[i] for i in range(start, min(start + 64, len(dataset)))]))
        nats += float(output.loss) * output.weight
    return nats / math.log(2) / sum(len(line) for line in lines)


def truncated_lines(tokenizer, lines: list[str]) -> int:
    return sum(len(ids) + 1 > EVAL_MAX_TOKENS for ids in tokenizer(lines)["input_ids"])


class Experiment:
    def __init__(self, arguments: argparse.Namespace, work: Path) -> None:
        self.arguments, self.work = arguments, work
        source_files = sorted((arguments.fortunes / "es").glob("*.fortunes"))
        self.source_lines = [line for fortune in read_fortunes(source_files) for line in fortune]
        self.splits = split_fortunes(read_fortunes([arguments.fortunes / "brasil"]))
        self.train_lines, self.test_lines = self.splits["train"], self.splits["test"]
        sample = np.random.default_rng(0).choice(len(self.test_lines), min(arguments.curve_lines, len(self.test_lines)), replace=False)
        self.curve_lines = [self.test_lines[index] for index in sorted(sample)]  # the same lines for every run and step
        self.source_tokenizer = train_target_tokenizer(self.source_lines, arguments.source_vocab)
        self.target_tokenizer = train_target_tokenizer(self.train_lines, arguments.target_vocab)
        self.dictionary = identical_spelling_dictionary(self.source_lines, self.train_lines)
        self.common = dict(batch_size=arguments.batch_size, max_length=64, progress_bar=False)
        self.points = sorted(set(arguments.steps) | set(arguments.curve_steps) | {0})  # where training stops to evaluate

    def pretrain_source(self) -> tuple[Path, float]:
        start = time.process_time()
        torch.manual_seed(0)
        folder = self.work / "source"
        config = gpt2_config(self.source_tokenizer, self.arguments.width, self.arguments.layers)
        continue_lm_pretraining(config, self.source_tokenizer, self.source_lines, folder, max_steps=self.arguments.source_steps,
                                lr=2e-3, warmup_steps=100, seed=0, **self.common)
        return folder, time.process_time() - start

    def resources(self, seed: int, helper_embeddings: np.ndarray) -> dict[str, dict]:
        """Per method, what it needs: built once per seed (WECHSEL and OFA share the aligned fastText spaces)."""
        shared = build_resources("wechsel", self.target_tokenizer, self.source_lines, self.train_lines, self.dictionary,
                                 min_count=3, dim=50, seed=seed)
        focus = build_resources("focus", self.target_tokenizer, target_lines=self.train_lines, min_count=3, dim=50, seed=seed)
        cw2v = build_resources("cw2v", self.target_tokenizer, target_lines=self.train_lines, seed=seed)
        return {"wechsel": shared, "ofa": shared, "focus": focus, "clp": {"helper_embeddings": helper_embeddings},
                "cw2v": cw2v}

    def train_and_evaluate(self, model, tokenizer, folder: Path, seed: int, max_tokens: int, max_length: int):
        """Curve bpc at every point, full-test bpc at `--steps`; the same experiment folder is resumed to each point.

        Returns (bpc, curve, CLP helper embeddings or None): the helper is the input embeddings at --clp-helper-steps.
        """
        bpc, curve, helper = {}, {}, None
        for steps in self.points:
            if steps > 0:
                continue_lm_pretraining(model, tokenizer, self.train_lines, folder, max_steps=steps, lr=self.arguments.lr,
                                        warmup_steps=50, seed=seed, **{**self.common, "max_length": max_length})
            curve[steps] = bits_per_character(model, tokenizer, self.curve_lines, max_tokens)
            if steps in self.arguments.steps:
                bpc[steps] = bits_per_character(model, tokenizer, self.test_lines, max_tokens)
            if steps == self.arguments.clp_helper_steps:
                helper = model.get_input_embeddings().weight.detach().numpy().copy()
        return bpc, curve, helper

    def run_byte_level(self, seed: int) -> tuple[RunCurve, Path]:
        """The byte-level model of the same width and depth, from scratch, evaluated at the same step counts."""
        start = time.process_time()
        folder = self.work / "runs" / f"{BYTE_LEVEL}-seed{seed}"
        model = byte_level_model(ByteLevelShape(self.arguments.layers, self.arguments.width, 4, BYTE_MAX_TOKENS), seed)
        bpc, curve, _ = self.train_and_evaluate(model, byte_tokenizer(), folder, seed, BYTE_MAX_TOKENS, 4 * self.common["max_length"])
        return RunCurve(BYTE_LEVEL, seed, bpc, curve, {}, time.process_time() - start), folder

    def run(self, method: str, seed: int, source_dir: Path | None, resources: dict) -> tuple[RunCurve, Path, np.ndarray | None]:
        """The model of `method` (scratch when `source_dir` is None) trained and evaluated at every point."""
        start = time.process_time()
        folder = self.work / "runs" / f"{method}-seed{seed}"
        counts = {}
        if source_dir is None:
            torch.manual_seed(seed)
            model = load_language_model(gpt2_config(self.target_tokenizer, self.arguments.width, self.arguments.layers), "causal")
        else:
            model = load_language_model(source_dir, "causal")
            result = transfer_model_embeddings(model, self.source_tokenizer, self.target_tokenizer,
                                               make_initialiser(method, seed=seed, **resources.get(method, {})))
            counts = {origin: result.count(origin) for origin in ORIGINS}
        bpc, curve, helper = self.train_and_evaluate(model, self.target_tokenizer, folder, seed, EVAL_MAX_TOKENS,
                                                     self.common["max_length"])
        return RunCurve(method, seed, bpc, curve, counts, time.process_time() - start), folder, helper


def _kept(results_dir: Path, run: RunCurve) -> None:
    write_curve(results_dir, run)
    print(f"seed {run.seed} {run.method:<20} bpc " + " ".join(f"{s}:{v:.3f}" for s, v in run.bpc.items())
          + f" ({run.cpu_seconds:.0f} CPU s)", flush=True)


def run_language_models(experiment: Experiment, arguments: argparse.Namespace) -> tuple[dict[str, Path], dict]:
    """Every run's curve written to --results-dir as it ends; returns seed 0's model folders (for the ASR part)."""
    source_dir, source_seconds = experiment.pretrain_source()
    facts = {"source_cpu_seconds": source_seconds,
             "source_bpc_on_target_test_with_source_tokenizer": bits_per_character(
                 load_language_model(source_dir, "causal"), experiment.source_tokenizer, experiment.test_lines)}
    print(f"source model: {source_seconds:.0f} CPU s", flush=True)
    folders: dict[str, Path] = {}
    for seed in range(arguments.seeds):
        scratch, folder, helper = experiment.run("scratch", seed, None, {})
        _kept(arguments.results_dir, scratch)
        byte_level, byte_folder = experiment.run_byte_level(seed)
        _kept(arguments.results_dir, byte_level)
        if seed == 0:
            folders.update({"scratch": folder, BYTE_LEVEL: byte_folder})
        resources = experiment.resources(seed, helper)
        for method in INITIALISERS:
            outcome, folder, _ = experiment.run(method, seed, source_dir, resources)
            _kept(arguments.results_dir, outcome)
            if seed == 0:
                folders[method] = folder
    return folders, facts


def group_runs(runs: list[RunCurve]) -> dict[str, list[RunCurve]]:
    """Method -> its runs in seed order; scratch first, byte-level second, then the initialisers in registry order."""
    order = ["scratch", BYTE_LEVEL, *INITIALISERS]
    grouped: dict[str, list[RunCurve]] = {}
    for run in sorted(runs, key=lambda r: (order.index(r.method) if r.method in order else len(order), r.method, r.seed)):
        grouped.setdefault(run.method, []).append(run)
    return grouped


def best_transferred(runs: dict[str, list[RunCurve]], final_step: int) -> str:
    return min((m for m in runs if m not in ("scratch", BYTE_LEVEL)), key=lambda m: np.mean([r.bpc[final_step] for r in runs[m]]))


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def lm_table(runs: dict[str, list[RunCurve]], steps: list[int], vocabulary: int) -> Table:
    columns = ("method", "copied", "translated", "combined", "random fallback", "mean fallback", *(f"bpc @{s}" for s in steps),
               "CPU s / run")
    rows = []
    for method, outcomes in runs.items():
        counts = outcomes[0].counts
        shares = [f"{counts[key] / vocabulary:.1%}" if counts else "–" for key in ORIGINS]
        bpcs = [_mean_std([outcome.bpc[step] for outcome in outcomes]) for step in steps]
        rows.append((method, *shares, *bpcs, f"{np.mean([outcome.cpu_seconds for outcome in outcomes]):.0f}"))
    seeds = max(len(outcomes) for outcomes in runs.values())
    return Table(f"Test bits per character (mean ± std over {seeds} seeds; lower is better)", columns, rows,
                 "translated = the row of the token's seed-dictionary translation (WECHSEL/OFA); random/mean fallback = target "
                 "tokens the method could not initialise from source information; `random` copies the overlapping tokens and "
                 "samples the rest from the source embeddings' distribution.")


def steps_to_match_table(runs: dict[str, list[RunCurve]], curve_lines: int) -> Table:
    """When each model first reaches scratch's final quality, read from the curves on the fixed test sample."""
    last = max(runs["scratch"][0].curve)
    target = float(np.mean([run.curve[last] for run in runs["scratch"]]))
    seeds = max(len(outcomes) for outcomes in runs.values())
    rows = []
    for method, outcomes in runs.items():
        match = steps_to_match([run.curve for run in outcomes], target, last)
        cells = [str(step) if step is not None else f"not reached by {last}" for step in match.per_seed]
        cells += ["–"] * (seeds - len(cells))
        rows.append((method, *cells, f"{match.mean:.0f}" if match.mean is not None else "–",
                     f"{match.fraction:.2f}" if match.fraction is not None else "–",
                     "–" if match.fraction is None else ("yes" if match.fraction <= 0.2 else "no"),
                     f"{np.mean([run.curve[last] for run in outcomes]):.3f}"))
    grid = sorted(runs["scratch"][0].curve)
    return Table("Steps to reach the scratch model's final quality", ("method", *(f"seed {seed}" for seed in range(seeds)),
                 "mean steps", "fraction of scratch's steps", "≤ 1/5?", f"curve bpc @{last}"), rows,
                 f"Target: {target:.3f} bpc, the scratch model's mean bpc after its {last} steps on a fixed sample of "
                 f"{curve_lines} test lines (the curve), on which every model was evaluated at steps {', '.join(map(str, grid))}. "
                 "A cell is the first evaluated step at or below the target (no interpolation: the crossing lies after the "
                 "previous evaluation point); the mean is given only when every seed reached it. Scratch's own row shows "
                 "where each seed crosses its mean.")


def asr_table(asr: dict, best: str, last_step: int) -> Table:
    rows = [("first pass (CTC beam, no LM)", f"{asr['test_first_pass_wer']:.3f}", "–", f"{asr['dev_first_pass_wer']:.3f}")]
    rows += [(f"rescored with {name}", f"{row['test_wer']:.3f}", row["weight"], f"{row['dev_wer']:.3f}") for name, row in asr["lms"].items()]
    rows.append(("oracle (best of each n-best list)", f"{asr['test_oracle_wer']:.3f}", "–", "–"))
    note = (f"A character CTC Conformer (fieldasr's tiny config) trained {asr['ctc_steps']} steps on {asr['train_utterances']} espeak-ng "
            f"Portuguese utterances of training-split sentences (letters only, 3–8 words; {asr['audio_seconds'] / 60:.0f} min of audio in "
            f"all splits), lexicon-free CTC beam search (n-best {asr['nbest']}, mean list length {asr['mean_nbest']:.1f}); first-pass "
            f"score = CTC log-likelihood of the hypothesis. The LM weight is tuned on {asr['dev_utterances']} dev utterances, WER on "
            f"{asr['test_utterances']} test utterances (test first-pass CER {asr['test_first_pass_cer']:.3f}). LMs: `{best}` (lowest "
            f"mean bpc at {last_step} steps), scratch and byte-level, seed 0, after {last_step} steps.")
    return Table("ASR n-best rescoring", ("test set", "WER", "rescoring weight (tuned on dev)", "dev WER"), rows, note)


def setup_rows(arguments: argparse.Namespace, experiment: Experiment, facts: dict, cpu_seconds: float) -> list[tuple[str, str]]:
    splits = experiment.splits
    test_tokens = sum(len(ids) for ids in experiment.target_tokenizer(experiment.test_lines)["input_ids"])
    return [
        ("source text", f"Debian `fortunes-es`, {len(experiment.source_lines)} lines, {sum(map(len, experiment.source_lines))} "
                        f"characters; source byte-BPE tokenizer {len(experiment.source_tokenizer)} tokens"),
        ("target text", f"Debian `fortunes-br`, split by fortune: train {len(splits['train'])} lines ({sum(map(len, splits['train']))} "
                        f"characters), dev {len(splits['dev'])}, test {len(splits['test'])} lines ({sum(map(len, splits['test']))} characters, "
                        f"{test_tokens} target tokens, {truncated_lines(experiment.target_tokenizer, experiment.test_lines)} lines longer "
                        f"than {EVAL_MAX_TOKENS} tokens); the curve's fixed sample: {len(experiment.curve_lines)} test lines "
                        f"({sum(map(len, experiment.curve_lines))} characters)"),
        ("target tokenizer and vectors", f"byte-BPE, {len(experiment.target_tokenizer)} tokens, trained on the training split only; "
                                         "fastText vectors (dim 50, min_count 3) for FOCUS/WECHSEL/OFA on the training split (and the "
                                         f"source text) only; WECHSEL/OFA seed dictionary: {len(experiment.dictionary)} words spelled "
                                         "identically in the Spanish text and the Portuguese training split; CLP's helper model: the "
                                         f"from-scratch model of the same seed after {arguments.clp_helper_steps} steps"),
        ("model", f"GPT-2, {arguments.layers} layers, width {arguments.width}, 4 heads, 128 positions; source pretraining "
                  f"{arguments.source_steps} steps on the Spanish text (batch {arguments.batch_size}, lr 2e-3, "
                  f"{facts['source_cpu_seconds']:.0f} CPU s); its bpc on the Portuguese test text with its own Spanish tokenizer: "
                  f"{facts['source_bpc_on_target_test_with_source_tokenizer']:.3f}"),
        ("why this size", SIZE_REASON),
        ("continued pretraining", f"`continue_lm_pretraining` (common Trainer, AdamW lr {arguments.lr}, constant after warm-up 50, "
                                  f"batch {arguments.batch_size} lines of at most 64 tokens), resumed from its checkpoint to each "
                                  f"evaluation point; seeds 0–{arguments.seeds - 1} vary the initialiser, fastText vectors, data "
                                  "order and the scratch model's initialisation (the source model is the same)"),
        ("byte-level", f"GPT-2 of the same layers and width over the 256 bytes (ByT5's byte tokenizer), {BYTE_MAX_TOKENS} "
                       f"positions, trained from scratch like the others on lines of at most {4 * experiment.common['max_length']} bytes"),
        ("bpc", "−log₂ P(line | <s>) summed over test lines / characters (newlines not predicted)"),
        ("CPU time", f"{cpu_seconds / 60:.1f} min for the whole run, torch with 1 thread"),
    ]


# Why the default size (the report's setup table says it too)
SIZE_REASON = ("measured here at batch 8 (CPU time, 1 thread): a step took 26 ms at 3 layers × width 96, 38 ms at 4 × 128 and "
               "140 ms at 6 × 256, one full-test evaluation 3 / 6 / 20 s, the byte-level model about 3× a step and 4× an evaluation; "
               "33 runs of 1000 steps with their evaluations, source pretraining and the ASR part had to fit about 45 CPU minutes, "
               "which 4 × 128 (about 55 min estimated) did not and 3 × 96 does")


def report_tables(results_dir: Path) -> tuple[list[Table], str]:
    """Every table of the report, from the JSON in `results_dir` alone; and the command of the run that made them."""
    run_file = results_dir / RUN_FILE
    if not run_file.is_file():
        print(f"{run_file} not found: run the benchmark without --report-only first (it writes the results there)", file=sys.stderr)
        raise SystemExit(2)
    run = json.loads(run_file.read_text(encoding="utf-8"))
    runs = group_runs(load_curves(path for path in sorted(results_dir.glob("*-seed*.json"))))
    steps = run["steps"]
    tables = [Table("Setup", ("what", "how"), [("measured (UTC)", run["generated"]), *(tuple(row) for row in run["setup"])]),
              lm_table(runs, steps, run["target_vocabulary"]),
              steps_to_match_table(runs, run["curve_lines"]),
              asr_table(run["asr"], run["best"], steps[-1])]
    tables += load_rescoring_tables(results_dir)  # benchmarks/lm_rescoring_real_dutch.py's run, when it has been made
    return tables, run["command"]


def measure(arguments: argparse.Namespace) -> None:
    """The whole run: every curve, then the ASR part; results (not the models) kept in --results-dir."""
    results_dir = arguments.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*results_dir.glob("*-seed*.json"), results_dir / RUN_FILE]:  # a previous run's curves must not mix in
        stale.unlink(missing_ok=True)
    start = time.process_time()
    with tempfile.TemporaryDirectory(prefix="lm-transfer-") as work:
        experiment = Experiment(arguments, Path(work))
        folders, facts = run_language_models(experiment, arguments)
        runs = group_runs(load_curves(sorted(results_dir.glob("*-seed*.json"))))
        best = best_transferred(runs, arguments.steps[-1])
        models = {f"{name} LM": (load_language_model(folders[name], "causal"), experiment.target_tokenizer) for name in (best, "scratch")}
        models[f"{BYTE_LEVEL} LM"] = (load_language_model(folders[BYTE_LEVEL], "causal"), byte_tokenizer())
        speech = build_speech(experiment.splits, "por", {"train": 500, "dev": 60, "test": 100}, seed=0)
        asr = asr_rescoring(speech, models, arguments.ctc_steps, arguments.nbest, seed=0)
    cpu_seconds = time.process_time() - start
    run = {"command": "PYTHONPATH=. python " + shlex.join(sys.argv), "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "steps": arguments.steps, "curve_lines": len(experiment.curve_lines), "target_vocabulary": len(experiment.target_tokenizer),
           "best": best, "asr": asr, "facts": facts, "cpu_seconds": cpu_seconds,
           "setup": setup_rows(arguments, experiment, facts, cpu_seconds)}
    atomic_write_text(results_dir / RUN_FILE, json.dumps(run, indent=1, ensure_ascii=False))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fortunes", type=Path, default=FORTUNES, help="folder of the fortune files")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 200, 1000], help="full-test evaluation points (the table)")
    parser.add_argument("--curve-steps", type=int, nargs="+", default=[*range(25, 201, 25), *range(300, 1001, 100)],
                        help="evaluation points on the fixed test sample (steps-to-match)")
    parser.add_argument("--curve-lines", type=int, default=500, help="test lines in the curve's fixed sample")
    parser.add_argument("--source-steps", type=int, default=4000)
    parser.add_argument("--source-vocab", type=int, default=4000)
    parser.add_argument("--target-vocab", type=int, default=2000)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clp-helper-steps", type=int, default=100)
    parser.add_argument("--ctc-steps", type=int, default=1500)
    parser.add_argument("--nbest", type=int, default=10)
    parser.add_argument("--results-dir", type=Path, default=Path("docs/benchmarks/lm_transfer_results"),
                        help="each run's curve as JSON, and the run's setup and ASR result (kept in the repository)")
    parser.add_argument("--report-only", action="store_true", help="re-render the report from --results-dir, train nothing")
    add_report_option(parser, "lm_transfer")
    arguments = parser.parse_args()
    points = set(arguments.steps) | set(arguments.curve_steps)
    if arguments.clp_helper_steps not in points:
        parser.error(f"--clp-helper-steps {arguments.clp_helper_steps} must be one of --steps or --curve-steps")
    if max(arguments.curve_steps) > max(arguments.steps) or sorted(arguments.steps) != arguments.steps:
        parser.error("--steps must be increasing and end at or after the last --curve-steps (the table's last column)")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    torch.set_num_threads(1)
    logging.disable(logging.INFO)  # the Trainer's per-checkpoint messages
    if not arguments.report_only:
        if not (arguments.fortunes / "brasil").is_file():
            raise SystemExit(f"{arguments.fortunes}/brasil not found: apt-get install fortunes-es fortunes-br")
        measure(arguments)
    tables, command = report_tables(arguments.results_dir)
    publish(arguments.output, "LM transfer: Spanish → Portuguese (Brazilian) with every embedding initialiser", tables, command=command)


if __name__ == "__main__":
    main()
