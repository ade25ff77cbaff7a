"""One Trainer for every task, built on SpeechBrain's `Brain`.

Brain already does the loops, mixed precision, gradient accumulation and clipping, non-finite loss
handling, DDP wrapping, intra-epoch checkpoints and mid-epoch resumption (the saveable data loader
skips the batches already seen, and samplers re-create the same order from their seed and epoch).
This module adds: a typed options dataclass, the task contract (`forward(batch) -> TaskOutput`),
weighted statistics, a long-format CSV log, keep-best-N checkpoints, a learning-rate warm-up, early stopping
on the validation metric, averaging of the best checkpoints, clear errors for out-of-memory batches and for
checkpoints of another architecture. It also replaces Brain's optimizer step: gradients are unscaled (AMP)
before clipping every parameter group and before one check of their norm, which is the only host sync of a
step (Brain checks each parameter's gradient on the host).

DDP (`torchrun`): each process on the GPU of its LOCAL_RANK, statistics reduced on the device
(`fieldasr.train.statistics`), `find_unused_parameters` when the task leaves parameters without gradients,
validation shards that hold each utterance exactly once, checkpoints from rank 0, resumption on another
number of processes (`fieldasr.train.distributed`).
"""
from __future__ import annotations

import csv
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
import typing
from typing import Any, Literal

import speechbrain as sb
import torch
from speechbrain.core import INTRA_EPOCH_CKPT_FLAG
from speechbrain.utils.checkpoints import Checkpointer
from tqdm import tqdm

from fieldasr.device import resolve_device
from fieldasr.errors import FieldasrError
from fieldasr.train.averaging import average_checkpoints
from fieldasr.train.batching import FixedBatchSampler, ShardedBatchSampler
from fieldasr.train.distributed import TrainingPosition, init_distributed, is_distributed, rank, world_size
from fieldasr.train.early_stopping import StoppingEpochCounter
from fieldasr.train.optimizers import make_optimizer, parameter_groups
from fieldasr.train.progress import StepProgress
from fieldasr.train.schedule import warmup_decay_schedule
from fieldasr.train.statistics import WeightedAverage
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
    lr: float = 1e-3  # of the new layers (and of everything when encoder_lr is not set)
    encoder_lr: float | None = None  # of the pretrained encoder (parameters under a module named `encoder`); null: lr
    optimizer: Literal["adamw", "sgd"] = "adamw"
    weight_decay: float = 0.0
    warmup_steps: int = 0  # linear warm-up of the learning rate, in optimizer steps
    lr_decay: Literal["none", "linear"] = "none"  # "none": constant after warm-up; "linear": to zero at max_steps
    max_epochs: int = 1
    max_steps: int | None = None  # optimizer steps; stops mid-epoch when reached
    grad_accumulation: int = 1
    clip_norm: float = 5.0
    precision: Precision = "fp32"  # fp16 only on CUDA
    device: str = "auto"  # auto: cuda when available, else cpu; under torchrun, cuda:LOCAL_RANK
    find_unused_parameters: Literal["auto"] | bool = "auto"  # DDP; auto: when the task says it leaves parameters unused
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
    early_stopping_patience_steps: int = 0  # stop when valid_metric has not improved for this many optimizer steps (counted from the end of the warm-up at the earliest); 0: off
    average_best_checkpoints: int = 0  # at the end, average the weights of this many best checkpoints (<= keep_best); 0 or 1: off
    num_workers: int | Literal["auto"] = "auto"  # data loading processes; auto: 0 on the CPU, up to 4 per GPU
    valid_batch_size: int = 8

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise TrainingError(f"precision {self.precision!r} is not one of {PRECISIONS}.")
        try:
            device = resolve_device(self.device)
        except FieldasrError as error:
            raise TrainingError(str(error)) from None
        if self.precision == "fp16" and not device.startswith("cuda"):
            raise TrainingError("precision fp16 needs a CUDA device; on CPU use bf16 or fp32.")
        if self.lr <= 0:
            raise TrainingError(f"lr must be positive, not {self.lr}.")
        if self.encoder_lr is not None and self.encoder_lr < 0:
            raise TrainingError(f"encoder_lr must be 0 or more (0 keeps the encoder as it is; null: lr), not {self.encoder_lr}.")
        if self.num_workers != "auto" and self.num_workers < 0:
            raise TrainingError(f"num_workers must be 0 or more (0: load data in the training process), not {self.num_workers}.")
        if self.valid_batch_size < 1:
            raise TrainingError(f"valid_batch_size must be at least 1, not {self.valid_batch_size}.")
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
    skipped_nonfinite: int = 0  # batches whose loss was not finite, all processes (their steps are skipped)
    counts: Mapping[str, float] = field(default_factory=dict)  # the tasks' counts (e.g. infinite CTC losses), this run, all processes
    stopped_early_at_step: int | None = None  # the step early stopping ended training at; None: it did not
    averaged_weights: Path | None = None  # the task weights averaged over the best checkpoints, when averaging is on


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


