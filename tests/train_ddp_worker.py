"""Run by test_train_ddp under torchrun (gloo), or alone as the single-process reference.

Modes:
  toy OUTPUT BATCHES MAX_STEPS  one or more SGD steps of the toy task with validation on 7 examples; records what
                                each rank saw and evaluated, which tensors the statistics all-reduced, and every
                                file a rank other than 0 wrote into the experiment folder
  adapters OUTPUT FIND_UNUSED   3 steps of a tiny wav2vec 2.0 CTC model with per-language adapters and an encoder
                                frozen for the first step; rank r trains on language r only
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from train_toy import ToyDataset, ToyTask, collate  # noqa: E402

from fieldasr.train import Trainer, TrainerOptions  # noqa: E402
from fieldasr.train.batching import FixedBatchSampler  # noqa: E402
from fieldasr.train.distributed import rank  # noqa: E402
from fieldasr.train.statistics import WeightedAverage  # noqa: E402

VALID_EXAMPLES = 7  # odd: 2 processes cannot share it evenly
VALID_BATCH_SIZE = 2


def record_writes_under(folder: Path) -> list[str]:
    """Paths under `folder` this process opens for writing (Python's open and torch.save)."""
    written: list[str] = []
    folder = folder.resolve()

    def audit(event: str, arguments: tuple) -> None:
        if event == "open" and isinstance(arguments[0], (str, Path)) and arguments[1] and set(str(arguments[1])) & set("wax+"):
            if Path(arguments[0]).resolve().is_relative_to(folder):
                written.append(str(arguments[0]))

    sys.addaudithook(audit)
    original_save = torch.save

    def save(obj, destination, *args, **kwargs):
        if isinstance(destination, (str, Path)) and Path(destination).resolve().is_relative_to(folder):
            written.append(str(destination))
        return original_save(obj, destination, *args, **kwargs)

    torch.save = save
    return written


def record_reductions() -> list[tuple[str, str]]:
    """(device, dtype) of every tensor the statistics all-reduce."""
    reduced: list[tuple[str, str]] = []
    original = torch.distributed.all_reduce

    def all_reduce(tensor, *args, **kwargs):
        reduced.append((str(tensor.device), str(tensor.dtype)))
        return original(tensor, *args, **kwargs)

    torch.distributed.all_reduce = all_reduce
    return reduced


class EvaluationRecordingTask(ToyTask):
    def __init__(self) -> None:
        super().__init__()
        self.evaluated: list[int] = []

    def validation_metrics(self, batch: dict) -> dict[str, float]:
        self.evaluated += batch["index"].tolist()
        return super().validation_metrics(batch)


def toy(output: Path, batches: list[list[int]], max_steps: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    experiment = output.parent / "exp-toy"
    written = record_writes_under(experiment) if rank() != 0 else []
    reduced = record_reductions() if os.environ.get("WORLD_SIZE") else []
    task = EvaluationRecordingTask()
    options = TrainerOptions(experiment_dir=experiment, optimizer="sgd", lr=1.0, clip_norm=1e6, max_steps=max_steps,
                             checkpoint_interval_minutes=0, progress_bar=False, device="cpu", log_interval_steps=1,
                             valid_metric="mean_absolute_error", valid_batch_size=VALID_BATCH_SIZE)
    trainer = Trainer(task, options, ToyDataset(16), collate, batch_sampler=FixedBatchSampler(batches),
                      valid_set=ToyDataset(VALID_EXAMPLES, seed=1))
    summary = trainer.fit()
    # Statistics that only one process saw, or saw only as non-finite values, still reduce over the same names.
    disagreeing = WeightedAverage(trainer.device)
    disagreeing.add({"everywhere": torch.tensor(float(rank() + 1)), f"only_on_{rank()}": 1.0}, 2.0)
    disagreeing.add({"not_finite_on_1": float("nan") if rank() == 1 else 3.0}, 1.0)
    result = {"state": {k: v.tolist() for k, v in task.state_dict().items()}, "seen": task.seen, "evaluated": task.evaluated,
              "valid": dict(summary.valid_metrics), "steps": summary.optimizer_steps, "written": written,
              "reduced": reduced, "trainer_device": trainer.device, "disagreeing": disagreeing.averages()}
    output.with_name(f"{output.stem}-rank{rank()}.json").write_text(json.dumps(result))


def adapters(output: Path, find_unused: bool) -> None:
    from fieldasr.models import TINY_WAV2VEC2, Wav2Vec2CTC
    from fieldasr.text import Vocabulary
    from fieldasr.train.pipeline import collate_ctc
    from fieldasr.train.tasks import CTCTask

    torch.set_num_threads(1)
    torch.manual_seed(0)
    vocabulary = Vocabulary.build([["a", "b", "c"]])
    model = Wav2Vec2CTC(TINY_WAV2VEC2, len(vocabulary), freeze_encoder_steps=1, adapter_languages=["xa", "xb"])
    generator = torch.Generator().manual_seed(1)
    items = [{"id": f"u{index}", "waveform": torch.randn(8000, generator=generator), "labels": torch.tensor([2, 3, 4]),
              "language": "xa" if index % 2 == 0 else "xb"} for index in range(8)]
    # Global batches alternate languages, so process 0 only ever trains the xa adapters and process 1 the xb ones.
    batches = FixedBatchSampler([[0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5]])
    options = TrainerOptions(experiment_dir=output.parent / f"exp-{output.stem}", lr=1e-3, max_steps=3, progress_bar=False,
                             device="cpu", checkpoint_interval_minutes=0, find_unused_parameters="auto" if find_unused else False)
    summary = Trainer(CTCTask(model, vocabulary, pass_languages=True), options, items, collate_ctc, batch_sampler=batches).fit()
    if rank() == 0:
        output.write_text(json.dumps({"steps": summary.optimizer_steps, "counts": dict(summary.counts)}))


if __name__ == "__main__":
    mode, destination = sys.argv[1], Path(sys.argv[2])
    if mode == "toy":
        toy(destination, json.loads(sys.argv[3]), int(sys.argv[4]))
    else:
        adapters(destination, sys.argv[3] == "find_unused")
