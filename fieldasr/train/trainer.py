"""One Trainer for every task, built on SpeechBrain's `Brain`.

Brain already does the loops, mixed precision, gradient accumulation and clipping, non-finite loss
handling, DDP wrapping, intra-epoch checkpoints and mid-epoch resumption (the saveable data loader
skips the batches already seen, and samplers re-create the same order from their seed and epoch).
This module adds: a typed options dataclass, the task contract (`forward(batch) -> TaskOutput`),
weighted statistics, a long-format CSV log, keep-best-N checkpoints, a learning-rate warm-up, early stopping
on the validation metric, averaging of the best checkpoints, clear errors for out-of-memory batches and for
checkpoints of another architecture.
"""
from __future__ import annotations

import csv
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
import typing
from typing import Any, Literal

import speechbrain as sb
import torch
import yaml
from speechbrain.core import INTRA_EPOCH_CKPT_FLAG
from speechbrain.utils.checkpoints import Checkpointer, mark_as_loader, mark_as_saver, register_checkpoint_hooks
from speechbrain.utils.epoch_loop import EpochCounter

from fieldasr.errors import FieldasrError
from fieldasr.train.averaging import average_checkpoints
from fieldasr.train.batching import ShardedBatchSampler
from fieldasr.train.schedule import warmup_decay_schedule
from fieldasr.train.task import TaskOutput, move_to_device

logger = logging.getLogger(__name__)
Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS = typing.get_args(Precision)
ValidMetric = Callable[[torch.nn.Module, Any], Mapping[str, float]]


class TrainingError(FieldasrError):
    """Training cannot go on as configured (memory, checkpoints, options)."""


@dataclass(frozen=True)
class TrainerOptions:
    experiment_dir: Path
    lr: float = 1e-3
    optimizer: Literal["adamw", "sgd"] = "adamw"
    weight_decay: float = 0.0
    warmup_steps: int = 0  # linear warm-up of the learning rate, in optimizer steps
    lr_decay: Literal["none", "linear"] = "none"  # "none": constant after warm-up; "linear": to zero at max_steps
    max_epochs: int = 1
    max_steps: int | None = None  # optimizer steps; stops mid-epoch when reached
    grad_accumulation: int = 1
    clip_norm: float = 5.0
    precision: Precision = "fp32"  # fp16 only on CUDA
    device: str = "cpu"
    checkpoint_interval_minutes: float = 15.0
    checkpoint_interval_steps: int = 0  # when > 0, used instead of minutes (handy on tiny data)
    keep_best: int = 1
    valid_metric: str = "loss"  # a key of the task's stats or validation metrics
    valid_metric_mode: Literal["min", "max"] = "min"
    log_formats: tuple[Literal["csv", "tensorboard"], ...] = ("csv",)
    log_interval_steps: int = 10
    seed: int = 1234
    progress_bar: bool = True
    nonfinite_patience: int = 3
    early_stopping_patience_steps: int = 0  # stop when valid_metric has not improved for this many optimizer steps; 0: off
    average_best_checkpoints: int = 0  # at the end, average the weights of this many best checkpoints (<= keep_best); 0 or 1: off
    num_workers: int = 0
    valid_batch_size: int = 8

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise TrainingError(f"precision {self.precision!r} is not one of {PRECISIONS}.")
        if self.precision == "fp16" and not self.device.startswith("cuda"):
            raise TrainingError("precision fp16 needs a CUDA device; on CPU use bf16 or fp32.")
        if self.optimizer not in ("adamw", "sgd"):
            raise TrainingError(f"optimizer {self.optimizer!r} is not 'adamw' or 'sgd'.")
        if self.valid_metric_mode not in ("min", "max"):
            raise TrainingError(f"valid_metric_mode must be 'min' or 'max', not {self.valid_metric_mode!r}.")
        if self.grad_accumulation < 1 or self.max_epochs < 1 or self.keep_best < 1:
            raise TrainingError("grad_accumulation, max_epochs and keep_best must be at least 1.")
        if self.early_stopping_patience_steps < 0 or self.average_best_checkpoints < 0:
            raise TrainingError("early_stopping_patience_steps and average_best_checkpoints must be 0 (off) or more.")
        if self.average_best_checkpoints > self.keep_best:
            raise TrainingError(f"average_best_checkpoints ({self.average_best_checkpoints}) needs as many checkpoints kept: "
                                f"set keep_best to at least {self.average_best_checkpoints}.")
        if self.lr_decay not in ("none", "linear"):
            raise TrainingError(f"lr_decay must be 'none' or 'linear', not {self.lr_decay!r}.")
        if self.lr_decay == "linear" and (self.max_steps is None or self.max_steps <= self.warmup_steps):
            raise TrainingError("lr_decay 'linear' decays to zero at max_steps: set max_steps above warmup_steps.")
        unknown = set(self.log_formats) - {"csv", "tensorboard"}
        if unknown:
            raise TrainingError(f"unknown log format(s) {sorted(unknown)}; use 'csv' and/or 'tensorboard'.")