def _progress_line(line: str) -> None:
    tqdm.write(line, file=sys.stderr)  # above the epoch's progress bar, not through it


def _batch_duration(batch: Any) -> float | None:
    durations = batch.get("durations") if isinstance(batch, Mapping) else getattr(batch, "durations", None)
    return None if durations is None else float(torch.as_tensor(durations).sum())


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
        self.non_blocking = self.device.startswith("cuda")
        self.step_losses: list[float] = []
        self.pending_step_losses: list[torch.Tensor] = []  # read at the next log interval: no host sync per step
        self.pending_nonfinite = torch.zeros((), dtype=torch.long, device=self.device)
        self.skipped_nonfinite = 0
        self.counts: dict[str, float] = {}
        self.last_train: dict[str, float] = {}
        self.last_valid: dict[str, float] = {}
        self.last_test: dict[str, float] = {}
        self.progress = StepProgress(self.options.max_steps, self.options.max_epochs, write=_progress_line)

    def compute_forward(self, batch: Any, stage: sb.Stage) -> TaskOutput:
        batch = move_to_device(batch, self.device, self.non_blocking)
        task = self.raw_task
        if stage == sb.Stage.TRAIN and hasattr(task, "set_training_step"):
            task.set_training_step(self.optimizer_step)
        # Evaluation runs the bare task: validation shards differ in length, and the DDP wrapper may synchronise
        # in its forward (buffers), which would wait for a process that has no batch left.
        output = self.modules.task(batch) if stage == sb.Stage.TRAIN else task(batch)
        if not isinstance(output, TaskOutput):
            raise TrainingError(f"{type(task).__name__}.forward must return a TaskOutput, got {type(output).__name__}.")
        self.stage_stats.add({"loss": output.loss.detach(), **output.stats}, output.weight)
        self.stage_counts.add(output.counts, 1.0)
        if stage != sb.Stage.TRAIN and self.valid_metric_fn is not None:
            self.stage_stats.add(self.valid_metric_fn(task, batch), output.weight)
        return output

    def compute_objectives(self, output: TaskOutput, batch: Any, stage: sb.Stage) -> torch.Tensor:
        return output.loss

    @property
    def raw_task(self) -> torch.nn.Module:
        return getattr(self.modules.task, "module", self.modules.task)

    def fit_batch(self, batch: Any) -> torch.Tensor:
        """Brain's fit_batch without its host syncs: a non-finite loss is counted on the device and its step
        skipped at the gradient check (its gradients are not finite either)."""
        should_step = self.step % self.grad_accumulation_factor == 0
        try:
            with self.no_sync(not should_step):
                with self.training_ctx:
                    outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = outputs.loss
                self.pending_nonfinite += ~torch.isfinite(loss.detach())
                self.scaler.scale(loss / self.grad_accumulation_factor).backward()
            if should_step:
                self.optimizers_step()
        except torch.OutOfMemoryError as error:
            duration = _batch_duration(batch)
            what = f"a batch of {duration:.1f} s of audio" if duration is not None else "a batch"
            raise TrainingError(
                f"out of memory on {what} at step {self.optimizer_step}. Lower the maximum batch duration "
                f"(max_batch_duration){f', e.g. to {duration / 2:.0f} s' if duration else ''}, or use gradient accumulation."
            ) from error
        self.training_position.batch_trained()
        self.on_fit_batch_end(batch, outputs, loss, should_step)
        return loss.detach()

    def optimizers_step(self) -> None:
        """Unscale (AMP), clip every parameter group, and step unless the gradients are not finite: one host sync
        (and under DDP one small all-reduce of the non-finite counts; the gradients are already averaged, so
        every process takes the same decision)."""
        self.scaler.unscale_(self.optimizer)  # before clipping and before the finiteness check, or both see scaled values
        parameters = [parameter for group in self.optimizer.param_groups for parameter in group["params"]]
        total_norm = torch.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
        flags = torch.stack([(~torch.isfinite(total_norm)).long(), self.pending_nonfinite])
        if is_distributed():  # counted over all processes, so that they all stop (nonfinite_patience) at the same step
            torch.distributed.all_reduce(flags)
        nonfinite_gradients, nonfinite_losses = flags.tolist()
        self.pending_nonfinite.zero_()
        if nonfinite_losses:
            self.skipped_nonfinite += nonfinite_losses
            self.nonfinite_count += nonfinite_losses
            if self.nonfinite_count > self.nonfinite_patience:
                raise TrainingError(
                    f"{self.nonfinite_count} batches of this epoch had a non-finite loss (nonfinite_patience: "
                    f"{self.nonfinite_patience}). Lower the learning rate, or use fp32/bf16 instead of fp16."
                )
        if not nonfinite_gradients:
            self.scaler.step(self.optimizer)
        elif not self.scaler.is_enabled():  # with fp16's loss scaling, overflowing steps are routine (the scale shrinks)
            logger.warning("step %d: gradients are not finite; this step is skipped", self.optimizer_step)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.optimizer_step += 1

    def update_average(self, loss: torch.Tensor, avg_loss: float) -> float:
        # Brain's running loss is shown on the progress bar only; reading it is a host sync per batch.
        return super().update_average(loss, avg_loss) if self.options.progress_bar else avg_loss

    def init_optimizers(self) -> None:
        options: TrainerOptions = self.options
        groups = parameter_groups(self.modules, options.lr, options.encoder_lr)
        self.optimizer = make_optimizer(options.optimizer, groups, options.weight_decay)
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
        except ValueError as error:
            if "parameter group" not in str(error):
                raise
            raise TrainingError(
                f"the checkpoint in {self.checkpointer.checkpoints_dir} was saved with another split of the learning "
                f"rates (trainer.encoder_lr set in one run, not in the other): {error}\nKeep the setting of the first run, "
                "or use a new experiment folder."
            ) from error

    def on_stage_start(self, stage: sb.Stage, epoch: int | None = None) -> None:
        if stage == sb.Stage.TRAIN:
            self.training_position.start_epoch()
        self.stage_stats, self.stage_counts = WeightedAverage(self.device), WeightedAverage(self.device)
        self.interval_stats, self.interval_counts = WeightedAverage(self.device), WeightedAverage(self.device)

    def on_fit_batch_end(self, batch: Any, outputs: TaskOutput, loss: torch.Tensor, should_step: bool) -> None:
        self.interval_stats.add({"loss": loss.detach(), **outputs.stats}, outputs.weight)
        self.interval_counts.add(outputs.counts, 1.0)
        if not should_step:
            return
        self.scheduler.step()
        self.pending_step_losses.append(loss.detach())
        if sb.utils.distributed.if_main_process():
            self.progress.step_done(self.optimizer_step, self.epoch_counter.current)
        if self.optimizer_step % self.options.log_interval_steps == 0:
            self._flush_step_losses()
            values = {**self.interval_stats.averages(), **self.interval_counts.sums(), **self._learning_rates()}
            self.metric_log.write("train", self.epoch_counter.current, self.optimizer_step, values)
            self.interval_stats, self.interval_counts = WeightedAverage(self.device), WeightedAverage(self.device)

    def _flush_step_losses(self) -> None:
        if self.pending_step_losses:
            self.step_losses += torch.stack(self.pending_step_losses).tolist()
            self.pending_step_losses = []

    def _learning_rates(self) -> dict[str, float]:
        rates = {"lr": self.optimizer.param_groups[-1]["lr"]}  # the new layers' (the last group)
        for group in self.optimizer.param_groups:
            if group.get("name") == "encoder":
                rates["encoder_lr"] = group["lr"]
        return rates

    def on_stage_end(self, stage: sb.Stage, stage_loss: float, epoch: int | None = None) -> None:
        averages, counts = self.stage_stats.averages(), self.stage_counts.sums()
        if stage == sb.Stage.TRAIN:
            self._flush_step_losses()
            for name, total in counts.items():
                self.counts[name] = self.counts.get(name, 0.0) + total
        if not averages:  # a resumed stage with nothing left to do (killed at an epoch's end, or a finished run)
            return
        name = stage.name.lower()
        self.metric_log.write(f"{name}_epoch", epoch or 0, self.optimizer_step, {**averages, **counts})
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


