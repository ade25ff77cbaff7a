"""Training throughput (seconds of audio per second) and padding: dynamic vs fixed-size batches, vs HF Trainer.

Same data (random audio of 1-12 s with random phone labels, ~12 labels/s), same tiny model, same number
of optimizer steps; only the batching and the training loop differ. Writes docs/benchmarks/train_throughput.md.

    PYTHONPATH=. python benchmarks/train_throughput.py [--models conformer,wav2vec2] [--utterances 120]
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerCTC, Wav2Vec2CTC
from fieldasr.train import Trainer, TrainerOptions
from fieldasr.train.batching import FixedBatchSampler, duration_batch_sampler, fixed_size_batches, padding_ratio
from fieldasr.train.pipeline import collate_ctc
from fieldasr.train.tasks import CTCTask

VOCABULARY_SIZE = 40


class RandomSpeech(torch.utils.data.Dataset):
    def __init__(self, count: int, seed: int = 0) -> None:
        rng = random.Random(seed)
        self.durations = [rng.uniform(1.0, 12.0) for _ in range(count)]
        self.items = [{"id": f"u{i}", "waveform": torch.randn(int(d * 16000)) * 0.1, "language": "xx",
                       "labels": torch.randint(1, VOCABULARY_SIZE, (int(d * 12),))} for i, d in enumerate(self.durations)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def make_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return Wav2Vec2CTC(TINY_WAV2VEC2, VOCABULARY_SIZE) if name == "wav2vec2" else ConformerCTC(TINY_CONFORMER, VOCABULARY_SIZE)


def audio_seconds(dataset: RandomSpeech, batches: list[list[int]]) -> float:
    return sum(dataset.durations[i] for batch in batches for i in batch)


def run_fieldasr(model_name: str, dataset: RandomSpeech, batches: list[list[int]]) -> float:
    from fieldasr.text import Vocabulary

    vocabulary = Vocabulary(("<blank>",) + tuple(f"p{i}" for i in range(1, VOCABULARY_SIZE)))
    with tempfile.TemporaryDirectory() as folder:
        options = TrainerOptions(experiment_dir=Path(folder), lr=1e-3, max_epochs=1, progress_bar=False, checkpoint_interval_minutes=0)
        trainer = Trainer(CTCTask(make_model(model_name), vocabulary), options, dataset, collate_ctc, batch_sampler=FixedBatchSampler(batches))
        start = time.perf_counter()
        trainer.fit()
        return time.perf_counter() - start


class HFWrapper(torch.nn.Module):
    """transformers.Trainer wants forward(**inputs) -> {"loss": ...}."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveforms, lengths, labels, label_lengths):
        logits, frames = self.model(waveforms, lengths)
        log_probs = torch.log_softmax(logits.float(), -1).transpose(0, 1)
        loss = torch.nn.functional.ctc_loss(log_probs, labels, frames, label_lengths, blank=0, zero_infinity=True)
        return {"loss": loss}


def run_hf_trainer(model_name: str, dataset: RandomSpeech, batch_size: int, steps: int) -> float | None:
    try:
        import accelerate  # noqa: F401  (transformers.Trainer needs it: pip install '.[benchmarks]')
        from transformers import Trainer as HFTrainer, TrainingArguments
    except ImportError:
        return None

    def collate(items):
        batch = collate_ctc(items)
        return {"waveforms": batch.waveforms, "lengths": batch.lengths, "labels": batch.labels, "label_lengths": batch.label_lengths}

    with tempfile.TemporaryDirectory() as folder:
        arguments = TrainingArguments(output_dir=folder, per_device_train_batch_size=batch_size, max_steps=steps, learning_rate=1e-3,
                                      save_strategy="no", report_to=[], disable_tqdm=True, use_cpu=True, dataloader_num_workers=0,
                                      remove_unused_columns=False, logging_strategy="no", seed=0)
        trainer = HFTrainer(model=HFWrapper(make_model(model_name)), args=arguments, train_dataset=dataset, data_collator=collate)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start


def model_rows(model_name: str, dataset: RandomSpeech, max_batch_duration: float) -> list[tuple[object, ...]]:
    dynamic = list(duration_batch_sampler(dataset.durations, max_batch_duration, seed=0))
    batch_size = max(1, round(len(dataset) / len(dynamic)))  # same number of steps for every run
    fixed = fixed_size_batches(len(dataset), batch_size, seed=0)
    total_audio = audio_seconds(dataset, dynamic)
    runs = [
        ("fieldasr Trainer, dynamic batches", f"{padding_ratio(dynamic, dataset.durations):.1%}", len(dynamic), run_fieldasr(model_name, dataset, dynamic)),
        (f"fieldasr Trainer, fixed-size batches of {batch_size}", f"{padding_ratio(fixed, dataset.durations):.1%}", len(fixed),
         run_fieldasr(model_name, dataset, fixed)),
        # HF draws its own random batches of the same size; their padding is not measured.
        (f"HF transformers.Trainer, batches of {batch_size}", "not measured", len(fixed), run_hf_trainer(model_name, dataset, batch_size, len(fixed))),
    ]
    return [(model_name, setup, padding, steps, "skipped: pip install accelerate", "") if seconds is None
            else (model_name, setup, padding, steps, f"{seconds:.1f}", f"{total_audio / seconds:.0f}")
            for setup, padding, steps, seconds in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="conformer,wav2vec2", help="comma-separated: conformer, wav2vec2")
    parser.add_argument("--utterances", type=int, default=120)
    parser.add_argument("--max-batch-duration", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1)
    add_report_option(parser, "train_throughput")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    dataset = RandomSpeech(arguments.utterances)
    rows = [row for name in arguments.models.split(",") for row in model_rows(name.strip(), dataset, arguments.max_batch_duration)]
    note = (f"{len(dataset)} utterances of random audio (1-12 s, {sum(dataset.durations) / 60:.1f} min) with random labels, tiny models "
            f"(TINY_CONFORMER, TINY_WAV2VEC2), at most {arguments.max_batch_duration:.0f} s of audio per dynamic batch, "
            f"{arguments.threads} thread(s); every setup takes the same number of optimizer steps.")
    columns = ("model", "setup", "padding", "steps", "seconds", "audio s/s")
    publish(arguments.output, "Training throughput", [Table("Audio seconds per second", columns, rows, note)])


if __name__ == "__main__":
    main()