@dataclass(frozen=True)
class TrainingSummary:
    optimizer_steps: int
    epochs_completed: int
    step_losses: tuple[float, ...]  # training loss of each optimizer step of this run (after resumption: the new ones)
    valid_metrics: Mapping[str, float]  # of the last validation
    checkpoint_dir: Path
    skipped_nonfinite: int = 0
    stopped_early_at_step: int | None = None  # the step early stopping ended training at; None: it did not
    averaged_weights: Path | None = None  # the task weights averaged over the best checkpoints, when averaging is on


@dataclass
class _WeightedAverage:
    sums: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    def add(self, values: Mapping[str, float], weight: float) -> None:
        for name, value in values.items():
            if math.isfinite(float(value)):
                self.sums[name] = self.sums.get(name, 0.0) + float(value) * weight
                self.weights[name] = self.weights.get(name, 0.0) + weight

    def averages(self) -> dict[str, float]:
        names = sorted(self.sums)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # Every rank saw a different shard: add the sums before dividing.
            totals = torch.tensor([[self.sums[n], self.weights[n]] for n in names], dtype=torch.float64).reshape(-1, 2)
            torch.distributed.all_reduce(totals)
            return {name: float(s / w) for name, (s, w) in zip(names, totals.tolist()) if w > 0}
        return {name: self.sums[name] / self.weights[name] for name in names if self.weights[name] > 0}


