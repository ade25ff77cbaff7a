"""CTC training end to end on espeak-ng speech: loss decreases for both architectures."""
from __future__ import annotations

import torch
from train_data import english_corpus, phone_vocabulary  # noqa: F401  (fixture)

from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerCTC, Wav2Vec2CTC
from fieldasr.train import Trainer, TrainerOptions
from fieldasr.train.batching import duration_batch_sampler
from fieldasr.train.pipeline import SpeechDataset, collate_ctc, filter_ctc_feasible, prepare_ctc_examples
from fieldasr.decode import greedy_decode
from fieldasr.text import Vocabulary
from fieldasr.train.tasks import CTCTask

torch.set_num_threads(1)


def train_for(model, corpus, folder, steps=30, validate=True):
    vocabulary = phone_vocabulary(corpus)
    examples, report = filter_ctc_feasible(prepare_ctc_examples(corpus, vocabulary), model.frame_lengths)
    assert report.removed == ()
    dataset = SpeechDataset(examples)
    options = TrainerOptions(experiment_dir=folder, lr=2e-3, max_steps=steps, max_epochs=100, progress_bar=False,
                             valid_metric="token_error_rate")
    sampler = duration_batch_sampler(dataset.durations, max_batch_duration=6.0)
    return Trainer(CTCTask(model, vocabulary), options, dataset, collate_ctc, batch_sampler=sampler, valid_set=dataset if validate else None).fit()


def test_conformer_ctc_loss_decreases(english_corpus, tmp_path):
    model = ConformerCTC(TINY_CONFORMER, len(phone_vocabulary(english_corpus)))
    summary = train_for(model, english_corpus, tmp_path)
    assert summary.optimizer_steps == 30
    first, last = summary.step_losses[:5], summary.step_losses[-5:]
    assert sum(last) < 0.8 * sum(first)
    assert 0 <= summary.valid_metrics["token_error_rate"] <= 1.5


def test_wav2vec2_ctc_loss_decreases(english_corpus, tmp_path):
    model = Wav2Vec2CTC(TINY_WAV2VEC2, len(phone_vocabulary(english_corpus)))
    summary = train_for(model, english_corpus, tmp_path, steps=20, validate=False)
    assert sum(summary.step_losses[-5:]) < 0.8 * sum(summary.step_losses[:5])


def test_greedy_decode_merges_repeats_and_drops_blanks():
    # Validation decodes with the library's greedy decoder. Frames: a a _ a b b _ (padding) → "a a b".
    best = torch.tensor([[1, 1, 0, 1, 2, 2, 0, 2]])
    logits = torch.nn.functional.one_hot(best, 3).float()
    (result,) = greedy_decode(logits, Vocabulary(("<blank>", "a", "b")), torch.tensor([7]))
    assert result.token_ids == (1, 1, 2)


def test_validation_token_errors_are_counted_as_evaluate_counts_them():
    """Reference a b, greedy output b c: sclite's alignment (a deletion and an insertion) gives 2 errors per 2 tokens."""
    from fieldasr.train.pipeline import CTCBatch

    vocabulary = Vocabulary(("<blank>", "a", "b", "c"))
    logits = torch.nn.functional.one_hot(torch.tensor([[2, 0, 3, 0]]), 4).float()

    class FixedOutput(torch.nn.Module):
        def forward(self, waveforms, lengths, languages=None):
            return logits, torch.tensor([4])

    batch = CTCBatch(("u",), torch.zeros(1, 10), torch.tensor([10]), torch.tensor([[1, 2]]), torch.tensor([2]), ("und",))
    assert CTCTask(FixedOutput(), vocabulary).validation_metrics(batch) == {"token_error_rate": 1.0}
