"""The demo's stages in order, each with a banner, its time and its key numbers; rerunning skips finished work."""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fieldasr.data import Corpus
from fieldasr.files import atomic_write_text
from fieldasr.g2p import load_spec
from fieldasr_examples.demo.corpus import DemoCorpus, build_corpus, is_built
from fieldasr_examples.demo.evaluation import evaluate_systems
from fieldasr.ssl.conformer_pretraining import small_conformer_options
from fieldasr_examples.demo.pretraining import DONE, pretrain_encoder
from fieldasr_examples.demo.results import DecodingResources, build_lexicon_and_lm, decode_test_set, transcribe_long_recording, write_reference
from fieldasr_examples.demo.settings import DemoSettings
from fieldasr_examples.demo.summary import DemoSummary, StageResult
from fieldasr_examples.demo.training import DemoError, train_multilingual, train_transfer, write_nearest_phones, zero_shot_bundle

ZERO_SHOT, TRANSFERRED = "multilingual-zero-shot", "transferred"
# The controls: the same chain with a random encoder, given the same CTC steps, or as many steps as the SSL chain
# takes in all (each SSL step costs about what a CTC step on the same audio does).
WITHOUT_SSL, WITHOUT_SSL_MATCHED = "-without-ssl", "-without-ssl-matched-steps"
SSL_LR, CONTINUED_SSL_LR = 1e-3, 5e-4  # peak; a continued run warms up again to a lower peak


@dataclass(frozen=True)
class DemoLayout:
    """Where every stage writes, under one output folder."""

    root: Path

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def experiments(self) -> Path:
        return self.root / "exp"

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    @property
    def decoding(self) -> Path:
        return self.root / "lm"

    @property
    def transcripts(self) -> Path:
        return self.root / "transcripts"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation"