class MetricLog:
    """Long-format CSV (`stage, epoch, step, name, value`) and optional TensorBoard scalars, main process only."""

    def __init__(self, folder: Path, formats: tuple[str, ...]) -> None:
        self.csv_path = folder / "log.csv" if "csv" in formats else None
        self.tensorboard = None
        if "tensorboard" in formats and sb.utils.distributed.if_main_process():
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise TrainingError("log format 'tensorboard' needs the tensorboard package: pip install tensorboard.") from error
            self.tensorboard = SummaryWriter(str(folder / "tensorboard"))

    def write(self, stage: str, epoch: int, step: int, values: Mapping[str, float]) -> None:
        if not sb.utils.distributed.if_main_process():
            return
        if self.csv_path is not None:
            new_file = not self.csv_path.exists()
            with open(self.csv_path, "a", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                if new_file:
                    writer.writerow(["time", "stage", "epoch", "step", "name", "value"])
                for name, value in values.items():
                    writer.writerow([f"{time.time():.1f}", stage, epoch, step, name, f"{value:.6g}"])
        if self.tensorboard is not None:
            for name, value in values.items():
                self.tensorboard.add_scalar(f"{stage}/{name}", value, step)
            self.tensorboard.flush()


def _batch_duration(batch: Any) -> float | None:
    durations = batch.get("durations") if isinstance(batch, Mapping) else getattr(batch, "durations", None)
    return None if durations is None else float(torch.as_tensor(durations).sum())


@register_checkpoint_hooks
class StoppingEpochCounter(EpochCounter):
    """SpeechBrain's epoch counter, which also stops once the validation metric has not improved for `patience_steps`
    optimizer steps (a patience in steps means the same wait on 10 minutes of data as on 10 hours). The wait starts
    at the first improvement, so a model still on CTC's blank plateau (error rate 100 %) is not stopped. Its state
    is saved with each checkpoint, so a resumed run keeps the best score and a stopped run stays stopped."""

    def __init__(self, limit: int, patience_steps: int, mode: str) -> None:
        super().__init__(limit)
        self.patience_steps, self.mode = patience_steps, mode
        self.best_score: float | None = None
        self.best_step = 0
        self.improved = False  # on the first validation's score
        self.stopped_at_step: int | None = None

    def __next__(self) -> int:
        if self.stopped_at_step is not None:
            raise StopIteration
        return super().__next__()

    def update_metric(self, score: float, step: int) -> None:
        better = self.best_score is None or (score < self.best_score if self.mode == "min" else score > self.best_score)
        if better:
            self.improved = self.best_score is not None
            self.best_score, self.best_step = score, step
        elif self.improved and self.patience_steps and step - self.best_step >= self.patience_steps:
            self.stopped_at_step = step
            logger.info("early stopping at step %d: no better validation score since step %d", step, self.best_step)

    @mark_as_saver
    def _save(self, path: Path) -> None:
        state = {"current_epoch": self.current, "best_score": self.best_score, "best_step": self.best_step,
                 "improved": self.improved, "stopped_at_step": self.stopped_at_step}
        Path(path).write_text(yaml.safe_dump(state), encoding="utf-8")

    @mark_as_loader
    def _recover(self, path: Path, end_of_epoch: bool = True, device: Any = None) -> None:
        state = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if isinstance(state, int):  # a checkpoint written by the plain EpochCounter before early stopping existed
            state = {"current_epoch": state}
        self.current = state["current_epoch"] if end_of_epoch else state["current_epoch"] - 1
        self.best_score, self.best_step = state.get("best_score"), state.get("best_step", 0)
        self.improved = state.get("improved", False)
        self.stopped_at_step = state.get("stopped_at_step")


@dataclass(frozen=True)
class _BrainContext:
    options: TrainerOptions
    epoch_counter: StoppingEpochCounter
    valid_metric_fn: ValidMetric | None
    has_validation: bool
    metric_log: MetricLog


class _TaskBrain(sb.Brain):
    """Brain whose forward is `task(batch)`; everything task-specific stays in the task."""

    def __init__(self, context: _BrainContext, **brain_arguments: Any) -> None:
        super().__init__(**brain_arguments)
        self.options, self.epoch_counter, self.metric_log = context.options, context.epoch_counter, context.metric_log
        self.valid_metric_fn, self.has_validation = context.valid_metric_fn, context.has_validation
        self.step_losses: list[float] = []
        self.skipped_nonfinite = 0
        self.last_train: dict[str, float] = {}
        self.last_valid: dict[str, float] = {}
        self.last_test: dict[str, float] = {}

    def compute_forward(self, batch: Any, stage: sb.Stage) -> TaskOutput:
        batch = move_to_device(batch, self.device)
        task = self.raw_task
        if stage == sb.Stage.TRAIN and hasattr(task, "set_training_step"):
            task.set_training_step(self.optimizer_step)
        output = self.modules.task(batch)
        if not isinstance(output, TaskOutput):
            raise TrainingError(f"{type(task).__name__}.forward must return a TaskOutput, got {type(output).__name__}.")
        self.stage_stats.add({"loss": float(output.loss.detach()), **output.stats}, output.weight)
        if stage != sb.Stage.TRAIN and self.valid_metric_fn is not None:
            self.stage_stats.add(self.valid_metric_fn(task, batch), output.weight)
        return output

    def compute_objectives(self, output: TaskOutput, batch: Any, stage: sb.Stage) -> torch.Tensor:
        return output.loss

    @property
    def raw_task(self) -> torch.nn.Module:
        return getattr(self.modules.task, "module", self.modules.task)

    def fit_batch(self, batch: Any) -> torch.Tensor:
        try:
            loss = super().fit_batch(batch)
        except torch.OutOfMemoryError as error:
            duration = _batch_duration(batch)
            what = f"a batch of {duration:.1f} s of audio" if duration is not None else "a batch"
            raise TrainingError(
                f"out of memory on {what} at step {self.optimizer_step}. Lower the maximum batch duration "
                f"(max_batch_duration){f', e.g. to {duration / 2:.0f} s' if duration else ''}, or use gradient accumulation."
            ) from error
        if not torch.isfinite(loss):
            self.skipped_nonfinite += 1
        return loss

    def init_optimizers(self) -> None:
        options: TrainerOptions = self.options
        parameters = [p for p in self.modules.parameters() if p.requires_grad]
        if options.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(parameters, lr=options.lr, weight_decay=options.weight_decay)
        else:
            self.optimizer = torch.optim.AdamW(parameters, lr=options.lr, weight_decay=options.weight_decay)
        decay_end = options.max_steps if options.lr_decay == "linear" else None
        self.scheduler = warmup_decay_schedule(self.optimizer, options.warmup_steps, decay_end)
        self.optimizers_dict = {"optimizer": self.optimizer}
        self.checkpointer.add_recoverable("optimizer", self.optimizer)
        self.checkpointer.add_recoverable("scheduler", self.scheduler)

    def on_fit_start(self) -> None:
        try:
            super().on_fit_start()
        except RuntimeError as error:
            if "state_dict" not in str(error):
                raise
            raise TrainingError(
                f"the checkpoint in {self.checkpointer.checkpoints_dir} does not fit this model "
                f"(another architecture or vocabulary?): {error}\nUse a new experiment folder, or the same model settings."
            ) from error

    def on_stage_start(self, stage: sb.Stage, epoch: int | None = None) -> None:
        self.stage_stats = _WeightedAverage()
        self.interval_stats = _WeightedAverage()
        self.interval_start = len(self.step_losses)

    def on_fit_batch_end(self, batch: Any, outputs: TaskOutput, loss: torch.Tensor, should_step: bool) -> None:
        self.interval_stats.add({"loss": float(loss.detach()), **outputs.stats}, outputs.weight)
        if not should_step:
            return
        self.scheduler.step()
        self.step_losses.append(float(loss.detach()))
        if self.optimizer_step % self.options.log_interval_steps == 0:
            values = {**self.interval_stats.averages(), "lr": self.optimizer.param_groups[0]["lr"]}
            self.metric_log.write("train", self.epoch_counter.current, self.optimizer_step, values)
            self.interval_stats = _WeightedAverage()

    def on_stage_end(self, stage: sb.Stage, stage_loss: float, epoch: int | None = None) -> None:
        averages = self.stage_stats.averages()
        if not averages:  # a resumed stage with nothing left to do (killed at an epoch's end, or a finished run)
            return
        name = stage.name.lower()
        self.metric_log.write(f"{name}_epoch", epoch or 0, self.optimizer_step, averages)
        if stage == sb.Stage.TRAIN:
            self.last_train = averages
            if not self.has_validation:
                self._save_epoch_checkpoint(averages)
        elif stage == sb.Stage.VALID:
            self.last_valid = averages
            if self.options.valid_metric in averages:
                self.epoch_counter.update_metric(averages[self.options.valid_metric], self.optimizer_step)
            self._save_epoch_checkpoint(averages)
        else:
            self.last_test = averages

    def _save_epoch_checkpoint(self, metrics: Mapping[str, float]) -> None:
        options: TrainerOptions = self.options
        # Without a validation set, checkpoints are ranked by training loss.
        key, mode = (options.valid_metric, options.valid_metric_mode) if self.has_validation else ("loss", "min")
        if key not in metrics:
            raise TrainingError(f"valid_metric {key!r} is not among the task's statistics {sorted(metrics)}; pick one of them.")
        is_epoch_end = not self._optimizer_step_limit_exceeded
        meta = {key: metrics[key], "optimizer_step": self.optimizer_step}
        keys = {"min_keys": [key]} if mode == "min" else {"max_keys": [key]}
        self.checkpointer.save_and_keep_only(
            meta=meta, end_of_epoch=is_epoch_end, num_to_keep=options.keep_best, importance_keys=[],
            ckpt_predicate=lambda c: INTRA_EPOCH_CKPT_FLAG not in c.meta, **keys,
        )
        # The intra-epoch checkpoint is superseded by this one.
        self.checkpointer.delete_checkpoints(num_to_keep=0, ckpt_predicate=lambda c: INTRA_EPOCH_CKPT_FLAG in c.meta)


def _init_distributed(device: str) -> None:
    """Join the process group `torchrun` prepared (gloo on CPU, nccl on CUDA)."""
    if os.environ.get("RANK") is None or torch.distributed.is_initialized():
        return
    backend = "nccl" if device.startswith("cuda") else "gloo"
    torch.distributed.init_process_group(backend=backend)


class Trainer:
    """Trains any task module: `Trainer(task, options, train_set, collate_fn, ...).fit()`.

    `batch_sampler` (e.g. `fieldasr.train.batching.duration_batch_sampler`) must expose `set_epoch(epoch)` and
    give the same batches for the same epoch, so that a resumed run continues the interrupted order.
    Without it, batches of `batch_size` are drawn by SpeechBrain's reproducible random sampler.
    """

    def __init__(
        self,
        task: torch.nn.Module,
        options: TrainerOptions,
        train_set: torch.utils.data.Dataset,
        collate_fn: Callable[[list[Any]], Any],
        batch_sampler: torch.utils.data.Sampler | None = None,
        batch_size: int = 8,
        valid_set: torch.utils.data.Dataset | None = None,
        valid_metric: ValidMetric | None = None,
    ) -> None:
        options.validate()
        torch.manual_seed(options.seed)
        os.environ["SB_GLOBAL_SEED"] = str(options.seed)
        _init_distributed(options.device)
        self.options = options
        self.experiment_dir = Path(options.experiment_dir)
        self.experiment_dir.mkdir(parents=True, exist_ok=True)
        if options.early_stopping_patience_steps and valid_set is None:
            raise TrainingError("early stopping (early_stopping_patience_steps) needs a validation set.")
        self.epoch_counter = StoppingEpochCounter(options.max_epochs, options.early_stopping_patience_steps, options.valid_metric_mode)
        checkpointer = Checkpointer(self.experiment_dir / "checkpoints", recoverables={"task": task, "epoch_counter": self.epoch_counter})
        if valid_metric is None and hasattr(task, "validation_metrics"):
            valid_metric = lambda module, batch: module.validation_metrics(batch)  # noqa: E731
        self.brain = self._make_brain(task, checkpointer, valid_metric, has_validation=valid_set is not None)
        self.train_loader = self._make_loader(train_set, collate_fn, batch_sampler, batch_size)
        self.valid_loader = None
        if valid_set is not None:
            self.valid_loader = sb.dataio.dataloader.make_dataloader(
                valid_set, batch_size=options.valid_batch_size, collate_fn=collate_fn, num_workers=options.num_workers
            )

    def _make_brain(self, task: torch.nn.Module, checkpointer: Checkpointer, valid_metric: ValidMetric | None, has_validation: bool) -> _TaskBrain:
        options = self.options
        by_steps = options.checkpoint_interval_steps > 0
        run_options = {
            "device": options.device,
            "precision": options.precision,
            "eval_precision": options.precision,
            "grad_accumulation_factor": options.grad_accumulation,
            "max_grad_norm": options.clip_norm,
            "ckpt_interval_minutes": 0 if by_steps else options.checkpoint_interval_minutes,
            "ckpt_interval_steps": options.checkpoint_interval_steps,
            "optimizer_step_limit": options.max_steps,
            "noprogressbar": not options.progress_bar,
            "nonfinite_patience": options.nonfinite_patience,
            "skip_nonfinite_grads": True,
            "distributed_backend": "nccl" if options.device.startswith("cuda") else "gloo",
        }
        context = _BrainContext(options, self.epoch_counter, valid_metric, has_validation, MetricLog(self.experiment_dir, options.log_formats))
        return _TaskBrain(context, modules={"task": task}, hparams={}, run_opts=run_options, checkpointer=checkpointer)

    def _make_loader(self, dataset: Any, collate_fn: Callable, batch_sampler: Any, batch_size: int) -> Any:
        workers = self.options.num_workers
        if batch_sampler is None:
            # Brain draws batches with its reproducible random sampler (sharded across ranks under DDP).
            return self.brain.make_dataloader(dataset, stage=sb.Stage.TRAIN, batch_size=batch_size, shuffle=True,
                                              collate_fn=collate_fn, num_workers=workers)
        if torch.distributed.is_initialized():
            batch_sampler = ShardedBatchSampler(batch_sampler, torch.distributed.get_rank(), torch.distributed.get_world_size())
        loader = sb.dataio.dataloader.make_dataloader(dataset, batch_sampler=batch_sampler, collate_fn=collate_fn, num_workers=workers)
        self.brain.checkpointer.add_recoverable("dataloader-TRAIN", loader)  # its position, for mid-epoch resumption
        self.brain.train_sampler = batch_sampler  # so that Brain calls set_epoch() each epoch
        return loader

    def fit(self) -> TrainingSummary:
        """Train until max_epochs or max_steps, resuming from the newest checkpoint in the experiment folder."""
        brain = self.brain
        brain.fit(self.epoch_counter, self.train_loader, self.valid_loader, progressbar=self.options.progress_bar)
        averaged = self.average_best() if self.options.average_best_checkpoints > 1 else None
        return TrainingSummary(
            optimizer_steps=brain.optimizer_step,
            epochs_completed=self.epoch_counter.current,
            step_losses=tuple(brain.step_losses),
            valid_metrics=dict(brain.last_valid),
            checkpoint_dir=self.experiment_dir / "checkpoints",
            skipped_nonfinite=brain.skipped_nonfinite,
            stopped_early_at_step=self.epoch_counter.stopped_at_step,
            averaged_weights=averaged,
        )

    def average_best(self) -> Path | None:
        """Average the `average_best_checkpoints` best checkpoints (by the validation metric, or by training loss
        without validation, as they were kept) into experiment_dir/averaged/; None when fewer than two exist."""
        if not sb.utils.distributed.if_main_process():
            return None
        key = self.options.valid_metric if self.valid_loader is not None else "loss"
        mode = self.options.valid_metric_mode if self.valid_loader is not None else "min"
        found = self.brain.checkpointer.find_checkpoints(**({"min_key": key} if mode == "min" else {"max_key": key}),
                                                          max_num_checkpoints=self.options.average_best_checkpoints)
        if len(found) < 2:
            return None
        return average_checkpoints([Path(checkpoint.path) for checkpoint in found], self.experiment_dir)

    def evaluate(self, dataset: Any, collate_fn: Callable, batch_size: int = 8, use_best: bool = True) -> dict[str, float]:
        """Average loss, statistics and validation metrics on `dataset`, with the best checkpoint when `use_best`."""
        loader = sb.dataio.dataloader.make_dataloader(dataset, batch_size=batch_size, collate_fn=collate_fn)
        keys = {}
        if use_best:
            keys = {"min_key": self.options.valid_metric} if self.options.valid_metric_mode == "min" else {"max_key": self.options.valid_metric}
        self.brain.evaluate(loader, progressbar=self.options.progress_bar, **keys)
        return dict(self.brain.last_test)

    def best_checkpoint(self) -> Path | None:
        """Folder of the best checkpoint by the validation metric (or the newest when none has it)."""
        checkpointer = self.brain.checkpointer
        key = self.options.valid_metric
        found = checkpointer.find_checkpoint(**({"min_key": key} if self.options.valid_metric_mode == "min" else {"max_key": key}))
        found = found or checkpointer.find_checkpoint()
        return None if found is None else Path(found.path)