def leaves_parameters_unused(task: torch.nn.Module, setting: bool | str) -> bool:
    """DDP's find_unused_parameters: as set, or (auto) as the task declares (`leaves_parameters_unused`)."""
    if setting != "auto":
        return bool(setting)
    return bool(getattr(task, "leaves_parameters_unused", False))


def data_loader_workers(setting: int | str, device: str) -> int:
    """auto: none on the CPU (the model needs the cores), else up to 4 per GPU process of this machine."""
    if setting != "auto":
        return int(setting)
    if not device.startswith("cuda"):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(4, cores // processes_here - 1))


def seed_data_worker(worker_id: int) -> None:
    """A DataLoader worker's own seed (torch's, different per worker, process and epoch) for `random` and for a
    dataset's random draws (e.g. speed perturbation): otherwise every worker repeats the same draws."""
    info = torch.utils.data.get_worker_info()
    random.seed(info.seed)
    if hasattr(info.dataset, "reseed"):
        info.dataset.reseed(info.seed % 2**32)


def consecutive_batches(num_examples: int, batch_size: int) -> list[list[int]]:
    return [list(range(start, min(start + batch_size, num_examples))) for start in range(0, num_examples, batch_size)]


class Trainer:
    """Trains any task module: `Trainer(task, options, train_set, collate_fn, ...).fit()`.

    `batch_sampler` (e.g. `fieldasr.train.batching.duration_batch_sampler`) must expose `set_epoch(epoch)` and
    give the same batches for the same epoch, so that a resumed run continues the interrupted order.
    Without it, batches of `batch_size` are drawn by SpeechBrain's reproducible random sampler.
    Under DDP the training batches are shared out among processes (the last ones repeated so that every
    process takes as many steps); validation batches are shared out exactly, each utterance once.
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
        self.device = resolve_device(options.device)
        logger.info("training on %s", self.device)
        init_distributed(self.device)
        # Same data order on every process (the samplers' own seeds); dropout, masking and augmentation differ.
        torch.manual_seed(options.seed + rank())
        random.seed(options.seed + rank())
        os.environ["SB_GLOBAL_SEED"] = str(options.seed)
        self.options = options
        self.collate_fn = collate_fn
        self.experiment_dir = Path(options.experiment_dir)
        self.experiment_dir.mkdir(parents=True, exist_ok=True)
        if options.early_stopping_patience_steps and valid_set is None:
            raise TrainingError("early stopping (early_stopping_patience_steps) needs a validation set.")
        self.epoch_counter = StoppingEpochCounter(options.max_epochs, options.early_stopping_patience_steps, options.valid_metric_mode,
                                                  patience_from_step=options.warmup_steps)
        checkpointer = Checkpointer(self.experiment_dir / "checkpoints", recoverables={"task": task, "epoch_counter": self.epoch_counter})
        if valid_metric is None and hasattr(task, "validation_metrics"):
            valid_metric = lambda module, batch: module.validation_metrics(batch)  # noqa: E731
        self.brain = self._make_brain(task, checkpointer, valid_metric, has_validation=valid_set is not None)
        self.train_loader = self._make_loader(train_set, collate_fn, batch_sampler, batch_size)
        self.valid_loader = None if valid_set is None else self._evaluation_loader(valid_set, options.valid_batch_size)

    def _make_brain(self, task: torch.nn.Module, checkpointer: Checkpointer, valid_metric: ValidMetric | None, has_validation: bool) -> _TaskBrain:
        options = self.options
        by_steps = options.checkpoint_interval_steps > 0
        run_options = {
            "device": self.device,
            "precision": options.precision,
            "eval_precision": options.precision,
            "grad_accumulation_factor": options.grad_accumulation,
            "max_grad_norm": options.clip_norm,
            "ckpt_interval_minutes": 0 if by_steps else options.checkpoint_interval_minutes,
            "ckpt_interval_steps": options.checkpoint_interval_steps,
            "optimizer_step_limit": options.max_steps,
            "noprogressbar": not options.progress_bar,
            "nonfinite_patience": options.nonfinite_patience,
            "distributed_backend": "nccl" if self.device.startswith("cuda") else "gloo",
            "find_unused_parameters": leaves_parameters_unused(task, options.find_unused_parameters),
        }
        context = _BrainContext(options, self.epoch_counter, valid_metric, has_validation, MetricLog(self.experiment_dir, options.log_formats))
        return _TaskBrain(context, modules={"task": task}, hparams={}, run_opts=run_options, checkpointer=checkpointer)

    def _loader_options(self, persistent_workers: bool = False) -> dict[str, Any]:
        workers = data_loader_workers(self.options.num_workers, self.device)
        return {"collate_fn": self.collate_fn, "num_workers": workers, "pin_memory": self.device.startswith("cuda"),
                "persistent_workers": persistent_workers and workers > 0, "worker_init_fn": seed_data_worker if workers > 0 else None}

    def _make_loader(self, dataset: Any, collate_fn: Callable, batch_sampler: Any, batch_size: int) -> Any:
        if batch_sampler is None:
            # Brain draws batches with its reproducible random sampler (DistributedSampler under DDP).
            loader = self.brain.make_dataloader(dataset, stage=sb.Stage.TRAIN, batch_size=batch_size, shuffle=True,
                                                **self._loader_options(persistent_workers=True))
        else:
            if is_distributed():
                batch_sampler = ShardedBatchSampler(batch_sampler, rank(), world_size())
            loader = sb.dataio.dataloader.make_dataloader(dataset, batch_sampler=batch_sampler,
                                                          **self._loader_options(persistent_workers=True))
            self.brain.train_sampler = batch_sampler  # so that Brain calls set_epoch() each epoch
        # Its position within an epoch, counted over all processes, for mid-epoch resumption on any number of them.
        self.brain.training_position = TrainingPosition(loader)
        self.brain.checkpointer.add_recoverable("dataloader-TRAIN", self.brain.training_position)
        return loader

    def _evaluation_loader(self, dataset: Any, batch_size: int) -> Any:
        """Batches in order; under DDP each process takes every world_size-th batch, none repeated, so that the
        reduced metrics count each utterance once (DistributedSampler would repeat some to even out)."""
        batches = FixedBatchSampler(consecutive_batches(len(dataset), batch_size))
        sampler = ShardedBatchSampler(batches, rank(), world_size(), repeat_to_even=False) if is_distributed() else batches
        return sb.dataio.dataloader.make_dataloader(dataset, batch_sampler=sampler, **self._loader_options())

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
            counts=dict(brain.counts),
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
        self.collate_fn = collate_fn
        loader = self._evaluation_loader(dataset, batch_size)
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
