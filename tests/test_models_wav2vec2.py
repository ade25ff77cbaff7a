"""wav2vec 2.0 + CTC head: from a config, from a local HF checkpoint, freezing, adapters."""
from __future__ import annotations

import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC, Wav2Vec2Model

from fieldasr.models import TINY_WAV2VEC2, Wav2Vec2CTC
from fieldasr.models.adapters import AdapterError
from fieldasr.models.wav2vec2 import normalise_waveforms

torch.set_num_threads(1)


def test_logit_frames_match_frame_lengths():
    model = Wav2Vec2CTC(TINY_WAV2VEC2, vocab_size=7).eval()
    logits, frames = model(torch.randn(2, 16000), torch.tensor([16000, 9600]))
    assert logits.shape == (2, 49, 7)  # 20 ms frames, 25 ms receptive field: (16000 - 400) // 320 + 1
    assert frames.tolist() == [49, (9600 - 400) // 320 + 1]


@pytest.mark.parametrize("hf_class", [Wav2Vec2Model, Wav2Vec2ForCTC])
def test_from_local_checkpoint_keeps_encoder_weights(tmp_path, hf_class):
    hf_model = hf_class(Wav2Vec2Config(**TINY_WAV2VEC2, vocab_size=5)).eval()
    hf_model.save_pretrained(tmp_path)
    model = Wav2Vec2CTC.from_pretrained(tmp_path, vocab_size=9).eval()
    waveforms, lengths = torch.randn(1, 8000), torch.tensor([8000])
    encoder = hf_model if hf_class is Wav2Vec2Model else hf_model.wav2vec2
    with torch.no_grad():
        expected = encoder(normalise_waveforms(waveforms, lengths)).last_hidden_state
        hidden = model.encoder(normalise_waveforms(waveforms, lengths)).last_hidden_state
    torch.testing.assert_close(hidden, expected)
    assert model.head.out_features == 9


def test_missing_checkpoint_directory_is_explained(tmp_path):
    with pytest.raises(Exception, match="no config.json"):
        Wav2Vec2CTC.from_pretrained(tmp_path, vocab_size=5)


def test_feature_encoder_frozen_and_encoder_frozen_for_first_steps():
    model = Wav2Vec2CTC(TINY_WAV2VEC2, vocab_size=5, freeze_encoder_steps=2).train()
    assert not any(p.requires_grad for p in model.encoder.feature_extractor.parameters())
    waveforms, lengths = torch.randn(1, 8000), torch.tensor([8000])
    layer_weight = model.encoder.encoder.layers[0].feed_forward.output_dense.weight
    for step, encoder_learns in [(0, False), (2, True)]:
        model.zero_grad()
        model.set_training_step(step)
        model(waveforms, lengths)[0].sum().backward()
        assert (layer_weight.grad is not None) == encoder_learns
        assert model.head.weight.grad is not None


def test_language_adapters_start_as_identity_and_act_per_row():
    torch.manual_seed(0)
    plain = Wav2Vec2CTC(TINY_WAV2VEC2, vocab_size=5).eval()
    adapted = Wav2Vec2CTC(TINY_WAV2VEC2, vocab_size=5, adapter_languages=["en", "de"]).eval()
    adapted.load_state_dict(plain.state_dict(), strict=False)
    waveforms, lengths = torch.randn(2, 8000), torch.tensor([8000, 8000])
    with torch.no_grad():
        reference = plain(waveforms, lengths)[0]
        torch.testing.assert_close(adapted(waveforms, lengths, ["en", "de"])[0], reference)
        for adapter in adapted.adapters.adapters:
            torch.nn.init.normal_(adapter["de"].up.weight)
        changed = adapted(waveforms, lengths, ["en", "de"])[0]
    torch.testing.assert_close(changed[0], reference[0])
    assert not torch.allclose(changed[1], reference[1])
    with pytest.raises(AdapterError, match="fr"):
        adapted(waveforms, lengths, ["en", "fr"])
    adapted.train_only_adapters_and_head()
    trainable = {name for name, p in adapted.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith(("adapters.", "head.")) for name in trainable)
