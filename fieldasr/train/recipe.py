"""The CTC recipes' steps, one function each: data, vocabulary, model, batches, training.

`recipes/*/train.py` are thin wrappers around `main`; what differs between monolingual fine-tuning,
multilingual phone CTC and crosslingual transfer lives in their YAML files.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from fieldasr.bundle import load_bundle, write_experiment_model
from fieldasr.data import Corpus
from fieldasr.errors import FieldasrError, ManifestError
from fieldasr.models import ConformerConfig, ConformerCTC, Wav2Vec2CTC
from fieldasr.models.output_transfer import transfer_output_layer
from fieldasr.text import Vocabulary
from fieldasr.text.normalise import Normaliser, normaliser_from_settings
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.train.batching import LanguageBalancedBatchSampler, batching_report, duration_batch_sampler
from fieldasr.train.config import ConfigError, record_experiment
from fieldasr.train.pipeline import (
    SpeechDataset, SpeechExample, collate_ctc, filter_ctc_feasible, prepare_ctc_examples, segment_tokens,
)
from fieldasr.train.tasks import CTCTask
from fieldasr.train.recipe_config import (
    CTCRecipe, DataSection, ModelSection, TransferSection, as_ctc_recipe, ctc_settings,
    load_ctc_recipe,
)
from fieldasr.train.trainer import Trainer, TrainingSummary


def load_corpus(folder: str | Path, languages: Sequence[str] | None, label_unit: str) -> Corpus:
    corpus = Corpus.load(folder)
    corpus.validate(require_text=label_unit == "characters")
    without_phones = [segment.id for segment in corpus.segments if label_unit == "phones" and not segment.phones]
    if without_phones:
        raise ManifestError(
            f"{folder}: {len(without_phones)} of {len(corpus.segments)} segments have no phones (e.g. {without_phones[0]!r}), "
            f"but this recipe trains on phones. Add them with `fieldasr g2p --spec LANGUAGE --word-boundaries --manifest SEGMENTS --out SEGMENTS` "
            "(SEGMENTS: the folder's segments.jsonl.gz), "
            "or train on characters (--set data.label_unit=characters)."
        )
    if languages:
        corpus = Corpus(corpus.recordings, tuple(s for s in corpus.segments if s.language in set(languages)))
    return corpus


def build_vocabulary(corpus: Corpus, label_unit: str, subword_model: Any = None, normaliser: Normaliser | None = None) -> Vocabulary:
    """From the training data only, so the test set never leaks into the model."""
    return Vocabulary.build(segment_tokens(segment, label_unit, subword_model, normaliser) for segment in corpus.segments)


def load_subword_model(path: str | None) -> Any:
    if path is None:
        return None
    import sentencepiece

    if not Path(path).is_file():
        raise ConfigError(f"{path}: sentencepiece model (data.subword_model) not found.")
    return sentencepiece.SentencePieceProcessor(model_file=str(path))


def build_model(section: ModelSection, vocabulary: Vocabulary, train_languages: Sequence[str]) -> torch.nn.Module:
    """The model of a checked `model:` section (its `config` already complete: see `checked_model`)."""
    if section.architecture == "conformer_ctc":
        return ConformerCTC(ConformerConfig(**section.config), len(vocabulary))
    adapters = section.adapter_languages
    options = {
        "freeze_feature_encoder": section.freeze_feature_encoder,
        "freeze_encoder_steps": section.freeze_encoder_steps,
        "adapter_languages": sorted(set(train_languages)) if adapters == "auto" else list(adapters),
    }
    if section.pretrained:
        model = Wav2Vec2CTC.from_pretrained(section.pretrained, len(vocabulary), **options)
    else:
        model = Wav2Vec2CTC(dict(section.config), len(vocabulary), **options)
    if section.train_only_adapters:
        model.train_only_adapters_and_head()
    return model


def nearest_known_phones(source: Vocabulary, target: Vocabulary) -> dict[str, Any]:
    """Each target phone the source model lacks → its panphon feature-nearest source phone (Whistle+features)."""
    from fieldasr.g2p.inventory import map_to_inventory

    specials = {source.tokens[0], "<unk>", WORD_BOUNDARY}
    unseen = [token for token in target.tokens if token not in source and token not in specials]
    known = [token for token in source.tokens if token not in specials]
    return {phone: match for phone, match in map_to_inventory(unseen, known).items() if match.phone is not None}


def transfer_model(section: TransferSection | Mapping[str, Any], vocabulary: Vocabulary, experiment_dir: Path) -> torch.nn.Module:
    """Start from a bundle; its output layer is mapped onto the new vocabulary (report in the experiment folder)."""
    if isinstance(section, Mapping):
        section = TransferSection(**section)
    bundle = load_bundle(section.init_from)
    if section.nearest_phones:
        nearest = read_nearest_phones(Path(section.nearest_phones))
    else:
        nearest = nearest_known_phones(bundle.vocabulary, vocabulary)
    head, report = transfer_output_layer(bundle.model.head, bundle.vocabulary, vocabulary, nearest)
    bundle.model.set_output_layer(head)
    (experiment_dir / "output_transfer.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    print(report.summary())
    return bundle.model.train()


def read_nearest_phones(path: Path) -> dict[str, Any]:
    try:
        nearest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} (transfer.nearest_phones): not valid YAML ({error}).") from None
    if not isinstance(nearest, dict):
        raise ConfigError(f"{path} (transfer.nearest_phones): expected lines `new_phone: [known_phone, distance]`.")
    return nearest


def feasible_dataset(examples: list[SpeechExample], model: torch.nn.Module, speed_factors: Sequence[float], name: str, seed: int) -> SpeechDataset:
    kept, report = filter_ctc_feasible(examples, model.frame_lengths, fastest_speed=max([1.0, *speed_factors]))
    print(f"{name}: {report.summary()}")
    if not kept:
        raise ConfigError(f"{name}: no utterance is long enough for its labels; check the segmentation (see above).")
    return SpeechDataset(kept, speed_factors, seed=seed)


def make_sampler(data: DataSection, dataset: SpeechDataset, seed: int) -> Any:
    max_duration = data.max_batch_duration
    if data.language_balance_alpha is not None:
        sampler = LanguageBalancedBatchSampler(dataset.durations, dataset.languages, max_duration, data.language_balance_alpha, seed=seed)
        batches = sampler.batches
    else:
        sampler = duration_batch_sampler(dataset.durations, max_duration, data.num_buckets, seed=seed)
        batches = list(sampler._batches)
    report = batching_report(batches, dataset.durations, max_duration)
    print(f"batches: {report.num_batches}, padding {report.padding_ratio:.1%}, {report.mean_batch_duration:.1f} s of audio per batch")
    return sampler


def run_ctc_recipe(config: CTCRecipe | Mapping[str, Any], argv: Sequence[str] = ()) -> TrainingSummary:
    """Train as `config` says. A plain mapping is checked first; nothing is written before the checks pass."""
    recipe = as_ctc_recipe(config)
    experiment_dir, data, seed = Path(recipe.experiment_dir), recipe.data, recipe.trainer.seed
    normaliser = normaliser_from_settings(data.normaliser)  # of label text; null: split at white space only
    # The data is read and checked before the experiment folder exists: a corpus mistake leaves nothing behind.
    train_corpus = load_corpus(data.train, data.languages, data.label_unit)
    valid_corpus = load_corpus(data.valid, data.languages, data.label_unit) if data.valid else None
    subwords = load_subword_model(data.subword_model)
    vocabulary = build_vocabulary(train_corpus, data.label_unit, subwords, normaliser)
    record_experiment(experiment_dir, ctc_settings(recipe), argv)
    languages = sorted({segment.language or "und" for segment in train_corpus.segments})
    if recipe.transfer.init_from:
        model = transfer_model(recipe.transfer, vocabulary, experiment_dir)
    else:
        model = build_model(recipe.model, vocabulary, languages)
    examples = prepare_ctc_examples(train_corpus, vocabulary, data.label_unit, subwords, normaliser)
    train_set = feasible_dataset(examples, model, data.speed_factors, "train", seed)
    valid_set = None
    if valid_corpus is not None:
        valid_examples = prepare_ctc_examples(valid_corpus, vocabulary, data.label_unit, subwords, normaliser)
        valid_set = feasible_dataset(valid_examples, model, (), "valid", seed)
    write_experiment_model(experiment_dir, model, vocabulary, {
        "label_unit": data.label_unit, "language": data.language, "normaliser": normaliser.settings(), "g2p_spec": data.g2p_spec,
        "subword_model": data.subword_model,
    })
    pass_languages = bool(getattr(model, "adapters", None))
    trainer = Trainer(CTCTask(model, vocabulary, pass_languages=pass_languages), recipe.trainer, train_set, collate_ctc,
                      batch_sampler=make_sampler(data, train_set, seed), valid_set=valid_set)
    return trainer.fit()


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a CTC model from a recipe YAML.")
    parser.add_argument("hparams", type=Path, help="the recipe's YAML (a base file or a per-language override)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set trainer.lr=0.001 (repeatable)")
    return parser.parse_args(argv)


def exit_on_user_error(run: Callable[[], Any]) -> Any:
    """For `recipes/*/train.py`: a mistake in the recipe ends with its message and exit code 2, not a traceback."""
    try:
        return run()
    except FieldasrError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> TrainingSummary:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parse_arguments(argv)
    recipe, _ = load_ctc_recipe(arguments.hparams, arguments.overrides)
    summary = run_ctc_recipe(recipe, [sys.argv[0], *argv])
    print(f"done: {summary.optimizer_steps} steps, {summary.epochs_completed} epochs; checkpoints in {summary.checkpoint_dir}")
    return summary
