"""Does continued self-supervised pretraining on the target's untranscribed audio help? Four conditions on real Dutch
and on a synthetic target.

The wav2vec 2.0 objective on the filterbank Conformer (Whistle's SSL baseline; `fieldasr.ssl.conformer_pretraining`),
the encoder of `recipes/ctc/hparams/small_real_data.yaml`, then that recipe's phone CTC on real Dutch labels:

(a) no SSL: the recipe from scratch;
(b) multilingual SSL: a Conformer pretrained from scratch on synthetic speech of six seen languages (espeak-ng
    voices speaking UDHR text; Dutch is not among them), `model.init_from` its checkpoint;
(c) (b) + continued SSL on the target's untranscribed audio: for real Dutch the training audio of the real-speech
    benchmark without its transcripts (never the test audio), a new run with its own warm-up;
(d) (b) + as many extra SSL steps on the seen-language audio only: the compute-matched control for "more SSL"
    against "target audio".

Each CTC run is `benchmarks/real_speech.py`'s scratch condition (same data, recipe, scoring) with `model.init_from`
and, with --fine-tuning other than `recipe`, one change in how the encoder is fine-tuned (FINE_TUNING; applied to (a)
too, it is the control that tells the change itself from the pretraining);
(a) reuses that benchmark's cached scratch result of the same size and seed when there is one.

--target synthetic asks the same question where the target's audio is made like the seen languages' (synthetic_target_data:
espeak-ng voices speaking the Dutch UDHR, 10 min of labels, the test passages never trained on): (b)-(d) start from the same
SSL checkpoints, (c) continues on the synthetic target's own untranscribed audio. Results are cached
per run in docs/benchmarks/continued_pretraining_results/ (a killed run resumes), SSL stages in --work-dir.
Nothing is tuned on the test set: all settings are fixed in this file.

    PYTHONPATH=. python benchmarks/continued_pretraining.py [--conditions a,b,c,d] [--seeds 1,2,3] [--sizes 10]
        [--target dutch|synthetic] [--fine-tuning recipe] [--ssl-only] [--report-only] [--threads 1]
"""
from __future__ import annotations

import argparse
import csv
import json
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from scipy import stats

from benchmarks import real_speech
from benchmarks.benchmark_doc import Table, add_report_option, write_benchmark_doc
from benchmarks.crosslingual_protocol import label_words, minutes, subset, take_minutes
from fieldasr.data import Corpus
from fieldasr.files import atomic_write_text
from fieldasr.ssl.pretrain import continue_pretraining
from fieldasr.ssl.conformer_pretraining import small_conformer_options
from fieldasr_examples.corpora import build_synthetic_corpus
from fieldasr_examples.corpora.text_sources import udhr_utterances

SEEN_LANGUAGES = ("eng", "deu", "spa", "ita", "ind", "fin")  # synthetic; Dutch is the unseen target
SEEN_UTTERANCES_PER_LANGUAGE = 90
SEEN_SPEAKERS_PER_LANGUAGE = 4
CONDITIONS = {"a": "no SSL (the recipe from scratch)", "b": "multilingual SSL (seen languages)",
              "c": "(b) + continued SSL on the target's untranscribed audio", "d": "(b) + as many SSL steps on seen-language audio"}


@dataclass(frozen=True)
class SSLStage:
    name: str
    steps: int
    lr: float  # peak, reached by a linear warm-up, then linear decay to 0
    warmup_steps: int


MULTILINGUAL = SSLStage("multilingual", steps=1500, lr=1e-3, warmup_steps=50)
CONTINUED_TARGET = SSLStage("continued_target", steps=1000, lr=5e-4, warmup_steps=100)
CONTINUED_SEEN = SSLStage("continued_seen", steps=1000, lr=5e-4, warmup_steps=100)
CONTINUED_SYNTHETIC_TARGET = SSLStage("continued_synthetic_target", steps=1000, lr=5e-4, warmup_steps=100)
TARGETS = {"dutch": "real Dutch (Fish Fillets NG; real_speech.py's data)",
           "synthetic": "synthetic Dutch (espeak-ng voices speaking the Dutch UDHR; synthetic_target_data)"}
