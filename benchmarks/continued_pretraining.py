"""Does continued self-supervised pretraining on unlabelled target audio help CTC fine-tuning? A CPU-sized check.

1. A tiny wav2vec 2.0 is pretrained from scratch on synthetic speech (UDHR text, espeak-ng voices) of six
   languages: "the multilingual-pretrained model".
2. The target language (Indonesian, not among the six) gets three disjoint sets of UDHR texts: unlabelled audio,
   a few minutes of labelled audio (phones from fieldasr.g2p) and a held-out test set.
3. (a) the multilingual model is fine-tuned with the CTC recipe on the labelled audio;
   (b) the same model first continues pretraining on the unlabelled target audio (the continued_pretraining
   recipe), then is fine-tuned identically. Both are scored by greedy phone error rate on the test set.

With --encoder conformer the same data serve the Conformer route (Whistle's SSL baseline on filterbanks): a Conformer
is pretrained on the six languages, then phone CTC on the labelled target audio starts from (a) no SSL (random),
(b) the multilingual SSL encoder (`model.init_from`), (c) that encoder after continued SSL on the unlabelled target
audio, (d) that encoder after the same number of extra SSL steps on the seen-language audio only (the control for
"more SSL steps" versus "target audio"). Report: docs/benchmarks/continued_pretraining_conformer.md.

Nothing is tuned on the test set: all settings are fixed in this file. Writes docs/benchmarks/continued_pretraining.md
(the analysis beside it, continued_pretraining.analysis.md, is hand-written).

    PYTHONPATH=. python benchmarks/continued_pretraining.py [--encoder wav2vec2|conformer] [--quick] [--work DIR]
"""
from __future__ import annotations

import argparse
import copy
import csv
import resource
import shlex
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr.audio import load_audio
from fieldasr.bundle import export_experiment, load_bundle
from fieldasr.data import Corpus, Segment
from fieldasr.decode.greedy import greedy_decode
from fieldasr.eval import score
from fieldasr.resources import find_recipe
from fieldasr.ssl.pretrain import SMALL_PRETRAINING_ENCODER, continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingOptions, gumbel_decay_reaching_minimum
from fieldasr.ssl.recipe import run_continued_pretraining_recipe
from fieldasr.ssl.vad_chunking import ChunkingOptions, group_into_chunks
from fieldasr.train.config import load_config
from fieldasr.train.recipe import run_ctc_recipe
from fieldasr.transcribe.bundle_model import BundleAcousticModel
from fieldasr_examples.corpora import build_synthetic_corpus

PRETRAINING_LANGUAGES = ("eng", "nld", "deu", "fra", "spa", "ita")
TARGET_LANGUAGE = "ind"
MAX_CHUNK_SECONDS = 8.0  # unlabelled audio is cut into chunks no longer than this


SETTINGS = (  # fixed here, not tuned on the test set
    ("self-supervised stages", "span masks of 5 frames with p = 0.5, 50 distractors, Gumbel temperature 2 → 0.5 over each stage, "
                               "warm-up over a tenth of the steps then linear decay; peak lr 1e-3 from scratch, 5e-4 when continuing; "
                               "batches of at most 30 s"),
    ("CTC stage (recipes/ctc base)", "lr 2e-3 after 50 warm-up steps, convolutional feature encoder frozen throughout, transformer "
                                     "frozen for the first 300 steps (only the output layer learns), batches of at most 30 s, no speed "
                                     "perturbation, no validation set"),
    ("scoring", "the final checkpoint, greedy decoding without a language model; each row is one run"),
)


@dataclass(frozen=True)
class Settings:
    utterances_per_language: int  # pretraining languages
    target_utterances: int  # all target texts: test, labelled, unlabelled
    test_utterances: int
    labelled_utterances: int
    multilingual_steps: int
    continued_steps: int
    fine_tuning_steps: int
    fine_tuning_seeds: tuple[int, ...]


FULL = Settings(60, 140, 30, 30, multilingual_steps=400, continued_steps=150, fine_tuning_steps=1000,
                fine_tuning_seeds=(1234, 1))
QUICK = Settings(6, 14, 4, 4, multilingual_steps=4, continued_steps=3, fine_tuning_steps=4, fine_tuning_seeds=(1234, 1))


def ssl_options(steps: int) -> PretrainingOptions:
    # Short utterances and a tiny model: shorter spans and fewer distractors than the paper's 10 and 100.
    return PretrainingOptions(mask_probability=0.5, mask_length=5, num_negatives=50,
                              gumbel_temperature_decay=gumbel_decay_reaching_minimum(steps))


