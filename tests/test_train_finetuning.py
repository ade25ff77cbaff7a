"""Fine-tuning controls of the Trainer: separate learning rates for a pretrained encoder and the new layers,
CTC losses in fp32 with infinite ones zeroed and counted, counts reported in the summary and the log."""
from __future__ import annotations

import csv
import random

import pytest
import torch
from train_toy import ToyDataset, ToyTask, collate

from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerCTC, Wav2Vec2CTC
from fieldasr.text import Vocabulary
from fieldasr.train import TaskOutput, Trainer, TrainerOptions
from fieldasr.train.optimizers import parameter_groups
from fieldasr.train.pipeline import CTCBatch, ctc_frames_needed
from fieldasr.train.tasks import CTCTask, ctc_feasible

torch.set_num_threads(1)


class EncoderAndHead(ToyTask):
    """The toy regression with its first layer called `encoder`, as in a pretrained model with a new head."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(4, 4)
        self.head = self.linear

    def forward(self, batch: dict) -> TaskOutput:
        loss = torch.nn.functional.mse_loss(self.head(torch.tanh(self.encoder(batch["x"]))).squeeze(-1), batch["y"])
        return TaskOutput(loss=loss, stats={"mse": loss.detach()}, weight=float(len(batch["y"])), counts={"batches": 1.0})


def test_parameter_groups_split_encoder_from_new_layers():
    model = Wav2Vec2CTC(TINY_WAV2VEC2, 5, adapter_languages=["xa"])
    task = torch.nn.ModuleDict({"task": CTCTask(model, Vocabulary.build([["a", "b", "c"]]))})
    encoder, new = parameter_groups(task, lr=1e-3, encoder_lr=1e-5)
    trainable_encoder = {id(p) for p in model.encoder.parameters() if p.requires_grad}
    assert (encoder["name"], encoder["lr"], new["name"], new["lr"]) == ("encoder", 1e-5, "new", 1e-3)
    assert {id(p) for p in encoder["params"]} == trainable_encoder
    assert {id(p) for p in model.head.parameters()} | {id(p) for p in model.adapters.parameters()} == {id(p) for p in new["params"]}
    (single,) = parameter_groups(task, lr=1e-3, encoder_lr=None)
    assert len(single["params"]) == len(encoder["params"]) + len(new["params"])


def test_a_conformers_encoder_is_everything_but_its_output_layer():
    model = ConformerCTC(TINY_CONFORMER, 5)
    task = torch.nn.ModuleDict({"task": CTCTask(model, Vocabulary.build([["a", "b", "c"]]))})
    encoder, new = parameter_groups(task, lr=1e-3, encoder_lr=1e-5)
    assert {id(p) for p in new["params"]} == {id(p) for p in model.head.parameters()}
    assert {id(p) for p in encoder["params"]} == {id(p) for name, p in model.named_parameters() if not name.startswith("head.")}
    assert len(encoder["params"]) > 10  # subsampling, projection, every Conformer block


def test_encoder_learns_at_its_own_rate(tmp_path):
    task = EncoderAndHead()
    before = {name: value.clone() for name, value in task.state_dict().items()}
    options = TrainerOptions(experiment_dir=tmp_path, optimizer="sgd", lr=0.1, encoder_lr=0.0, max_steps=3, progress_bar=False,
                             log_interval_steps=1, device="cpu")
    trainer = Trainer(task, options, ToyDataset(), collate, batch_size=4)
    summary = trainer.fit()
    assert [group["lr"] for group in trainer.brain.optimizer.param_groups] == [0.0, 0.1]
    torch.testing.assert_close(task.encoder.weight, before["encoder.weight"])  # learning rate 0: frozen
    assert not torch.equal(task.head.weight, before["linear.weight"])
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert {"lr", "encoder_lr"} <= {row["name"] for row in rows}
    assert summary.counts == {"batches": 3.0}


def test_changing_the_split_on_resumption_is_refused(tmp_path):
    def fit(encoder_lr):
        options = TrainerOptions(experiment_dir=tmp_path, optimizer="sgd", lr=0.1, encoder_lr=encoder_lr, max_epochs=2,
                                 max_steps=2, progress_bar=False, device="cpu")
        return Trainer(EncoderAndHead(), options, ToyDataset(), collate, batch_size=4).fit()

    fit(None)
    from fieldasr.train import TrainingError

    with pytest.raises(TrainingError, match="encoder_lr"):
        fit(0.01)


def test_ctc_feasibility_on_the_device_matches_the_manifest_filter():
    generator = random.Random(0)
    labels = [[generator.randint(1, 3) for _ in range(generator.randint(0, 8))] for _ in range(200)]
    frames = torch.tensor([generator.randint(0, 12) for _ in labels])
    padded = torch.nn.utils.rnn.pad_sequence([torch.tensor(row, dtype=torch.long) for row in labels], batch_first=True)
    feasible = ctc_feasible(frames, padded, torch.tensor([len(row) for row in labels]))
    assert feasible.tolist() == [int(count) >= ctc_frames_needed(row) for count, row in zip(frames, labels)]


class FixedLogits(torch.nn.Module):
    """A stand-in acoustic model: trainable logits, one frame per 100 samples."""

    def __init__(self, frames: int, vocabulary: int) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.randn(1, frames, vocabulary, generator=torch.Generator().manual_seed(0)))

    def forward(self, waveforms, lengths, languages=None):
        return self.logits.expand(len(waveforms), -1, -1).to(torch.bfloat16 if torch.is_autocast_enabled("cpu") else torch.float32), lengths // 100


def ctc_batch(sample_lengths: list[int], labels: list[list[int]]) -> CTCBatch:
    return CTCBatch(ids=tuple(f"u{i}" for i in range(len(labels))), waveforms=torch.zeros(len(labels), max(sample_lengths)),
                    lengths=torch.tensor(sample_lengths),
                    labels=torch.nn.utils.rnn.pad_sequence([torch.tensor(row) for row in labels], batch_first=True),
                    label_lengths=torch.tensor([len(row) for row in labels]), languages=("und",) * len(labels))


@pytest.mark.parametrize("autocast", [False, True])
def test_infinite_ctc_losses_are_zeroed_and_counted(autocast):
    vocabulary = Vocabulary.build([["a", "b", "c"]])
    task = CTCTask(FixedLogits(10, len(vocabulary)), vocabulary)
    # u0: 10 frames for 3 labels; u1: 2 frames for 3 labels (infinite); u2: 10 frames for a a (needs 3)
    batch = ctc_batch([1000, 200, 1000], [[2, 3, 4], [2, 3, 4], [2, 2]])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        output = task(batch)
        alone = task(ctc_batch([1000, 1000], [[2, 3, 4], [2, 2]]))
    assert output.loss.dtype == torch.float32  # fp32 even under autocast
    assert int(output.counts["infinite_ctc_losses"]) == 1 and int(alone.counts["infinite_ctc_losses"]) == 0
    torch.testing.assert_close(output.loss, alone.loss)  # the infinite one adds nothing, and no tokens
    output.loss.backward()
    assert torch.isfinite(task.model.logits.grad).all()
    everything_infinite = task(ctc_batch([100], [[2, 3, 4]]))
    assert everything_infinite.loss.item() == 0.0 and int(everything_infinite.counts["infinite_ctc_losses"]) == 1