SYNTHETIC_TARGET_VOICES = 4  # every passage is spoken by each voice once
SYNTHETIC_TEST_PASSAGES = 20  # the first of a seeded order, by every voice: about 9 min of test audio
SYNTHETIC_LABEL_MINUTES = 10.0
SSL_BATCH_SECONDS = 20.0
# How the encoder is fine-tuned. `recipe`: unchanged, every weight at the recipe's learning rate from step 0.
# frozen_start and slow_encoder are the usual ways to keep a new output layer's first, random gradients from undoing
# what pretraining learned (wav2vec 2.0's frozen start; a lower rate for the encoder). linear_probe never trains the
# encoder: its PER says how much phone information the encoder's features hold as they are.
FINE_TUNING = {
    "recipe": (),
    "frozen_start": ("model.freeze_encoder_steps=500",),  # half the 1,000 warm-up steps the variants were measured with
    "slow_encoder": ("trainer.encoder_lr=1e-4",),  # a fifth of the recipe's 5e-4 for all but the output layer
    "linear_probe": ("model.freeze_encoder_steps=1000000",),
}

SETTINGS = (  # fixed here, not tuned on the test set
    ("encoder", "recipes/ctc small_real_data's Conformer (size small: 80 mel bins, 144 wide, 4 blocks, 2.2 M weights)"),
    ("SSL objective", "span masks of 3 frames (120 ms) with p = 0.5, 50 distractors from the same utterance, diversity weight 0.3 "
                      "over 2 x 320 codevectors, Gumbel temperature 2 -> 0.5 over each stage, batches of at most 20 s"),
    ("SSL stages", f"(b) {MULTILINGUAL.steps} steps from scratch, {MULTILINGUAL.warmup_steps} warm-up steps to lr "
                   f"{MULTILINGUAL.lr:g}; (c) and (d) continue (b) for {CONTINUED_TARGET.steps} steps each, warm-up again "
                   f"({CONTINUED_TARGET.warmup_steps} steps) to lr {CONTINUED_TARGET.lr:g}; then linear decay to 0"),
    ("CTC", "recipes/ctc/hparams/small_real_data.yaml unchanged (speed perturbation, a warm-up to 5e-4, early stopping "
            "on dev PER, best-5 checkpoint averaging; each run's table row says where the recipe then differed from today's); "
            "(b)-(d) differ from (a) only by model.init_from. A fine-tuning variant "
            "adds one setting to every condition run with it: " + "; ".join(f"{name}: {' '.join(settings) or 'none'}" for name, settings in FINE_TUNING.items())),
    ("synthetic target (--target synthetic)", f"every Dutch UDHR passage spoken by {SYNTHETIC_TARGET_VOICES} espeak-ng voices (made as "
                                              f"the seen languages' audio); test: the first {SYNTHETIC_TEST_PASSAGES} passages of a seeded "
                                              f"order by every voice; labels: {SYNTHETIC_LABEL_MINUTES:.0f} min of the other passages; (c) "
                                              "continues on every utterance but the test set's, transcripts unread"),
    ("scoring", "as benchmarks/real_speech.py: greedy PER on the scene-disjoint test set (real Dutch) or the held-out passages "
                "(synthetic target), word boundaries not counted"),
)


def seen_audio(work: Path) -> tuple[Corpus, int]:
    """The seen languages' synthetic utterances that fit an SSL batch, and how many were left out (the report says)."""
    folder = work / "seen"
    if not (folder / "segments.jsonl.gz").is_file():
        build_synthetic_corpus(SEEN_LANGUAGES, folder, utterances_per_language=SEEN_UTTERANCES_PER_LANGUAGE,
                               speakers_per_language=SEEN_SPEAKERS_PER_LANGUAGE, seed=0)
    corpus = Corpus.load(folder)
    fitting = [s for s in corpus.segments if s.duration <= SSL_BATCH_SECONDS]
    return subset(corpus, fitting), len(corpus.segments) - len(fitting)