class StageRunner:
    def __init__(self, total: int) -> None:
        self.total, self.results = total, []

    def run(self, title: str, already_done: bool, work: Callable[[], tuple[Any, dict[str, Any]]]) -> Any:
        number = len(self.results) + 1
        print(f"\n{'=' * 78}\n[{number}/{self.total}] {title}{' (already done: reusing it)' if already_done else ''}\n{'=' * 78}", flush=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        value, numbers = work()
        seconds = time.perf_counter() - started
        self.results.append(StageResult(title, seconds, time.process_time() - cpu_started, already_done, numbers))
        print(f"-> {title}: {seconds:.0f} s; " + ", ".join(f"{key} {value}" for key, value in numbers.items()), flush=True)
        return value


def run_demo(output: Path, settings: DemoSettings) -> DemoSummary:
    """Every stage of the demo under `output`; returns the summary (also written to output/summary.json)."""
    torch.set_num_threads(settings.torch_threads)
    layout = DemoLayout(output.resolve())
    check_same_settings(layout.root / "settings.json", settings)
    stages = StageRunner(total=10)
    corpus = stages.run("Corpus: espeak-ng speaks UDHR text (seen languages + target)", is_built(layout.corpus),
                        lambda: _corpus_stage(layout, settings))
    seen_ssl = layout.experiments / "ssl-seen"
    stages.run(f"Self-supervised pretraining of the Conformer on {', '.join(settings.seen_languages)} audio (no transcripts)",
               (seen_ssl / DONE).is_file(),
               lambda: _pretraining_stage(corpus.seen_train, seen_ssl, settings, settings.ssl_steps, SSL_LR, None))
    target_ssl = layout.experiments / "ssl-target"
    encoder = stages.run(f"Continued self-supervised pretraining on unlabelled {settings.target_language} audio",
                         (target_ssl / DONE).is_file(),
                         lambda: _pretraining_stage(corpus.target_unlabelled, target_ssl, settings, settings.continued_ssl_steps,
                                                    CONTINUED_SSL_LR, seen_ssl))
    multilingual = stages.run(f"Multilingual phone CTC on {', '.join(settings.seen_languages)}, encoder from the SSL stages",
                              (layout.bundles / "multilingual").exists(),
                              lambda: _multilingual_stage(layout, corpus, settings, "multilingual", settings.multilingual_steps, encoder))
    transferred, resources = stages.run(f"Transfer to {settings.target_language} with {corpus.minutes['target/train']:.1f} min of labels",
                                        (layout.bundles / settings.target_language).exists(),
                                        lambda: _transfer_stage(layout, corpus, multilingual, settings))
    matched_steps = settings.ssl_steps + settings.continued_ssl_steps + settings.multilingual_steps
    for suffix, steps, what in ((WITHOUT_SSL, settings.multilingual_steps, "the same CTC steps"),
                                (WITHOUT_SSL_MATCHED, matched_steps, "the SSL stages' steps too")):
        stages.run(f"Control: no SSL, multilingual CTC from scratch with {what} ({steps}), then transfer",
                   (layout.bundles / f"{settings.target_language}{suffix}").exists(),
                   lambda suffix=suffix, steps=steps: _without_ssl_stage(layout, corpus, settings, suffix, steps, resources))
    eaf = stages.run("Transcribe the long held-out recording into ELAN", (layout.transcripts / f"{corpus.long_recording.stem}.eaf").exists(),
                     lambda: _transcribe_stage(layout, corpus, transferred))
    hypotheses = stages.run("Decode the held-out test set (before transfer, after, and the controls without SSL)",
                            (layout.evaluation / "hypotheses" / f"{TRANSFERRED}{WITHOUT_SSL_MATCHED}" / "segments.jsonl.gz").is_file(),
                            lambda: _decode_stage(layout, corpus, settings))
    evaluation = stages.run("Evaluate: PER / WER / CER and training curves", False,
                            lambda: _evaluation_stage(layout, corpus, hypotheses, settings))
    rates = evaluation.rates
    summary = DemoSummary(
        output=layout.root, stages=tuple(stages.results),
        per_before_transfer=rates[ZERO_SHOT]["phone"], per_after_transfer=rates[TRANSFERRED]["phone"],
        wer_after_transfer=rates[TRANSFERRED]["word"], per_without_ssl=rates[f"{TRANSFERRED}{WITHOUT_SSL}"]["phone"],
        per_without_ssl_matched_steps=rates[f"{TRANSFERRED}{WITHOUT_SSL_MATCHED}"]["phone"],
        outputs={"corpus (manifests + wav)": layout.corpus, "experiments (logs, checkpoints)": layout.experiments,
                 "Conformer SSL checkpoint": encoder,
                 "multilingual bundle": multilingual, f"{settings.target_language} bundle (lexicon + LM)": transferred,
                 f"{settings.target_language} bundles without SSL": layout.bundles,
                 "lexicon and LM": layout.decoding, "ELAN transcription": eaf, "test-set hypotheses": layout.evaluation / "hypotheses",
                 "evaluation report": evaluation.report_html, "summary": layout.root / "summary.json"},
    )
    summary.write_json(layout.root / "summary.json")
    return summary


def check_same_settings(path: Path, settings: DemoSettings) -> None:
    """Finished stages are reused only by a run with the same settings; another run needs another folder."""
    wanted = json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True)
    if path.is_file() and json.loads(path.read_text(encoding="utf-8")) != json.loads(wanted):
        raise DemoError(f"{path.parent} holds a demo run with other settings ({path}); "
                        "choose another --output folder, or delete this one to start afresh.")
    atomic_write_text(path, wanted + "\n", make_parents=True)


def _corpus_stage(layout: DemoLayout, settings: DemoSettings) -> tuple[DemoCorpus, dict[str, Any]]:
    corpus = build_corpus(layout.corpus, settings)
    return corpus, {split: f"{minutes:.1f} min" for split, minutes in corpus.minutes.items()}


def _pretraining_stage(audio: Path, out_dir: Path, settings: DemoSettings, steps: int, lr: float,
                       init_from: Path | None) -> tuple[Path, dict[str, Any]]:
    encoder = pretrain_encoder(audio, out_dir, settings, steps, lr, init_from)
    accuracy = f"{_rounded(encoder.first_accuracy)} → {_rounded(encoder.last_accuracy)} (chance {1 / (1 + small_conformer_options(steps).num_negatives):.3f})"
    return encoder.checkpoint, {"steps": encoder.steps, "contrastive accuracy": accuracy,
                                "codebook perplexity": f"{encoder.perplexity:.0f} of 640" if encoder.perplexity is not None else None}


def _multilingual_stage(layout: DemoLayout, corpus: DemoCorpus, settings: DemoSettings, name: str, steps: int,
                        init_from: Path | None) -> tuple[Path, dict[str, Any]]:
    trained = train_multilingual(corpus.seen_train, corpus.seen_dev, layout.experiments / name, layout.bundles / name, settings,
                                 steps, init_from)
    return trained.bundle, {"steps": trained.optimizer_steps, "first loss": _rounded(trained.first_loss),
                            "last loss": _rounded(trained.last_loss), "dev PER": _rounded(trained.valid_metrics.get("token_error_rate"))}


