"""BiLSTM-CTC (Persephone's architecture): frame arithmetic, padding independence, CTC training, rebuild from its config."""
from __future__ import annotations

import torch

from fieldasr.models import TINY_BILSTM, BiLSTMConfig, BiLSTMCTC, build_model

torch.set_num_threads(1)


def test_frames_are_filterbank_frames_divided_by_the_stacking():
    model = BiLSTMCTC(BiLSTMConfig(num_mel_bins=40, hidden_size=16, num_layers=2, frame_stacking=3), vocab_size=7).eval()
    logits, frames = model(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    # 101 centred 10 ms frames → 33 steps of 3; 8000 samples: 51 frames → 17 steps.
    assert logits.shape == (2, 33, 7) and frames.tolist() == [33, 17]
    assert model.frame_lengths(torch.tensor([16000])).tolist() == [33]


def test_padding_does_not_change_an_utterance_output():
    torch.manual_seed(0)
    model = BiLSTMCTC(TINY_BILSTM, vocab_size=5).eval()
    # The utterance is the first 8000 samples; both inputs share the next 400, which its last filterbank frames see.
    speech = torch.randn(1, 8400)
    alone, frames = model(speech, torch.tensor([8000]))
    padded, padded_frames = model(torch.cat([speech, 100 * torch.randn(1, 8000)], dim=1), torch.tensor([8000]))
    assert frames.tolist() == padded_frames.tolist() and padded.shape[1] > alone.shape[1]
    # The backward LSTM starts at the utterance's own last frame (packed sequences), not in the loud padding.
    assert torch.allclose(alone[0, : frames[0]], padded[0, : frames[0]], atol=1e-5)


def test_ctc_loss_falls_on_one_utterance_and_the_model_rebuilds_from_its_config():
    torch.manual_seed(0)
    model = BiLSTMCTC(TINY_BILSTM, vocab_size=5)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    waveform, lengths, labels = torch.randn(1, 16000), torch.tensor([16000]), torch.tensor([[1, 2, 3, 4, 2]])
    losses = []
    for _ in range(30):
        logits, frames = model(waveform, lengths)
        loss = torch.nn.functional.ctc_loss(logits.log_softmax(-1).transpose(0, 1), labels, frames, torch.tensor([5]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    rebuilt = build_model(model.architecture, model.model_config())
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    assert torch.equal(rebuilt(waveform, lengths)[0], model(waveform, lengths)[0])