def chunked(corpus: Corpus) -> Corpus:
    """Unlabelled version of `corpus`: no text or phones, utterances cut evenly into chunks of at most 8 s."""
    options = ChunkingOptions(min_seconds=1.0, max_seconds=MAX_CHUNK_SECONDS, max_pause_seconds=0.0)
    segments = []
    for segment in corpus.segments:
        chunks, _ = group_into_chunks([(segment.start, segment.end)], options)
        segments += [Segment(id=f"{segment.id}-{i}", recording_id=segment.recording_id, start=start, duration=end - start,
                             language=segment.language) for i, (start, end) in enumerate(chunks)]
    return Corpus(corpus.recordings, tuple(segments))


def subset(corpus: Corpus, segments: tuple[Segment, ...]) -> Corpus:
    wanted = {segment.recording_id for segment in segments}
    return Corpus({key: value for key, value in corpus.recordings.items() if key in wanted}, segments)


def build_data(work: Path, settings: Settings) -> dict[str, Corpus]:
    common = {"speakers_per_language": 4, "max_characters": 80, "workers": 1, "seed": 0}
    build_synthetic_corpus(PRETRAINING_LANGUAGES, work / "multilingual_audio", utterances_per_language=settings.utterances_per_language, **common)
    build_synthetic_corpus([TARGET_LANGUAGE], work / "target_audio", utterances_per_language=settings.target_utterances, **common)
    target = Corpus.load(work / "target_audio")
    # One UDHR text per utterance (no cycling), so the three sets share no text.
    test, labelled = target.segments[: settings.test_utterances], target.segments[settings.test_utterances:][: settings.labelled_utterances]
    unlabelled = target.segments[settings.test_utterances + settings.labelled_utterances:]
    sets = {
        "multilingual": chunked(Corpus.load(work / "multilingual_audio")),
        "unlabelled": chunked(subset(target, unlabelled)),
        "labelled": subset(target, labelled),
        "test": subset(target, test),
    }
    for name, corpus in sets.items():
        corpus.save(work / "manifests" / name)
    return sets


def fine_tuning_config(work: Path, settings: Settings) -> dict:
    """The CTC recipe's base settings, sized for a tiny model on CPU; the same for (a) and (b)."""
    overrides = [
        f"data.train={work / 'manifests/labelled'}", "data.valid=null", f"data.language={TARGET_LANGUAGE}",
        "data.speed_factors=[]", "data.max_batch_duration=30.0",
        "model.freeze_feature_encoder=true", "model.freeze_encoder_steps=300",
        "trainer.lr=0.002", "trainer.warmup_steps=50", "trainer.max_epochs=100000",
        f"trainer.max_steps={settings.fine_tuning_steps}", "trainer.progress_bar=false", "trainer.keep_best=1",
        "trainer.valid_metric=loss", "trainer.checkpoint_interval_minutes=60", "trainer.log_interval_steps=50",
    ]
    return load_config(find_recipe("ctc/base"), overrides)


@torch.no_grad()
def phone_error_rate(experiment: Path, test: Corpus) -> tuple[float, int]:
    """Greedy PER of the experiment's final checkpoint on `test`, and how many hypotheses were empty."""
    model = BundleAcousticModel(load_bundle(export_experiment(experiment, experiment / "bundle", overwrite=True)))
    references, hypotheses = {}, {}
    for segment in test.segments:
        recording = test.recordings[segment.recording_id]
        waveform = torch.from_numpy(load_audio(recording.path, start=segment.start, duration=segment.duration))[None]
        log_probs, frames = model.log_probs(waveform, torch.tensor([waveform.shape[1]]), [segment.language])
        hypotheses[segment.id] = list(greedy_decode(log_probs, model.vocabulary, frames)[0].tokens)
        references[segment.id] = list(segment.phones)
    result = score(references, hypotheses, unit="phone")
    return result.rate, sum(1 for tokens in hypotheses.values() if not tokens)


def with_seed(config: dict, seed: int) -> dict:
    config = copy.deepcopy(config)
    config["trainer"]["seed"] = seed
    return config


def fine_tune(name: str, base: dict, checkpoint: Path, experiment: Path, seed: int) -> dict:
    """The CTC recipe from a pretrained checkpoint; the row of the results table (PER added later)."""
    started = time.perf_counter()
    config = with_seed(base, seed)
    run_ctc_recipe({**config, "experiment_dir": str(experiment), "model": {**config["model"], "pretrained": str(checkpoint)}})
    return {"model": name, "seed": seed, "continued_steps": 0, "ssl_loss": None,
            "minutes": (time.perf_counter() - started) / 60, "experiment": experiment}