def synthetic_target_data(work: Path) -> dict[str, Corpus]:
    """The synthetic target in real_speech.prepare_data's layout under work/data (built once, then loaded): "test",
    "train_10" (the labels) and "unlabelled" (the audio (c) continues on). Passages of the test set are never in the others.
    real_speech's larger-text WER means nothing here (that text holds the UDHR); the report shows the training-text WER only."""
    data = work / "data"
    names = ("test", "train_10", "unlabelled")
    if all((data / name / "segments.jsonl.gz").is_file() for name in names) and (data / "lexicon.json").is_file():
        return {name: Corpus.load(data / name) for name in names}
    passages = len(udhr_utterances("nld"))
    build_synthetic_corpus(["nld"], work / "audio", utterances_per_language=passages * SYNTHETIC_TARGET_VOICES,
                           speakers_per_language=SYNTHETIC_TARGET_VOICES, seed=1)
    labelled = label_words(Corpus.load(work / "audio"), "nld")
    corpora = split_synthetic_target(labelled.corpus, passages)
    for name, corpus in corpora.items():
        corpus.save(data / name)
    atomic_write_text(data / "lexicon.json", json.dumps(labelled.lexicon, ensure_ascii=False))
    return corpora


def split_synthetic_target(corpus: Corpus, passages: int) -> dict[str, Corpus]:
    """build_synthetic_corpus numbers utterance i with passage i mod `passages` of its seeded text order (each cycle through the
    passages by other voices): the first SYNTHETIC_TEST_PASSAGES passages are the test set, the labels are the first
    SYNTHETIC_LABEL_MINUTES of the others in that order (a passage is repeated by another voice only once every passage
    has been used), and every utterance not in the test set is unlabelled audio."""
    position = {segment.id: int(segment.id.rsplit("-", 1)[1]) for segment in corpus.segments}
    test = [s for s in corpus.segments if position[s.id] % passages < SYNTHETIC_TEST_PASSAGES]
    rest = [s for s in corpus.segments if position[s.id] % passages >= SYNTHETIC_TEST_PASSAGES]
    labels = take_minutes(sorted(rest, key=lambda s: position[s.id]), SYNTHETIC_LABEL_MINUTES)
    unlabelled = [s.with_(text=None, phones=None) for s in rest]
    return {"test": subset(corpus, test), "train_10": subset(corpus, labels), "unlabelled": subset(corpus, unlabelled)}


def target_data(target: str, work: Path) -> dict[str, Corpus]:
    return real_speech.prepare_data(work, 16.0) if target == "dutch" else synthetic_target_data(target_work(target, work))


def target_work(target: str, work: Path) -> Path:
    """Where a target's data and CTC runs are: real_speech.py's folder for real Dutch, a folder of its own beside."""
    return work if target == "dutch" else work / "synthetic_target"


def run_ssl_stage(stage: SSLStage, audio: Corpus, work: Path, init_from: Path | None) -> Path:
    """The stage's checkpoint folder; a finished stage is reused, a killed one resumes."""
    out = work / "ssl" / stage.name
    if (out / "done.json").is_file():
        return out
    source = {"architecture": "conformer", "size": "small"} if init_from is None else {"architecture": "conformer", "init_from": str(init_from)}
    summary = continue_pretraining(source, audio, out, lr=stage.lr, warmup_steps=stage.warmup_steps, options=small_conformer_options(stage.steps),
                                   max_steps=stage.steps,
                                   max_batch_seconds=SSL_BATCH_SECONDS, log_interval_steps=50, checkpoint_interval_minutes=5,
                                   progress_bar=False)
    atomic_write_text(out / "done.json", json.dumps({"steps": summary.steps, "first_loss": summary.first_loss,
                                                     "final_loss": summary.final_loss}))
    return out


def ssl_checkpoints(conditions: Sequence[str], target: str, work: Path, corpora: dict[str, Corpus]) -> dict[str, Path]:
    """The SSL checkpoint each asked condition starts from (none for (a)); (b) and (d) are the same for every target."""
    needed = set(conditions) - {"a"}
    if not needed:
        return {}
    seen, _ = seen_audio(work)
    checkpoints = {"b": run_ssl_stage(MULTILINGUAL, seen, work, None)}
    if "c" in needed:  # the target's training audio; its transcripts are not read
        stage, audio = (CONTINUED_TARGET, corpora["train_full"]) if target == "dutch" else (CONTINUED_SYNTHETIC_TARGET, corpora["unlabelled"])
        checkpoints["c"] = run_ssl_stage(stage, audio, work, checkpoints["b"])
    if "d" in needed:
        checkpoints["d"] = run_ssl_stage(CONTINUED_SEEN, seen, work, checkpoints["b"])
    return checkpoints


