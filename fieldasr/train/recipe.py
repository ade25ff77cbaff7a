"""The CTC recipes' steps, one function each: data, vocabulary, model, batches, training.

`recipes/*/train.py` are thin wrappers around `main`; what differs between monolingual fine-tuning,
multilingual phone CTC and crosslingual transfer lives in their YAML files.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from fieldasr.bundle import load_bundle, write_experiment_model
from fieldasr.data import Corpus
from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerConfig, ConformerCTC, Wav2Vec2CTC
from fieldasr.models.output_transfer import transfer_output_layer
from fieldasr.text import Vocabulary
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.train.batching import LanguageBalancedBatchSampler, batching_report, duration_batch_sampler
from fieldasr.train.config import ConfigError, load_config, record_experiment
from fieldasr.train.pipeline import (
    SpeechDataset, SpeechExample, collate_ctc, filter_ctc_feasible, prepare_ctc_examples, segment_tokens,
)
from fieldasr.train.tasks import CTCTask
from fieldasr.train.trainer import Trainer, TrainerOptions, TrainingSummary

WAV2VEC2_SIZES: dict[str, dict[str, Any]] = {"tiny": TINY_WAV2VEC2, "base": {}}  # base: transformers' defaults (95 M)
CONFORMER_SIZES: dict[str, ConformerConfig] = {"tiny": TINY_CONFORMER, "small": ConformerConfig()}


def load_corpus(folder: str | Path, languages: Sequence[str] | None, label_unit: str) -> Corpus:
    corpus = Corpus.load(folder)
    corpus.validate(require_text=label_unit == "characters")
    if languages:
        corpus = Corpus(corpus.recordings, tuple(s for s in corpus.segments if s.language in set(languages)))
    return corpus


def build_vocabulary(corpus: Corpus, label_unit: str, subword_model: Any = None) -> Vocabulary:
    """From the training data only, so the test set never leaks into the model."""
    return Vocabulary.build(segment_tokens(segment, label_unit, subword_model) for segment in corpus.segments)


def load_subword_model(path: str | None) -> Any:
    if path is None:
        return None
    import sentencepiece

    if not Path(path).is_file():
        raise ConfigError(f"{path}: sentencepiece model (data.subword_model) not found.")
    return sentencepiece.SentencePieceProcessor(model_file=str(path))


def build_model(section: Mapping[str, Any], vocabulary: Vocabulary, train_languages: Sequence[str]) -> torch.nn.Module:
    architecture = section.get("architecture", "conformer_ctc")
    size = section.get("size", "tiny")
    if architecture == "conformer_ctc":
        if size not in CONFORMER_SIZES:
            raise ConfigError(f"model.size {size!r} is not one of {sorted(CONFORMER_SIZES)} for conformer_ctc.")
        config = dataclasses.replace(CONFORMER_SIZES[size], **section.get("config", {}))
        return ConformerCTC(config, len(vocabulary))
    if architecture != "wav2vec2_ctc":
        raise ConfigError(f"model.architecture {architecture!r} is not conformer_ctc or wav2vec2_ctc.")
    adapters = section.get("adapter_languages") or []
    options = {
        "freeze_feature_encoder": section.get("freeze_feature_encoder", True),
        "freeze_encoder_steps": section.get("freeze_encoder_steps", 0),
        "adapter_languages": sorted(set(train_languages)) if adapters == "auto" else adapters,
    }
    if section.get("pretrained"):
        model = Wav2Vec2CTC.from_pretrained(section["pretrained"], len(vocabulary), **options)
    else:
        if size not in WAV2VEC2_SIZES:
            raise ConfigError(f"model.size {size!r} is not one of {sorted(WAV2VEC2_SIZES)} for wav2vec2_ctc.")
        model = Wav2Vec2CTC({**WAV2VEC2_SIZES[size], **section.get("config", {})}, len(vocabulary), **options)
    if section.get("train_only_adapters"):
        model.train_only_adapters_and_head()
    return model


def nearest_known_phones(source: Vocabulary, target: Vocabulary) -> dict[str, Any]:
    """Each target phone the source model lacks → its panphon feature-nearest source phone (Whistle+features)."""
    from fieldasr.g2p.inventory import map_to_inventory

    specials = {source.tokens[0], "<unk>", WORD_BOUNDARY}
    unseen = [token for token in target.tokens if token not in source and token not in specials]
    known = [token for token in source.tokens if token not in specials]
    return {phone: match for phone, match in map_to_inventory(unseen, known).items() if match.phone is not None}


def transfer_model(section: Mapping[str, Any], vocabulary: Vocabulary, experiment_dir: Path) -> torch.nn.Module:
    """Start from a bundle; its output layer is mapped onto the new vocabulary (report in the experiment folder)."""
    bundle = load_bundle(section["init_from"])
    if section.get("nearest_phones"):
        nearest = yaml.safe_load(Path(section["nearest_phones"]).read_text(encoding="utf-8")) or {}
    else:
        nearest = nearest_known_phones(bundle.vocabulary, vocabulary)
    head, report = transfer_output_layer(bundle.model.head, bundle.vocabulary, vocabulary, nearest)
    bundle.model.set_output_layer(head)
    (experiment_dir / "output_transfer.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    print(report.summary())
    return bundle.model.train()


def feasible_dataset(examples: list[SpeechExample], model: torch.nn.Module, speed_factors: Sequence[float], name: str, seed: int) -> SpeechDataset:
    kept, report = filter_ctc_feasible(examples, model.frame_lengths, fastest_speed=max([1.0, *speed_factors]))
    print(f"{name}: {report.summary()}")
    if not kept:
        raise ConfigError(f"{name}: no utterance is long enough for its labels; check the segmentation (see above).")
    return SpeechDataset(kept, speed_factors, seed=seed)


def make_sampler(data: Mapping[str, Any], dataset: SpeechDataset, seed: int) -> Any:
    max_duration = float(data.get("max_batch_duration", 60.0))
    if data.get("language_balance_alpha") is not None:
        sampler = LanguageBalancedBatchSampler(dataset.durations, dataset.languages, max_duration, float(data["language_balance_alpha"]), seed=seed)
        batches = sampler.batches
    else:
        sampler = duration_batch_sampler(dataset.durations, max_duration, seed=seed)
        batches = sampler.batches
    report = batching_report(batches, dataset.durations, max_duration)
    print(f"batches: {report.num_batches}, padding {report.padding_ratio:.1%}, {report.mean_batch_duration:.1f} s of audio per batch")
    return sampler


def run_ctc_recipe(config: Mapping[str, Any], argv: Sequence[str] = ()) -> TrainingSummary:
    experiment_dir = Path(config["experiment_dir"])
    record_experiment(experiment_dir, config, argv)
    data, model_section, trainer_section = config["data"], config.get("model", {}), dict(config.get("trainer", {}))
    seed = int(trainer_section.get("seed", 1234))
    unit = data.get("label_unit", "phones")
    train_corpus = load_corpus(data["train"], data.get("languages"), unit)
    subwords = load_subword_model(data.get("subword_model"))
    vocabulary = build_vocabulary(train_corpus, unit, subwords)
    languages = sorted({segment.language or "und" for segment in train_corpus.segments})
    transfer = config.get("transfer") or {}
    if transfer.get("init_from"):
        model = transfer_model(transfer, vocabulary, experiment_dir)
    else:
        model = build_model(model_section, vocabulary, languages)
    speed_factors = data.get("speed_factors") or []
    train_set = feasible_dataset(prepare_ctc_examples(train_corpus, vocabulary, unit, subwords), model, speed_factors, "train", seed)
    valid_set = None
    if data.get("valid"):
        valid_corpus = load_corpus(data["valid"], data.get("languages"), unit)
        valid_set = feasible_dataset(prepare_ctc_examples(valid_corpus, vocabulary, unit, subwords), model, (), "valid", seed)
    write_experiment_model(experiment_dir, model, vocabulary, {
        "label_unit": unit, "language": data.get("language"), "normaliser": data.get("normaliser"), "g2p_spec": data.get("g2p_spec"),
        "subword_model": data.get("subword_model"),
    })
    known = {field.name for field in dataclasses.fields(TrainerOptions)} - {"experiment_dir"}
    unknown = sorted(set(trainer_section) - known)
    if unknown:
        raise ConfigError(f"unknown trainer setting(s) {unknown}; known: {sorted(known)}.")
    if "log_formats" in trainer_section:
        trainer_section["log_formats"] = tuple(trainer_section["log_formats"])
    options = TrainerOptions(experiment_dir=experiment_dir, **trainer_section)
    pass_languages = bool(getattr(model, "adapters", None))
    trainer = Trainer(CTCTask(model, vocabulary, pass_languages=pass_languages), options, train_set, collate_ctc,
                      batch_sampler=make_sampler(data, train_set, seed), valid_set=valid_set)
    return trainer.fit()


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a CTC model from a recipe YAML.")
    parser.add_argument("hparams", type=Path, help="the recipe's YAML (a base file or a per-language override)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set trainer.lr=0.001 (repeatable)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> TrainingSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    config = load_config(arguments.hparams, arguments.overrides)
    summary = run_ctc_recipe(config, [sys.argv[0], *argv])
    print(f"done: {summary.optimizer_steps} steps, {summary.epochs_completed} epochs; checkpoints in {summary.checkpoint_dir}")
    return summary
