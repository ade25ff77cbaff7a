"""A bundle trained with per-language adapters runs with one at transcription: the bundle's language by default,
another by --language, each manifest segment's own in `decode`; never silently without (issue 13)."""
from __future__ import annotations

import pytest
import torch

from fieldasr.bundle import export_bundle, load_bundle
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.models import TINY_WAV2VEC2, Wav2Vec2CTC
from fieldasr.text import Vocabulary
from fieldasr.transcribe.bundle_model import BundleAcousticModel, segment_emissions
from fieldasr.transcribe.engine import TranscriptionError
from test_transcribe import recording_with_pauses
from test_transcribe_bundle import run, run_fieldasr

torch.set_num_threads(1)
LETTERS = Vocabulary(tuple("<blank> <unk> | a e i k m n o s t u".split()))


def adapter_model(languages: tuple[str, ...]) -> Wav2Vec2CTC:
    """A tiny wav2vec 2.0 whose adapters are trained-looking (they start as the identity, which would hide a bug)."""
    torch.manual_seed(0)
    model = Wav2Vec2CTC(TINY_WAV2VEC2, len(LETTERS), adapter_languages=languages)
    with torch.no_grad():
        for parameter in model.adapters.adapter_parameters():
            parameter.normal_(0, 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapter-bundles")
    return {
        "ain": export_bundle(folder / "ain", adapter_model(("ain", "jpn")), LETTERS, label_unit="characters", language="ain"),
        "unrecorded": export_bundle(folder / "unrecorded", adapter_model(("ain", "jpn")), LETTERS, label_unit="characters"),
        "single": export_bundle(folder / "single", adapter_model(("ain",)), LETTERS, label_unit="characters"),
        "plain": export_bundle(folder / "plain", Wav2Vec2CTC(TINY_WAV2VEC2, len(LETTERS)), LETTERS, label_unit="characters"),
    }


def speech() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000])


def network_log_probs(bundle_dir, languages) -> torch.Tensor:
    """What the bundle's network gives for `languages` (None: adapters off), asked directly."""
    waveforms, lengths = speech()
    with torch.inference_mode():
        logits, _ = load_bundle(bundle_dir).model(waveforms, lengths, languages)
    return logits.log_softmax(-1)


def transcribed(bundle_dir, language: str | None = None, precision: str = "fp32") -> torch.Tensor:
    with torch.inference_mode():
        return BundleAcousticModel(load_bundle(bundle_dir), precision, language).log_probs(*speech())[0]


def test_the_bundles_language_is_chosen_by_default_and_its_adapter_changes_the_output(bundles):
    default = transcribed(bundles["ain"])
    assert torch.allclose(default, network_log_probs(bundles["ain"], ["ain", "ain"]), atol=1e-6)
    assert not torch.allclose(default, network_log_probs(bundles["ain"], None), atol=1e-3)  # not the un-adapted encoder
    assert not torch.allclose(default, network_log_probs(bundles["ain"], ["jpn", "jpn"]), atol=1e-3)


def test_language_option_picks_another_adapter(bundles):
    asked = transcribed(bundles["ain"], "jpn")
    assert torch.allclose(asked, network_log_probs(bundles["ain"], ["jpn", "jpn"]), atol=1e-6)
    assert not torch.allclose(asked, transcribed(bundles["ain"]), atol=1e-3)


def test_int8_keeps_the_adapters_on(bundles):
    """Quantisation must not copy the model away from its adapter hooks (they would stay off without a word)."""
    ain, jpn = transcribed(bundles["ain"], "ain", "int8"), transcribed(bundles["ain"], "jpn", "int8")
    assert not torch.allclose(ain, jpn, atol=1e-3)
    assert (ain.argmax(-1) == transcribed(bundles["ain"], "ain").argmax(-1)).float().mean() > 0.9


def test_a_single_adapter_is_the_default_and_several_without_a_recorded_language_are_refused(bundles):
    assert BundleAcousticModel(load_bundle(bundles["single"])).language_for_audio() == "ain"
    model = BundleAcousticModel(load_bundle(bundles["unrecorded"]))
    with pytest.raises(TranscriptionError, match="adapters for ain, jpn .* --language"):
        model.language_for_audio()
    assert BundleAcousticModel(load_bundle(bundles["plain"])).language_for_audio() is None


def test_a_language_without_an_adapter_is_refused_naming_the_available_ones(bundles):
    with pytest.raises(TranscriptionError, match="no adapter for language 'deu'; it has adapters for ain, jpn"):
        BundleAcousticModel(load_bundle(bundles["ain"]), language="deu")
    with pytest.raises(TranscriptionError, match="no per-language adapters"):
        BundleAcousticModel(load_bundle(bundles["plain"]), language="ain")


def test_manifest_segments_use_their_own_language_unless_one_is_asked(bundles, tmp_path):
    audio = recording_with_pauses(tmp_path, "session", ["kamuy", "sinot"])
    recording = Recording.from_audio("session", audio)
    segments = (Segment(id="a", recording_id="session", start=0.3, duration=1.0, language="jpn"),
                Segment(id="b", recording_id="session", start=0.3, duration=1.0, language="deu"),  # no adapter: the bundle's
                Segment(id="c", recording_id="session", start=0.3, duration=1.0))
    corpus = Corpus({"session": recording}, segments)
    model = BundleAcousticModel(load_bundle(bundles["ain"]))
    assert model.row_languages([s.language for s in segments]) == ["jpn", "ain", "ain"]
    emissions = segment_emissions(model, corpus, show_progress=False)
    assert not torch.allclose(emissions["a"], emissions["b"], atol=1e-3) and torch.allclose(emissions["b"], emissions["c"])
    asked = BundleAcousticModel(load_bundle(bundles["ain"]), language="jpn")
    assert asked.row_languages([s.language for s in segments]) == ["jpn"] * 3
    unrecorded = BundleAcousticModel(load_bundle(bundles["unrecorded"]))
    assert unrecorded.row_languages(["ain", "jpn"]) == ["ain", "jpn"]  # a multilingual dev set needs no --language
    with pytest.raises(TranscriptionError, match="--language"):
        unrecorded.row_languages(["ain", None])


def test_decode_and_transcribe_commands_take_language(bundles, tmp_path, monkeypatch, capsys):
    audio = recording_with_pauses(tmp_path, "session", ["kamuy sinot"])
    recording = Recording.from_audio("session", audio)
    Corpus({"session": recording}, (Segment(id="a", recording_id="session", start=0.3, duration=1.0),)).save(tmp_path / "test")
    for language in ("ain", "jpn"):
        run("decode", str(bundles["ain"]), str(tmp_path / "test"), "--out", str(tmp_path / language), "--language", language,
            "--precision", "fp32")
    assert Corpus.load(tmp_path / "jpn").segments[0].id == "a"
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundles["ain"], audio, "--out-dir", tmp_path / "out",
                                "--format", "txt", "--precision", "fp32")
    assert code == 0 and "adapter language: ain" in output, output
    code, output = run_fieldasr(monkeypatch, capsys, "decode", bundles["ain"], tmp_path / "test", "--out", tmp_path / "x",
                                "--language", "deu")
    assert code == 2 and "has adapters for ain, jpn" in output and "Traceback" not in output
    assert not (tmp_path / "x").exists()
