"""Conformer on filterbanks: frame arithmetic, SpecAugment, an encoder kept frozen for the first steps."""
from __future__ import annotations

import torch

from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.models.conformer import SpecAugment

torch.set_num_threads(1)


def test_output_frames_follow_4x_subsampling_of_10ms_frames():
    model = ConformerCTC(TINY_CONFORMER, vocab_size=6).eval()
    logits, frames = model(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    # 101 filterbank frames (centred, 10 ms hop), then two convolutions of kernel 3, stride 2: 50, then 24.
    assert logits.shape == (2, 24, 6)
    assert frames.tolist() == [24, 12]  # 8000 samples: 51 → 25 → 12


def test_longest_utterance_decides_the_frame_count():
    model = ConformerCTC(TINY_CONFORMER, vocab_size=6).eval()
    logits, frames = model(torch.randn(2, 16000), torch.tensor([8000, 8000]))  # padding past both utterances
    assert logits.shape[1] == 12 and frames.tolist() == [12, 12]


def test_spec_augment_masks_only_while_training():
    augment = SpecAugment(time_masks=2, time_mask_width=10, frequency_masks=2, frequency_mask_width=5)
    features = torch.randn(3, 100, 40) + 10
    assert (augment.train()(features) == 0).any()
    assert torch.equal(augment.eval()(features), features)


def test_encoder_frozen_for_the_first_steps_only():
    model = ConformerCTC(TINY_CONFORMER, vocab_size=6).train()
    model.freeze_encoder_steps = 2
    waveforms, lengths = torch.randn(1, 8000), torch.tensor([8000])
    encoder_weights = [model.subsampling[0].weight, model.projection.weight, next(model.conformer.parameters())]
    for step, encoder_learns in [(0, False), (1, False), (2, True)]:
        model.zero_grad()
        model.set_training_step(step)
        model(waveforms, lengths)[0].sum().backward()
        assert all((weight.grad is not None) == encoder_learns for weight in encoder_weights)
        assert model.head.weight.grad is not None
