"""Precision: "auto" resolves to the measured CPU default, and the bundle model applies the precision itself,
so `fieldasr decode` runs bf16 as `fieldasr transcribe` does."""
from __future__ import annotations

import pytest
import torch

from fieldasr.bundle import export_bundle, load_bundle
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary
from fieldasr.transcribe import TranscriptionError
from fieldasr.transcribe.bundle_model import BundleAcousticModel, cpu_default_precision, resolve_precision

LETTERS = Vocabulary(tuple("<blank> <unk> | a e i o u k m n".split()))


def test_auto_is_the_cpu_default_on_cpu_and_fp32_elsewhere():
    assert resolve_precision("auto", "cpu") == cpu_default_precision() in ("bf16", "int8")  # fp32 lost on speed
    assert resolve_precision("auto", "cuda:0") == "fp32"
    assert resolve_precision("int8", "cpu") == "int8"
    with pytest.raises(TranscriptionError, match="not auto or one of"):
        resolve_precision("fp8", "cpu")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = ConformerCTC(TINY_CONFORMER, len(LETTERS)).eval()
    return export_bundle(tmp_path_factory.mktemp("precision") / "bundle", model, LETTERS, label_unit="characters")


def test_the_model_runs_at_its_own_precision(bundle_dir):
    waveforms, lengths = torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000])
    dtypes = {}
    for precision in ("fp32", "bf16", "int8"):
        model = BundleAcousticModel(load_bundle(bundle_dir), precision)
        assert model.precision == precision
        seen = []
        handle = model.network.register_forward_hook(lambda module, inputs, output: seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None))
        with torch.inference_mode():
            log_probs, frames = model.log_probs(waveforms, lengths)
        handle.remove()
        dtypes[precision] = seen[0]
        assert log_probs.dtype == torch.float32 and torch.isfinite(log_probs).all()
        if precision == "int8":
            assert any("quantized" in type(module).__module__ for module in model.network.modules())
    assert dtypes == {"fp32": None, "bf16": torch.bfloat16, "int8": None}
