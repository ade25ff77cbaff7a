"""Crosslingual transfer at small scale (CV-Lang10 in miniature): does phone supervision on seen languages
transfer to unseen ones with minutes of labels, better than subwords (Whistle), and does continued
self-supervised pretraining on unlabelled target audio help (the Ainu finding)?

Seen languages are synthesised (UDHR text, espeak-ng voices); two unseen synthetic languages and real
Dutch speech (Fish Fillets NG) are the targets. For each target and label amount ("10 min", "1 h" --
scaled down, see --small-minutes/--large-minutes) these conditions are trained with the same step budget
(--conditions; by default all but "subword scratch"):

  phone scratch        phone CTC from random initialisation
  phone PT→FT          one multilingual phone CTC model (trained once on the seen languages), its output
                       layer mapped onto the target phones (unseen phones from the feature-nearest known
                       phone), then fine-tuned
  subword scratch      sentencepiece CTC on the target text from random initialisation
  subword PT→FT        one multilingual sentencepiece CTC model → target sentencepiece fine-tuning

PER is greedy phone error rate (word boundaries excluded); WER of phone models comes from lexicon + word
trigram beam search (lexicon and LM from the training texts only), WER of subword models from greedy
pieces. A tiny wav2vec 2.0 sub-study (--ssl) compares fine-tuning with and without continued
self-supervised pretraining on unlabelled target audio. Writes docs/benchmarks/crosslingual.md (the analysis
beside it, crosslingual.analysis.md, is hand-written).

    PYTHONPATH=. python benchmarks/crosslingual.py            # the full run (20-35 min on 2 shared cores)
    PYTHONPATH=. python benchmarks/crosslingual.py --quick    # a smoke-sized run of the same protocol
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make `benchmarks.*` and `fieldasr` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.benchmark_doc import Table, add_report_option, write_benchmark_doc  # noqa: E402
from benchmarks.crosslingual_protocol import (  # noqa: E402
    SSL_CONFIG, Scores, TargetLanguage, TrainedModel, TrainingSettings, build_vocabulary, label_words, minutes,
    new_conformer, score_phone_model, score_subword_model, split_by_text, subset, to_16k_wav, train_ctc,
    train_sentencepiece, transferred, self_supervised, wav2vec2_for_ctc,
)
from fieldasr.data import Corpus  # noqa: E402
from fieldasr.models import ConformerConfig  # noqa: E402
from fieldasr_examples.corpora import build_synthetic_corpus, import_fillets  # noqa: E402
from fieldasr_examples.corpora.debian import FILLETS_ROOT  # noqa: E402
from fieldasr_examples.corpora.text_sources import language  # noqa: E402

BENCH_CONFORMER = ConformerConfig(num_mel_bins=80, hidden_size=96, num_layers=3, num_heads=4, ffn_size=256,
                                  conv_kernel_size=15, dropout=0.1, subsampling_channels=32)
QUICK_CONFORMER = ConformerConfig(num_mel_bins=40, hidden_size=32, num_layers=1, num_heads=2, ffn_size=64,
                                  conv_kernel_size=7, dropout=0.0, subsampling_channels=8)
CONDITIONS = ("phone scratch", "phone PT→FT", "subword scratch", "subword PT→FT")


@dataclass(frozen=True)
class Row:
    target: str
    amount: str
    label_minutes: float
    condition: str
    scores: Scores
    steps: int
    seconds: float
    final_loss: float


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes (seconds, meaningless numbers)")
    parser.add_argument("--seen", default="eng,deu,fra,spa,ita,por,ces,tur,ind,fin", help="seen (pretraining) languages")
    parser.add_argument("--unseen", default="pol,swh", help="unseen synthetic target languages")
    parser.add_argument("--seen-utterances", type=int, default=45, help="synthetic utterances per seen language")
    parser.add_argument("--unseen-utterances", type=int, default=380, help="synthetic utterances per unseen language")
    parser.add_argument("--test-texts", type=int, default=20, help="held-out texts (one utterance each) per target")
    parser.add_argument("--small-minutes", type=float, default=10.0, help='the "10 min" label set')
    parser.add_argument("--large-minutes", type=float, default=40.0, help='the "1 h" label set (scaled down)')
    parser.add_argument("--pretrain-steps", type=int, default=500)
    parser.add_argument("--finetune-steps", type=int, default=80, help="steps of every target condition")
    parser.add_argument("--conditions", default="phone scratch,phone PT→FT,subword PT→FT",
                        help=f"comma-separated, of: {', '.join(CONDITIONS)}")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-seconds", type=float, default=50.0, help="audio per batch")
    parser.add_argument("--lm-weight", type=float, default=1.0)
    parser.add_argument("--word-score", type=float, default=0.0)
    parser.add_argument("--dutch", action=argparse.BooleanOptionalAction, default=True, help="real Dutch (Fish Fillets NG) as a target")
    parser.add_argument("--dutch-large-minutes", type=float, default=60.0)
    parser.add_argument("--ssl", action=argparse.BooleanOptionalAction, default=True, help="the wav2vec 2.0 continued-pretraining sub-study")
    parser.add_argument("--seen-subwords", type=int, default=400, help="sentencepiece vocabulary of the seen languages")
    parser.add_argument("--ssl-steps", type=int, default=160, help="wav2vec 2.0 SSL steps on the seen audio")
    parser.add_argument("--ssl-continue-steps", type=int, default=80, help="further SSL steps on the target audio")
    parser.add_argument("--ssl-finetune-steps", type=int, default=80)
    parser.add_argument("--ssl-batch-seconds", type=float, default=20.0, help="audio per wav2vec 2.0 batch")
    parser.add_argument("--work-dir", type=Path, help="keep corpora and models here (default: a temporary folder)")
    add_report_option(parser, "crosslingual")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    if arguments.quick:  # smoke sizes become the defaults; options given explicitly still win
        parser.set_defaults(**QUICK)
        arguments = parser.parse_args(argv)
    unknown = set(arguments.conditions.split(",")) - set(CONDITIONS)
    if unknown:
        parser.error(f"unknown condition(s) {sorted(unknown)}; choose from {', '.join(CONDITIONS)}")
    return arguments


QUICK = {"seen": "spa", "unseen": "pol", "seen_utterances": 6, "unseen_utterances": 14, "test_texts": 3, "conditions": ",".join(CONDITIONS),
         "small_minutes": 0.4, "large_minutes": 0.9, "pretrain_steps": 6, "finetune_steps": 3, "dutch": False,
         "seen_subwords": 60, "ssl_steps": 3, "ssl_continue_steps": 2, "ssl_finetune_steps": 3,
         "output": "-"}


def synthetic_languages(codes: Sequence[str], folder: Path, utterances: int, seed: int) -> dict[str, Corpus]:
    """Labelled corpus of each language (word text, word-boundary phones)."""
    if not (folder / "segments.jsonl.gz").exists():
        build_synthetic_corpus(codes, folder, utterances_per_language=utterances, speakers_per_language=6, seed=seed)
    corpus = Corpus.load(folder)
    corpora = {}
    for code in codes:
        segments = [segment for segment in corpus.segments if segment.language == code]
        corpora[code] = label_words(subset(corpus, segments), code)
    return corpora


def dutch_target(arguments: argparse.Namespace, folder: Path) -> TargetLanguage:
    imported = import_fillets(folder / "manifests", FILLETS_ROOT)
    labelled = label_words(Corpus.load(imported.corpus_dir), "nld")
    target = split_by_text(labelled, "nld", "Dutch (Fillets, real)", arguments.test_texts * 4, arguments.small_minutes,
                           arguments.dutch_large_minutes, arguments.seed)
    large = to_16k_wav(target.large, folder / "wav16k")
    test = to_16k_wav(target.test, folder / "wav16k")
    small_ids = {segment.id for segment in target.small.segments}
    small = subset(large, [segment for segment in large.segments if segment.id in small_ids])
    return dataclasses.replace(target, small=small, large=large, test=test)


def pretrain(seen: Corpus, unit: str, arguments: argparse.Namespace, config: ConformerConfig, work: Path,
             subword_model=None) -> TrainedModel:
    vocabulary = build_vocabulary(seen, unit, subword_model)
    settings = TrainingSettings(arguments.pretrain_steps, arguments.lr, max(1, arguments.pretrain_steps // 10),
                                arguments.batch_seconds, arguments.seed)
    print(f"pretraining {unit} CTC on {minutes(seen):.1f} min of seen languages ({len(vocabulary)} labels) ...", flush=True)
    trained = train_ctc(new_conformer(config, vocabulary), vocabulary, seen, unit, settings, work / f"pretrain-{unit}", subword_model)
    print(f"  {trained.steps} steps in {trained.seconds:.0f} s, final loss {trained.final_loss:.2f}", flush=True)
    return trained


def run_target(target: TargetLanguage, amount: str, pretrained: dict[str, TrainedModel], arguments: argparse.Namespace,
               config: ConformerConfig, work: Path) -> list[Row]:
    train = target.train(amount)
    folder = work / f"{target.code}-{amount}"
    folder.mkdir(parents=True, exist_ok=True)
    settings = TrainingSettings(arguments.finetune_steps, arguments.lr, max(1, arguments.finetune_steps // 10),
                                arguments.batch_seconds, arguments.seed)
    phones = build_vocabulary(train, "phones")
    texts = [segment.text or "" for segment in train.segments]
    pieces = train_sentencepiece(texts, folder / "target-subwords", vocab_size=max(40, min(300, len(set(" ".join(texts).split())) // 4)))
    subwords = build_vocabulary(train, "subwords", pieces)
    rows = []
    for condition in arguments.conditions.split(","):
        unit = "phones" if condition.startswith("phone") else "subwords"
        vocabulary = phones if unit == "phones" else subwords
        model = transferred(pretrained[unit], vocabulary) if "PT" in condition else new_conformer(config, vocabulary)
        experiment = folder / condition.replace(" ", "_").replace("→", "-")
        trained = train_ctc(model, vocabulary, train, unit, settings, experiment, pieces if unit == "subwords" else None)
        if unit == "phones":
            scores = score_phone_model(trained, target, train, folder, arguments.lm_weight, arguments.word_score)
        else:
            scores = score_subword_model(trained, target, train)
        row = Row(target.name, amount, minutes(train), condition, scores, trained.steps, trained.seconds, trained.final_loss)
        print(format_row(row), flush=True)
        rows.append(row)
    return rows


def rate(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def row_cells(row: Row) -> tuple[str, ...]:
    return (row.target, f"{row.label_minutes:.1f}", row.condition, rate(row.scores.per), rate(row.scores.wer),
            rate(row.scores.oov_rate), str(row.steps), f"{row.seconds:.0f}", f"{row.final_loss:.2f}")


def format_row(row: Row) -> str:
    return "| " + " | ".join(row_cells(row)) + " |"


COLUMNS = ("target", "labelled min", "condition", "PER %", "WER %", "test OOV %", "steps", "train s", "final loss")
TABLE_HEADER = "| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|"
SSL_COLUMNS = ("target", "condition", "SSL steps", "PER %", "WER %", "total s")


def ssl_cells(row: "SelfSupervisedRow") -> tuple[str, ...]:
    return (row.target, row.condition, str(row.ssl_steps), rate(row.scores.per), rate(row.scores.wer), f"{row.seconds:.0f}")


@dataclass(frozen=True)
class SelfSupervisedRow:
    target: str
    condition: str
    ssl_steps: str
    scores: Scores
    seconds: float


def ssl_study(seen: Corpus, target: TargetLanguage, arguments: argparse.Namespace, work: Path) -> list[SelfSupervisedRow]:
    """Tiny wav2vec 2.0, phone CTC on the small label set: random init / multilingual SSL / + continued SSL on target audio."""
    folder = work / f"ssl-{target.code}"
    steps, continued_steps = arguments.ssl_steps, arguments.ssl_continue_steps
    print(f"wav2vec 2.0: SSL on {minutes(seen):.1f} min of seen audio ({steps} steps) ...", flush=True)
    base = self_supervised(SSL_CONFIG, seen, folder / "ssl-seen", steps, 1e-3, arguments.ssl_batch_seconds, arguments.seed, "seen")
    # The unlabelled target audio: the large training set (its labels unused); never the test audio.
    continued = self_supervised(base.checkpoint, target.large, folder / "ssl-continued", continued_steps, 5e-4,
                                arguments.ssl_batch_seconds, arguments.seed, "continued")
    # Control: as many further steps on the seen audio, so that "more SSL steps" is not mistaken for "target audio".
    control = self_supervised(base.checkpoint, seen, folder / "ssl-control", continued_steps, 5e-4,
                              arguments.ssl_batch_seconds, arguments.seed, "control")
    train = target.small
    vocabulary = build_vocabulary(train, "phones")
    settings = TrainingSettings(arguments.ssl_finetune_steps, 1e-3, max(1, arguments.ssl_finetune_steps // 10),
                                arguments.ssl_batch_seconds, arguments.seed)
    runs = [("wav2vec2 scratch", None, "0"), ("wav2vec2 SSL(seen) → FT", base, f"{base.steps}"),
            ("wav2vec2 SSL(seen) + more SSL(seen) → FT", control, f"{base.steps} + {control.steps}"),
            ("wav2vec2 SSL(seen) + SSL(target) → FT", continued, f"{base.steps} + {continued.steps}")]
    rows = []
    for condition, ssl_run, ssl_steps in runs:
        model = wav2vec2_for_ctc(None if ssl_run is None else ssl_run.checkpoint, vocabulary)
        trained = train_ctc(model, vocabulary, train, "phones", settings, folder / condition.replace(" ", "_"))
        scores = score_phone_model(trained, target, train, folder, arguments.lm_weight, arguments.word_score)
        row = SelfSupervisedRow(target.name, condition, ssl_steps, scores, trained.seconds + (ssl_run.seconds if ssl_run else 0))
        print("| " + " | ".join(ssl_cells(row)) + " |", flush=True)
        rows.append(row)
    return rows


def report_tables(rows: list[Row], ssl_rows: list[SelfSupervisedRow], seconds: float, data_notes: list[tuple[str, str]]) -> list[Table]:
    tables = [Table("Data", ("set", "what"), data_notes, f"Whole run: {seconds / 60:.1f} min wall clock, torch with {torch.get_num_threads()} thread(s)."),
              Table("Results: conformer CTC, same step budget in every condition", COLUMNS, [row_cells(row) for row in rows])]
    if ssl_rows:
        tables.append(Table("wav2vec 2.0 sub-study: continued self-supervised pretraining on unlabelled target audio", SSL_COLUMNS,
                            [ssl_cells(row) for row in ssl_rows]))
    return tables


def main(argv: Sequence[str] | None = None) -> tuple[list[Row], list[SelfSupervisedRow]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    work = arguments.work_dir or Path(tempfile.mkdtemp(prefix="fieldasr-crosslingual-"))
    work.mkdir(parents=True, exist_ok=True)
    seen_codes = arguments.seen.split(",")
    config = QUICK_CONFORMER if arguments.quick else BENCH_CONFORMER
    try:
        seen_labelled = synthetic_languages(seen_codes, work / "seen", arguments.seen_utterances, arguments.seed)
        seen = merge([labelled.corpus for labelled in seen_labelled.values()])
        targets = []
        for code, labelled in synthetic_languages(arguments.unseen.split(","), work / "unseen", arguments.unseen_utterances, arguments.seed).items():
            targets.append(split_by_text(labelled, code, f"{language(code).name} (synthetic)", arguments.test_texts,
                                         arguments.small_minutes, arguments.large_minutes, arguments.seed))
        if arguments.dutch:
            targets.append(dutch_target(arguments, work / "fillets"))
        data_notes = describe_data(seen_codes, seen, targets)
        print("\n".join(f"{name}: {what}" for name, what in data_notes), flush=True)
        texts = [segment.text or "" for segment in seen.segments]
        pieces = train_sentencepiece(texts, work / "seen-subwords", vocab_size=arguments.seen_subwords)
        pretrained = {"phones": pretrain(seen, "phones", arguments, config, work),
                      "subwords": pretrain(seen, "subwords", arguments, config, work, pieces)}
        print(TABLE_HEADER, flush=True)
        rows = [row for target in targets for amount in ("small", "large")
                for row in run_target(target, amount, pretrained, arguments, config, work)]
        write_report(rows, [], arguments, argv, time.perf_counter() - started, data_notes)  # kept if the sub-study fails
        ssl_rows = ssl_study(seen, targets[0], arguments, work) if arguments.ssl else []
    finally:
        if arguments.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    write_report(rows, ssl_rows, arguments, argv, time.perf_counter() - started, data_notes)
    return rows, ssl_rows


def write_report(rows: list[Row], ssl_rows: list[SelfSupervisedRow], arguments: argparse.Namespace, argv: Sequence[str],
                 seconds: float, data_notes: list[tuple[str, str]]) -> None:
    if str(arguments.output) == "-":
        return
    command = shlex.join(["PYTHONPATH=.", "python", "benchmarks/crosslingual.py", *argv])
    path = write_benchmark_doc(arguments.output, "Crosslingual benchmark (CV-Lang10 in miniature)",
                               report_tables(rows, ssl_rows, seconds, data_notes), command=command)
    print(f"wrote {path}", flush=True)


def merge(corpora: Sequence[Corpus]) -> Corpus:
    return Corpus({key: value for corpus in corpora for key, value in corpus.recordings.items()},
                  tuple(segment for corpus in corpora for segment in corpus.segments))


def describe_data(seen_codes: Sequence[str], seen: Corpus, targets: Sequence[TargetLanguage]) -> list[tuple[str, str]]:
    notes = [(f"seen languages ({len(seen_codes)})", f"{', '.join(seen_codes)}; {minutes(seen):.1f} min, {len(seen.segments)} utterances")]
    for target in targets:
        distinct = len({segment.text for segment in target.large.segments})
        notes.append((target.name, f"\"10 min\" = {minutes(target.small):.1f} min ({len(target.small.segments)} utt.), "
                     f"\"1 h\" = {minutes(target.large):.1f} min ({len(target.large.segments)} utt., {distinct} distinct texts), "
                     f"test {minutes(target.test):.1f} min ({len(target.test.segments)} utt. of held-out texts); "
                     f"{target.words_without_phones} word tokens without G2P phones"))
    return notes


if __name__ == "__main__":
    main()
