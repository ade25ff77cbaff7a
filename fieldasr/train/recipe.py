"""The CTC recipes' order of steps: data, vocabulary, model, batches, training.

Each step lives where it belongs (data: `fieldasr.train.data`; a new model: `fieldasr.models`; a model
started from a bundle: `fieldasr.train.output_transfer`; the batch sampler: `fieldasr.train.sampler_choice`).
`recipes/*/train.py` are thin wrappers around `main`; what differs between monolingual fine-tuning,
multilingual phone CTC and crosslingual transfer lives in their YAML files.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldasr.bundle import write_experiment_model
from fieldasr.data.dev_split import choose_dev_split
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_write_text
from fieldasr.models import model_from_settings
from fieldasr.text.normalise import Normaliser, normaliser_from_settings
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary
from fieldasr.train.config import record_experiment
from fieldasr.train.data import build_vocabulary, feasible_dataset, load_corpus, load_subword_model
from fieldasr.train.distributed import is_main_process, rank
from fieldasr.train.output_transfer import transfer_model
from fieldasr.train.pipeline import collate_ctc, prepare_ctc_examples
from fieldasr.train.recipe_config import CTCRecipe, as_ctc_recipe, ctc_settings, load_ctc_recipe
from fieldasr.train.sampler_choice import make_sampler
from fieldasr.train.tasks import CTCTask
from fieldasr.train.trainer import Trainer, TrainingSummary

logger = logging.getLogger(__name__)


def run_ctc_recipe(config: CTCRecipe | Mapping[str, Any], argv: Sequence[str] = ()) -> TrainingSummary:
    """Train as `config` says. A plain mapping is checked first; nothing is written before the checks pass."""
    recipe = as_ctc_recipe(config)
    experiment_dir, data, seed = Path(recipe.experiment_dir), recipe.data, recipe.trainer.seed
    normaliser = label_text_normaliser(data.normaliser, data.label_unit, data.g2p_spec)
    # The data is read and checked before the experiment folder exists: a corpus mistake leaves nothing behind.
    train_corpus = load_corpus(data.train, data.languages, data.label_unit)
    valid_corpus = load_corpus(data.valid, data.languages, data.label_unit) if data.valid else None
    subwords = load_subword_model(data.subword_model)
    # Of all the training data given, so that a rare token that lands in a held-out dev set still has its output.
    vocabulary = build_vocabulary(train_corpus, data.label_unit, subwords, normaliser)
    warn_without_word_boundaries(vocabulary, data.label_unit, data.train)
    if valid_corpus is None and data.valid_fraction > 0:
        split = choose_dev_split(train_corpus, data.valid_fraction, seed)
        if is_main_process():
            print(split.describe())
        train_corpus, valid_corpus = split.train, split.dev
    if is_main_process():  # under torchrun, one process writes the experiment's records
        record_experiment(experiment_dir, ctc_settings(recipe), argv)
        if data.valid is None and valid_corpus is not None:
            atomic_write_text(experiment_dir / "dev_segments.txt", "".join(f"{s.id}\n" for s in valid_corpus.segments))
    languages = sorted({segment.language or "und" for segment in train_corpus.segments})
    if recipe.transfer.init_from:
        model = transfer_model(recipe.transfer, vocabulary, experiment_dir)
    else:
        model = model_from_settings(recipe.model, len(vocabulary), languages)
        if recipe.model.init_from:
            from fieldasr.models.conformer_checkpoint import load_encoder_weights

            checkpoint = load_encoder_weights(model, recipe.model.init_from)
            if is_main_process():
                print(f"encoder weights from the SSL checkpoint {checkpoint}; the output layer is new")
    if hasattr(model, "freeze_encoder_steps"):  # the recipe's setting, also over the one a bundle was trained with
        model.freeze_encoder_steps = recipe.model.freeze_encoder_steps
    examples = prepare_ctc_examples(train_corpus, vocabulary, data.label_unit, subwords, normaliser)
    train_set = feasible_dataset(examples, model, data.speed_factors, "train", seed + rank())  # own draws per process
    valid_set = None
    if valid_corpus is not None:
        valid_examples = prepare_ctc_examples(valid_corpus, vocabulary, data.label_unit, subwords, normaliser)
        valid_set = feasible_dataset(valid_examples, model, (), "valid", seed)
    if is_main_process():
        write_experiment_model(experiment_dir, model, vocabulary, {
            "label_unit": data.label_unit, "language": data.language, "normaliser": normaliser.settings(),
            "g2p_spec": data.g2p_spec, "subword_model": data.subword_model,
        })
    pass_languages = bool(getattr(model, "adapters", None))
    trainer = Trainer(CTCTask(model, vocabulary, pass_languages=pass_languages), recipe.trainer, train_set, collate_ctc,
                      batch_sampler=make_sampler(data, train_set, seed), valid_set=valid_set)
    if is_main_process():
        print(f"training on {trainer.device}")
    if recipe.trainer.max_steps == 0:
        return save_untrained(trainer)
    return trainer.fit()


def label_text_normaliser(setting: Any, label_unit: str, g2p_spec: str | None) -> Normaliser:
    """The normaliser of the label text, recorded in the bundle for the words decoding reads (lexicon, LM text).
    Phone labels come from G2P, so without a setting it is the G2P spec's: the one that wrote the lexicon's words.
    Otherwise null: split at white space only."""
    if setting is None and label_unit == "phones" and g2p_spec is not None:
        from fieldasr.g2p import load_spec

        return load_spec(g2p_spec).normalization
    return normaliser_from_settings(setting)


def save_untrained(trainer: Trainer) -> TrainingSummary:
    """max_steps 0: the model as built (a bundle's output layer mapped onto the new labels: zero-shot) saved as a
    checkpoint, with everything a later run needs to resume, so that `fieldasr export` takes it."""
    brain = trainer.brain
    brain.on_fit_start()  # the optimizer, and the newest checkpoint when there is one (as fit() starts)
    if brain.optimizer_step == 0:
        brain.checkpointer.save_and_keep_only(meta={"optimizer_step": 0, "untrained": True}, num_to_keep=1)
    logger.warning("%s: max_steps is 0, so no training happened; the initial model is saved as a checkpoint.", trainer.experiment_dir)
    return TrainingSummary(optimizer_steps=brain.optimizer_step, epochs_completed=trainer.epoch_counter.current, step_losses=(),
                           valid_metrics={}, checkpoint_dir=trainer.experiment_dir / "checkpoints")


def warn_without_word_boundaries(vocabulary: Vocabulary, label_unit: str, train: Any) -> None:
    """Beam decoding with a lexicon needs the word boundary among the labels: say so before training, not after."""
    if label_unit != "subwords" and WORD_BOUNDARY not in vocabulary:
        logger.warning(
            "%s: the training labels have no word boundary %r, so this model can only be decoded greedily (no lexicon, "
            "no language model); `fieldasr export --lexicon/--lm` will refuse it. For phones, fill them with "
            "`fieldasr g2p --word-boundaries`.", train, WORD_BOUNDARY)


def run_recipe_file(hparams: str | Path, overrides: Sequence[str] = (), argv: Sequence[str] = ()) -> TrainingSummary:
    """A recipe file (or a shipped recipe's name, e.g. ctc/demo_en) with its `--set` overrides: every setting and
    named file checked before anything is written."""
    from fieldasr.resources import find_recipe

    recipe, _ = load_ctc_recipe(find_recipe(hparams), overrides)
    return run_ctc_recipe(recipe, argv)


def finished_message(summary: TrainingSummary) -> str:
    if summary.optimizer_steps == 0:
        return (f"done: no training happened (0 steps); the initial model (its output layer mapped, when started from a "
                f"bundle) is saved as a checkpoint in {summary.checkpoint_dir}, ready for `fieldasr export`")
    stopped = " (stopped early: no better validation score for the patience)" if summary.stopped_early_at_step is not None else ""
    averaged = f"; weights of the best checkpoints averaged into {summary.averaged_weights}" if summary.averaged_weights else ""
    message = (f"done: {summary.optimizer_steps} steps, {summary.epochs_completed} epochs{stopped}; "
               f"checkpoints in {summary.checkpoint_dir}{averaged}")
    infinite = int(summary.counts.get("infinite_ctc_losses", 0))
    if infinite:
        message += (f"\n{infinite} utterance(s) had an infinite CTC loss (fewer frames than their labels need) and were "
                    "not learnt from; see infinite_ctc_losses in log.csv.")
    if summary.skipped_nonfinite:
        message += f"\n{summary.skipped_nonfinite} batch(es) had a non-finite loss; their steps were skipped."
    return message


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
    summary = run_recipe_file(arguments.hparams, arguments.overrides, [sys.argv[0], *argv])
    print(finished_message(summary))
    return summary