def _transfer_stage(layout: DemoLayout, corpus: DemoCorpus, multilingual: Path, settings: DemoSettings) -> tuple[tuple[Path, Path], dict[str, Any]]:
    resources = build_lexicon_and_lm(corpus.target_train, corpus.target_test, layout.decoding, settings.target_spec)
    target = settings.target_language
    nearest = write_nearest_phones(multilingual, corpus.target_train, layout.experiments / "transfer" / "nearest_phones.yaml")
    zero_shot_bundle(multilingual, corpus.target_train, nearest, layout.bundles / f"{target}-zero-shot", layout.experiments / "zero-shot",
                     settings, resources.lexicon, resources.language_model)
    trained = train_transfer(multilingual, corpus.target_train, nearest, layout.experiments / "transfer", layout.bundles / target,
                             settings, load_spec(settings.target_spec).path, resources.lexicon, resources.language_model)
    return (trained.bundle, resources), {
        "steps": trained.optimizer_steps, "first loss": _rounded(trained.first_loss), "last loss": _rounded(trained.last_loss),
        "lexicon words": resources.words, "test words not in lexicon": f"{resources.test_words_out_of_lexicon:.0%}"}


def _without_ssl_stage(layout: DemoLayout, corpus: DemoCorpus, settings: DemoSettings, suffix: str, steps: int,
                       resources: DecodingResources) -> tuple[Path, dict[str, Any]]:
    """A control: the same multilingual and transfer recipes with a randomly initialised encoder, the multilingual
    stage given `steps`; everything it writes is named with `suffix`."""
    name = f"multilingual{suffix}"
    multilingual, numbers = _multilingual_stage(layout, corpus, settings, name, steps, None)
    target = f"{settings.target_language}{suffix}"
    nearest = write_nearest_phones(multilingual, corpus.target_train, layout.experiments / f"transfer{suffix}" / "nearest_phones.yaml")
    trained = train_transfer(multilingual, corpus.target_train, nearest, layout.experiments / f"transfer{suffix}",
                             layout.bundles / target, settings, load_spec(settings.target_spec).path, resources.lexicon,
                             resources.language_model)
    return trained.bundle, {"multilingual steps": numbers["steps"], "multilingual dev PER": numbers["dev PER"],
                            "transfer steps": trained.optimizer_steps, "last loss": _rounded(trained.last_loss)}


def _transcribe_stage(layout: DemoLayout, corpus: DemoCorpus, bundle: Path) -> tuple[Path, dict[str, Any]]:
    eaf = transcribe_long_recording(bundle, corpus.long_recording, layout.transcripts)
    reference = Corpus.load(corpus.long_reference)
    minutes = sum(recording.duration for recording in reference.recordings.values()) / 60
    return eaf, {"recording": f"{minutes:.1f} min", "reference utterances": len(reference.segments)}


def _decode_stage(layout: DemoLayout, corpus: DemoCorpus, settings: DemoSettings) -> tuple[dict[str, Path], dict[str, Any]]:
    folder = layout.evaluation / "hypotheses"
    target = settings.target_language
    hypotheses = {name: decode_test_set(layout.bundles / bundle, corpus.target_test, folder / name, use_beam=True)
                  for name, bundle in ((ZERO_SHOT, f"{target}-zero-shot"), (TRANSFERRED, target),
                                           *((f"{TRANSFERRED}{suffix}", f"{target}{suffix}") for suffix in (WITHOUT_SSL, WITHOUT_SSL_MATCHED)))}
    return hypotheses, {"utterances": len(Corpus.load(corpus.target_test).segments)}


def _evaluation_stage(layout: DemoLayout, corpus: DemoCorpus, hypotheses: dict[str, Path], settings: DemoSettings):
    reference = write_reference(corpus.target_test, layout.evaluation / "reference")
    result = evaluate_systems(reference, list(hypotheses.values()), layout.experiments / "transfer" / "log.csv", layout.evaluation, settings.bootstrap_resamples)
    numbers = {f"{unit} {system}": _rounded(rate) for system, units in result.rates.items() for unit, rate in units.items()}
    return result, numbers


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
