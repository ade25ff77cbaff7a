"""Bundle export → load gives the same logits; mismatched weights are reported clearly."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from fieldasr.bundle import BundleError, export_bundle, load_bundle
from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerCTC, ModelMismatchError, Wav2Vec2CTC
from fieldasr.text import Vocabulary

torch.set_num_threads(1)
VOCABULARY = Vocabulary(("<blank>", "<unk>", "a", "b", "|"))


@pytest.mark.parametrize("make_model", [
    lambda: Wav2Vec2CTC(TINY_WAV2VEC2, len(VOCABULARY), adapter_languages=["en", "de"]),
    lambda: ConformerCTC(TINY_CONFORMER, len(VOCABULARY)),
])
def test_export_then_load_gives_same_logits(tmp_path, make_model):
    model = make_model().eval()
    for parameter in model.parameters():  # adapters start as identity; make them matter
        torch.nn.init.normal_(parameter, std=0.05) if parameter.dim() > 1 else None
    spec = tmp_path / "spec.yaml"
    spec.write_text("language: test\n")
    bundle_dir = export_bundle(tmp_path / "bundle", model, VOCABULARY, language="xx", normaliser="nfc-lower", g2p_spec=spec)
    bundle = load_bundle(bundle_dir)
    waveforms, lengths = torch.randn(2, 8000), torch.tensor([8000, 6000])
    languages = ["en", "de"] if isinstance(model, Wav2Vec2CTC) else None
    with torch.no_grad():
        expected, expected_frames = model(waveforms, lengths, languages)
        logits, frames = bundle.model(waveforms, lengths, languages)
    torch.testing.assert_close(logits, expected)
    assert frames.tolist() == expected_frames.tolist()
    assert bundle.vocabulary == VOCABULARY and bundle.language == "xx" and bundle.normaliser == "nfc-lower"
    assert bundle.g2p_spec.read_text() == "language: test\n"
    assert bundle.lexicon is None


def test_refuses_to_overwrite_and_reports_mismatched_weights(tmp_path):
    model = ConformerCTC(TINY_CONFORMER, len(VOCABULARY))
    bundle_dir = export_bundle(tmp_path / "bundle", model, VOCABULARY)
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(bundle_dir, model, VOCABULARY)
    other = ConformerCTC(TINY_CONFORMER, len(VOCABULARY) + 3)  # another vocabulary size
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(bundle_dir / "model.safetensors"))
    with pytest.raises(ModelMismatchError, match=r"different shape \(2\): head.bias: file \(8,\) vs model \(5,\)"):
        load_bundle(bundle_dir)
    description = json.loads((bundle_dir / "bundle.json").read_text())
    description["architecture"] = "wav2vec2_ctc"
    description["model_config"] = Wav2Vec2CTC(TINY_WAV2VEC2, len(VOCABULARY)).model_config()
    (bundle_dir / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(ModelMismatchError, match="missing"):
        load_bundle(bundle_dir)