def run(work: Path, settings: Settings) -> list[dict]:
    sets = build_data(work, settings)
    started = time.perf_counter()
    multilingual = continue_pretraining(
        SMALL_PRETRAINING_ENCODER, sets["multilingual"], work / "multilingual_ssl", options=ssl_options(settings.multilingual_steps),
        max_steps=settings.multilingual_steps, lr=1e-3, max_batch_seconds=30.0, progress_bar=False, log_interval_steps=25,
    )
    multilingual_minutes = (time.perf_counter() - started) / 60
    base = fine_tuning_config(work, settings)
    first_seed, *other_seeds = settings.fine_tuning_seeds
    rows = [fine_tune("(a)", base, multilingual.checkpoint, work / "a_ctc", first_seed)]
    started = time.perf_counter()
    recipe = run_continued_pretraining_recipe({
        "experiment_dir": str(work / "b"),
        "pretraining": {"source": str(multilingual.checkpoint), "data": str(work / "manifests/unlabelled"),
                        "max_steps": settings.continued_steps, "lr": 5e-4, "max_batch_seconds": 30.0, "progress_bar": False,
                        "log_interval_steps": 25, "options": vars(ssl_options(settings.continued_steps))},
        "fine_tuning": {key: value for key, value in with_seed(base, first_seed).items() if key != "experiment_dir"},  # b/ctc
    })
    rows.append({"model": "(b)", "seed": first_seed, "continued_steps": recipe.pretraining.steps,
                 "ssl_loss": (recipe.pretraining.first_loss, recipe.pretraining.final_loss),
                 "minutes": (time.perf_counter() - started) / 60, "experiment": work / "b/ctc"})
    for seed in other_seeds:  # fine-tuning noise: same pretrained encoders, another CTC seed
        rows.append(fine_tune("(a)", base, multilingual.checkpoint, work / f"a_ctc_seed{seed}", seed))
        rows.append({**fine_tune("(b)", base, recipe.pretraining.checkpoint, work / f"b_ctc_seed{seed}", seed),
                     "continued_steps": recipe.pretraining.steps})
    for row in rows:
        row["per"], row["empty"] = phone_error_rate(row["experiment"], sets["test"])
    rows.insert(0, {"model": "multilingual SSL from scratch", "ssl_loss": (multilingual.first_loss, multilingual.final_loss),
                    "minutes": multilingual_minutes, "steps": multilingual.steps})
    return rows


CONFORMER_SOURCE = {"architecture": "conformer", "size": "small",  # the multilingual recipe's Conformer (0.7 M weights)
                    "quantizer": {"num_codevectors_per_group": 64, "codevector_dim": 128, "proj_codevector_dim": 128}}
CONFORMER_SETTINGS = (  # fixed here, not tuned on the test set
    ("self-supervised stages (Conformer)", "the wav2vec 2.0 objective on the small Conformer (2 × 64 codevectors); span masks of 3 "
                                           "frames (120 ms) with p = 0.5, 50 distractors, Gumbel temperature 2 → 0.5 over each stage, "
                                           "warm-up over a tenth of the steps then linear decay (again for each continued stage); peak "
                                           "lr 1e-3 from scratch, 5e-4 when continuing; batches of at most 30 s"),
    ("CTC stage (conformer_ctc small)", "lr 1e-3 after 100 warm-up steps, SpecAugment as the recipe's, batches of at most 30 s, no "
                                        "speed perturbation, no validation set; (b)-(d) start from the encoder by model.init_from"),
    ("scoring", "the final checkpoint, greedy decoding without a language model; each row is one run"),
)


def conformer_ssl_options(steps: int) -> PretrainingOptions:
    # 40 ms frames: spans of 3 frames are 120 ms, about the 5 × 20 ms of the wav2vec 2.0 runs above.
    return PretrainingOptions(mask_probability=0.5, mask_length=3, num_negatives=50,
                              gumbel_temperature_decay=gumbel_decay_reaching_minimum(steps))


def conformer_ctc(name: str, base: dict, init_from: Path | None, experiment: Path, seed: int) -> dict:
    started = time.perf_counter()
    config = with_seed(base, seed)
    model = {**config["model"], "architecture": "conformer_ctc", "size": "small", "pretrained": None,
             "init_from": None if init_from is None else str(init_from), "freeze_encoder_steps": 0}
    trainer = {**config["trainer"], "lr": 0.001, "warmup_steps": 100}
    run_ctc_recipe({**config, "experiment_dir": str(experiment), "model": model, "trainer": trainer})
    return {"model": name, "seed": seed, "minutes": (time.perf_counter() - started) / 60, "experiment": experiment}