@dataclass(frozen=True)
class ConditionResult:
    condition: str
    run: real_speech.RunResult
    source: str  # where the result was trained: this benchmark, or real_speech's cache for (a)
    fine_tuning: str = "recipe"  # of FINE_TUNING
    target: str = "dutch"  # of TARGETS

    @property
    def name(self) -> str:
        return condition_label(self.condition, self.fine_tuning)


def condition_label(condition: str, fine_tuning: str) -> str:
    """How the report names a condition run with a fine-tuning variant, e.g. "(c) linear_probe"."""
    return f"({condition})" + ("" if fine_tuning == "recipe" else f" {fine_tuning}")


def result_file(condition: str, fine_tuning: str, size: str, seed: int, target: str = "dutch") -> str:
    variant = "" if fine_tuning == "recipe" else f"-{fine_tuning}"
    return ("" if target == "dutch" else f"{target}-") + f"{condition}{variant}-{size}-seed{seed}.json"


def train_condition(condition: str, fine_tuning: str, size: str, seed: int, checkpoints: dict[str, Path], corpora: dict[str, Corpus],
                    arguments) -> ConditionResult:
    if condition == "a" and fine_tuning == "recipe" and arguments.target == "dutch":
        cached = arguments.real_speech_results / f"{real_speech.result_name('scratch', size, seed, ())}.json"
        run = real_speech.run_result(json.loads(cached.read_text(encoding="utf-8"))) if cached.is_file() else None
        if run is not None and not real_speech.earlier_preset(run):  # the same recipe as (b)-(d) train with today
            return ConditionResult("a", run, f"real_speech results ({cached.name})")
    start = [] if condition == "a" else [f"model.init_from={checkpoints[condition]}"]
    run = real_speech.train_and_score("scratch", size, seed, corpora, target_work(arguments.target, arguments.work_dir), Path("unused"),
                                      1.0, 0.0, [*start, *FINE_TUNING[fine_tuning]])
    return ConditionResult(condition, run, "this benchmark", fine_tuning, arguments.target)


def save(result: ConditionResult, folder: Path) -> None:
    record = {"condition": result.condition, "fine_tuning": result.fine_tuning, "target": result.target, "source": result.source,
              "run": asdict(result.run)}
    path = folder / result_file(result.condition, result.fine_tuning, result.run.size, result.run.seed, result.target)
    atomic_write_text(path, json.dumps(record, indent=1))


def load(folder: Path) -> list[ConditionResult]:
    results = []
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        results.append(ConditionResult(record["condition"], real_speech.run_result(record["run"]), record["source"],
                                       record.get("fine_tuning", "recipe"), record.get("target", "dutch")))
    return results


# ---------------------------------------------------------------- report


def logged(log: Path, name: str) -> list[tuple[int, float]]:
    with open(log, newline="", encoding="utf-8") as stream:
        return [(int(row["step"]), float(row["value"])) for row in csv.DictReader(stream) if row["stage"] == "train" and row["name"] == name]


def ssl_tables(work: Path) -> list[Table]:
    seen, left_out = seen_audio(work)
    seen_text = (f"seen-language synthetic audio ({minutes(seen):.0f} min, {len(seen.segments)} utterances; {left_out} longer "
                 f"than a {SSL_BATCH_SECONDS:.0f} s batch left out)")
    stages = [("(b)", MULTILINGUAL, lambda: seen_text),
              ("(c)", CONTINUED_TARGET, lambda: f"Dutch training audio without transcripts "
                                                f"({minutes(target_data('dutch', work)['train_full']):.0f} min; test audio never)"),
              ("(c) synthetic target", CONTINUED_SYNTHETIC_TARGET,
               lambda: f"synthetic Dutch without transcripts ({minutes(target_data('synthetic', work)['unlabelled']):.0f} min; "
                       "test passages never)"),
              ("(d)", CONTINUED_SEEN, lambda: seen_text)]
    rows, curve = [], []
    for name, stage, describe in stages:
        log = work / "ssl" / stage.name / "log.csv"
        if not (work / "ssl" / stage.name / "done.json").is_file():
            continue
        audio = describe()
        accuracy, perplexity, loss = logged(log, "contrastive_accuracy"), logged(log, "codebook_perplexity"), logged(log, "loss")
        with open(log, newline="", encoding="utf-8") as stream:
            times = [float(row["time"]) for row in csv.DictReader(stream)]
        rows.append((name, audio, stage.steps, f"{loss[0][1]:.2f} → {loss[-1][1]:.2f}", f"{accuracy[0][1]:.3f} → {accuracy[-1][1]:.3f}",
                     f"{perplexity[0][1]:.0f} → {perplexity[-1][1]:.0f}", f"{(times[-1] - times[0]) / 60:.0f}"))
        marks = sorted({step for step, _ in accuracy if step % max(1, stage.steps // 5) == 0} | {accuracy[-1][0]})
        curve.extend((name, step, f"{dict(accuracy)[step]:.3f}", f"{dict(perplexity)[step]:.0f}") for step in marks)
    chance = 1 / (1 + small_conformer_options(1).num_negatives)
    return [Table("Self-supervised stages", ("stage", "audio", "steps", "loss per masked frame (first → last log)",
                                             "contrastive accuracy", "codebook perplexity (of 640)", "wall min"), rows,
                  f"Chance contrastive accuracy is {chance:.3f} (the target among 1 + 50 candidates)."),
            Table("SSL learning curve", ("stage", "step", "contrastive accuracy", "codebook perplexity"), curve)]


def paired(results: dict[str, dict[int, float]], better: str, other: str) -> tuple[str, ...] | None:
    seeds = sorted(set(results.get(better, {})) & set(results.get(other, {})))
    if len(seeds) < 2:
        return None
    x, y = [results[better][s] for s in seeds], [results[other][s] for s in seeds]
    test = stats.ttest_rel(x, y)
    relative = 1 - statistics.mean(x) / statistics.mean(y)
    return (f"{better} vs {other}", ",".join(map(str, seeds)), " ".join(f"{100 * (a - b):+.1f}" for a, b in zip(x, y)),
            f"{100 * relative:+.1f} %", f"{test.pvalue:.3f}")


def comparisons(names: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs the issue asks about, within each fine-tuning variant, and each variant against the recipe."""
    pairs = []
    for variant in FINE_TUNING:
        a, b, c, d = (condition_label(condition, variant) for condition in "abcd")
        pairs += [(c, d), (c, a), (b, a), (d, b)]
        if variant != "recipe":  # the variant against the recipe: (c) against plain (a), and each condition against itself
            pairs += [(c, "(a)"), (a, "(a)"), (b, "(b)"), (c, "(c)"), (d, "(d)")]
    return [(first, second) for first, second in pairs if first in names and second in names]


def result_tables(results: Sequence[ConditionResult]) -> list[Table]:
    rows = [(r.name, r.run.size, r.run.seed, f"{100 * r.run.per:.1f}", f"{100 * r.run.wer:.1f}",
             str(r.run.steps) + ("*" if r.run.stopped_early_at_step is not None else ""), f"{r.run.cpu_seconds / 60:.1f}",
             r.run.commit, r.source, r.target, real_speech.preset_changes(r.run))
            for r in sorted(results, key=lambda r: (r.target, r.run.size, r.fine_tuning != "recipe", r.name, r.run.seed))]
    tables = [Table("Test PER of each run", ("condition", "labels", "seed", "PER %", "WER %", "steps", "CPU min", "commit", "trained by", "target",
                                             "CTC recipe then, where it differs from today's"), rows,
                    "steps*: stopped early on dev PER. WER: lexicon + word trigram from the training text (as real_speech.py). The "
                    "comparisons below pool runs by condition: read them only where the last column agrees.")]
    for target, size in sorted({(r.target, r.run.size) for r in results}):
        by_name: dict[str, dict[int, float]] = {}
        described = {}
        minutes_given = max(r.run.label_minutes for r in results if (r.target, r.run.size) == (target, size))
        labels = f"{size} min of labels" if real_speech.SIZES.get(size) else f"All {minutes_given:.0f} min of labels"
        labels = labels if target == "dutch" else f"Synthetic target, {labels[0].lower()}{labels[1:]}"
        for r in results:
            if (r.target, r.run.size) == (target, size):
                by_name.setdefault(r.name, {})[r.run.seed] = r.run.per
                described[r.name] = CONDITIONS[r.condition] + ("" if r.fine_tuning == "recipe" else f"; fine-tuned with {' '.join(FINE_TUNING[r.fine_tuning])}")
        summary = [(f"{name} {described[name]}", ",".join(map(str, sorted(pers))), real_speech.spread(list(pers.values())))
                   for name, pers in sorted(by_name.items(), key=lambda item: (" " in item[0], item[0]))]
        tests = [row for row in (paired(by_name, first, second) for first, second in comparisons(list(by_name))) if row]
        tables.append(Table(f"{labels}: mean test PER (± half the range over seeds)", ("condition", "seeds", "PER %"), summary))
        if tests:
            tables.append(Table(f"{labels}: paired comparisons over seeds",
                                ("comparison", "seeds", "PER difference per seed (points)", "relative PER reduction", "paired t-test p"), tests,
                                "Same seed = same CTC data order and initial output layer; relative reduction = 1 - mean(first) / mean(second)."))
    return tables


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conditions", default="a,b,c,d", help="comma-separated, of a, b, c, d")
    parser.add_argument("--sizes", default="10", help=f"comma-separated label sets of real_speech.py, of: {', '.join(real_speech.SIZES)}")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated CTC training seeds")
    parser.add_argument("--target", default="dutch", choices=sorted(TARGETS), help="the target language's speech (TARGETS)")
    parser.add_argument("--fine-tuning", default="recipe", choices=sorted(FINE_TUNING), help="how the encoder is fine-tuned (FINE_TUNING)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    parser.add_argument("--work-dir", type=Path, default=Path("exp/real_speech"), help="real_speech.py's data and run folders (SSL under ssl/)")
    parser.add_argument("--results-dir", type=Path, default=Path("docs/benchmarks/continued_pretraining_results"))
    parser.add_argument("--real-speech-results", type=Path, default=Path("docs/benchmarks/real_speech_results"),
                        help="where (a) finds real_speech.py's cached scratch runs")
    parser.add_argument("--ssl-only", action="store_true", help="run the SSL stages the conditions need, no CTC")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from the cached results, train nothing")
    add_report_option(parser, "continued_pretraining")
    arguments = parser.parse_args(argv)
    arguments.condition_list = arguments.conditions.split(",")
    for option, known, values in (("conditions", CONDITIONS, arguments.condition_list), ("sizes", real_speech.SIZES, arguments.sizes.split(","))):
        unknown = set(values) - set(known)
        if unknown:
            parser.error(f"--{option}: unknown {sorted(unknown)}; choose from {', '.join(known)}")
    if arguments.target == "synthetic" and arguments.sizes != "10":
        parser.error("--sizes: the synthetic target has 10 min of labels only (--sizes 10)")
    arguments.seed_list = [int(seed) for seed in arguments.seeds.split(",")]
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    torch.set_num_threads(arguments.threads)
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    if not arguments.report_only:
        corpora = target_data(arguments.target, arguments.work_dir)
        checkpoints = ssl_checkpoints(arguments.condition_list, arguments.target, arguments.work_dir, corpora)
        if not arguments.ssl_only:
            for size in arguments.sizes.split(","):
                for seed in arguments.seed_list:
                    for condition in arguments.condition_list:
                        if (arguments.results_dir / result_file(condition, arguments.fine_tuning, size, seed, arguments.target)).is_file():
                            print(f"== ({condition}) {arguments.target} {size} seed {seed}: cached, skipped", flush=True)
                            continue
                        started = time.perf_counter()
                        result = train_condition(condition, arguments.fine_tuning, size, seed, checkpoints, corpora, arguments)
                        save(result, arguments.results_dir)
                        print(f"== {result.name} {arguments.target} {size} seed {seed}: PER {100 * result.run.per:.1f} % "
                              f"({(time.perf_counter() - started) / 60:.1f} min)", flush=True)
    if arguments.ssl_only or str(arguments.output) == "-":
        return
    command = shlex.join(["PYTHONPATH=.", "python", "benchmarks/continued_pretraining.py", *argv])
    tables = [Table("The run", ("what", "how"), SETTINGS), *ssl_tables(arguments.work_dir), *result_tables(load(arguments.results_dir))]
    path = write_benchmark_doc(arguments.output, "Continued SSL on the target's untranscribed audio: four conditions on real Dutch "
                                                    "and a synthetic target",
                               tables, command=command)
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