def run_conformer(work: Path, settings: Settings) -> tuple[list[dict], list[tuple[str, object]]]:
    """Rows (a)-(d) with their PER, and the SSL stages' summaries by name."""
    sets = build_data(work, settings)
    common = {"max_batch_seconds": 30.0, "progress_bar": False, "log_interval_steps": 25}
    multilingual = continue_pretraining(CONFORMER_SOURCE, sets["multilingual"], work / "ssl_multilingual", lr=1e-3,
                                        options=conformer_ssl_options(settings.multilingual_steps),
                                        max_steps=settings.multilingual_steps, **common)
    continued = {"architecture": "conformer", "init_from": str(multilingual.checkpoint)}  # new runs: warm-up again
    stages = {"(c)": ("unlabelled", work / "ssl_continued_target"), "(d)": ("multilingual", work / "ssl_continued_seen")}
    summaries = {"(b)": multilingual}
    for name, (audio, folder) in stages.items():
        summaries[name] = continue_pretraining(continued, sets[audio], folder, lr=5e-4, options=conformer_ssl_options(settings.continued_steps),
                                               max_steps=settings.continued_steps, **common)
    base = fine_tuning_config(work, settings)
    rows = []
    for seed in settings.fine_tuning_seeds:
        rows.append(conformer_ctc("(a)", base, None, work / f"a_ctc_seed{seed}", seed))
        for name, summary in summaries.items():
            rows.append(conformer_ctc(name, base, summary.checkpoint, work / f"{name[1]}_ctc_seed{seed}", seed))
    for row in rows:
        row["per"], row["empty"] = phone_error_rate(row["experiment"], sets["test"])
    return rows, list(summaries.items())


def conformer_tables(rows: list[dict], ssl: list[tuple[str, object]], settings: Settings, wall_minutes: float, cpu_minutes: float,
                     test: int, minutes: str) -> list[Table]:
    what = {"(b)": "multilingual SSL from scratch", "(c)": "continued on the unlabelled target audio",
            "(d)": "continued on the seen-language audio only"}
    stages = [(name, what[name], summary.steps, f"{summary.first_loss:.3f} → {summary.final_loss:.3f}",
               f"{last_logged(summary.log, 'contrastive_accuracy'):.3f}", f"{last_logged(summary.log, 'codebook_perplexity'):.1f}")
              for name, summary in ssl]
    run = [("target", f"{TARGET_LANGUAGE}: {settings.labelled_utterances} labelled, {test} held-out test utterances; CTC: "
                      f"{settings.fine_tuning_steps} steps each"),
           ("minutes of audio", minutes),
           ("whole run", f"{wall_minutes:.1f} min wall clock, {cpu_minutes:.1f} min CPU, torch with 1 thread"), *CONFORMER_SETTINGS]
    chance = 1 / (1 + conformer_ssl_options(1).num_negatives)
    result_rows = [(row["model"], row["seed"], f"{row['minutes']:.1f}", f"{row['per']:.3f}", f"{row['empty']}/{test}") for row in rows]
    means = {name: [row["per"] for row in rows if row["model"] == name] for name in ("(a)", "(b)", "(c)", "(d)")}
    return [Table("The run", ("what", "how"), run),
            Table("Self-supervised stages", ("encoder", "stage", "steps", "loss per masked frame first → last",
                                             "contrastive accuracy (last log)", "codebook perplexity (last log)"), stages,
                  f"Chance contrastive accuracy is about {chance:.3f} (1 of 1 + 50 candidates)."),
            Table("Test phone error rate", ("CTC from", "CTC seed", "CTC minutes", "test PER", "empty hypotheses"), result_rows,
                  "(a) no SSL; (b) the multilingual SSL encoder; (c) (b) + continued SSL on the target's unlabelled audio; "
                  "(d) (b) + as many extra SSL steps on the seen-language audio only."),
            Table("Mean test PER over CTC seeds", ("CTC from", "mean test PER", "runs"),
                  [(name, f"{sum(p) / len(p):.3f}", len(p)) for name, p in means.items()])]


def last_logged(log: Path, name: str) -> float:
    """The last training value of `name` in a Trainer's log.csv: of a log interval, or of an epoch when it came later
    (a run shorter than one log interval has only those)."""
    with open(log, newline="") as stream:
        values = [float(row["value"]) for row in csv.DictReader(stream) if row["stage"] in ("train", "train_epoch") and row["name"] == name]
    return values[-1] if values else float("nan")


def audio_minutes(work: Path) -> str:
    minutes = {name: sum(s.duration for s in Corpus.load(work / "manifests" / name).segments) / 60
               for name in ("multilingual", "unlabelled", "labelled", "test")}
    return ", ".join(f"{name} {value:.1f}" for name, value in minutes.items())


def report_tables(rows: list[dict], settings: Settings, wall_minutes: float, cpu_minutes: float, test: int, minutes: str) -> list[Table]:
    ssl, results = rows[0], rows[1:]
    run = [
        ("multilingual pretraining", f"{', '.join(PRETRAINING_LANGUAGES)}; {settings.utterances_per_language} synthetic utterances each; "
                                     f"{ssl['steps']} steps, loss per masked frame {ssl['ssl_loss'][0]:.3f} → {ssl['ssl_loss'][1]:.3f}, "
                                     f"{ssl['minutes']:.1f} min"),
        (f"target {TARGET_LANGUAGE}", f"{settings.labelled_utterances} labelled utterances, "
                                      f"{settings.target_utterances - settings.test_utterances - settings.labelled_utterances} unlabelled, "
                                      f"{test} held-out test utterances (disjoint UDHR texts); CTC: {settings.fine_tuning_steps} steps each"),
        ("minutes of audio", minutes),
        ("whole run", f"{wall_minutes:.1f} min wall clock, {cpu_minutes:.1f} min CPU, torch with 1 thread"),
        *SETTINGS,
    ]
    result_rows = [(row["model"], row["seed"], row["continued_steps"],
                    "" if row["ssl_loss"] is None else f"{row['ssl_loss'][0]:.3f} → {row['ssl_loss'][1]:.3f}",
                    f"{row['minutes']:.1f}", f"{row['per']:.3f}", f"{row['empty']}/{test}") for row in results]
    means = {name: [row["per"] for row in results if row["model"] == name] for name in ("(a)", "(b)")}
    columns = ("model", "CTC seed", "continued SSL steps", "SSL loss first → last", "minutes", "test PER", "empty hypotheses")
    return [Table("The run", ("what", "how"), run),
            Table("Test phone error rate", columns, result_rows,
                  "(a) the multilingual model fine-tuned with CTC; (b) the same model after continued pretraining on the unlabelled "
                  "target audio, fine-tuned identically. Minutes: continued pretraining (b, first seed) + CTC."),
            Table("Mean test PER over CTC seeds", ("model", "mean test PER", "runs"),
                  [(name, f"{sum(p) / len(p):.3f}", len(p)) for name, p in means.items()])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps on a few utterances: checks that it runs (writes no report)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--encoder", choices=("wav2vec2", "conformer"), default="wav2vec2",
                        help="wav2vec2: conditions (a)-(b) on a tiny wav2vec 2.0; conformer: (a)-(d) on the filterbank Conformer")
    add_report_option(parser, "continued_pretraining")
    arguments = parser.parse_args()
    conformer = arguments.encoder == "conformer"
    if conformer and arguments.output == parser.get_default("output"):
        arguments.output = "docs/benchmarks/continued_pretraining_conformer.md"
    torch.set_num_threads(1)
    settings = QUICK if arguments.quick else FULL
    # --work only keeps the intermediate files; leaving it out keeps this machine's paths out of the report.
    command = shlex.join(["PYTHONPATH=.", "python", "benchmarks/continued_pretraining.py", *(["--encoder", "conformer"] if conformer else []),
                          *(["--quick"] if arguments.quick else [])])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temporary:
        work = arguments.work or Path(temporary)
        rows, ssl = run_conformer(work, settings) if conformer else (run(work, settings), [])
        test = len(Corpus.load(work / "manifests/test").segments)
        minutes = audio_minutes(work)
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu_minutes = sum(u.ru_utime + u.ru_stime for u in usage) / 60
    wall_minutes = (time.perf_counter() - started) / 60
    if conformer:
        tables = conformer_tables(rows, ssl, settings, wall_minutes, cpu_minutes, test, minutes)
        title = "The Conformer SSL chain: no SSL, multilingual SSL, continued SSL on the target, or on seen languages"
    else:
        tables = report_tables(rows, settings, wall_minutes, cpu_minutes, test, minutes)
        title = "Continued pretraining on unlabelled target audio before CTC fine-tuning"
    publish("-" if arguments.quick else arguments.output, title, tables, command=command)


if __name__ == "__main__":
    main()
