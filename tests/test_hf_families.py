"""Every supported Hugging Face family through the one loader (fieldasr.models.hf_encoder): hidden states equal the
family's own transformers class, the preprocessor's policy is honoured, fine-tuning → export → transcription works,
continued pretraining where the checkpoint has a wav2vec 2.0 quantizer, a clear refusal elsewhere."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from hf_checkpoints import FAMILIES, hf_encoder_class, hf_inputs, make_checkpoint
from safetensors.torch import load_file, save_file
from train_data import english_corpus  # noqa: F401  (fixture)

from fieldasr.bundle import export_experiment, load_bundle
from fieldasr.errors import FieldasrError
from fieldasr.models import Wav2Vec2CTC
from fieldasr.models.hf_encoder import EncoderCheckpointError, read_checkpoint
from fieldasr.ssl.pretraining_task import load_pretraining_model
from fieldasr.transcribe.bundle_model import BundleAcousticModel
from fieldasr.transcribe.engine import Transcriber

torch.set_num_threads(1)
MODEL_TYPES = {"xlsr": "wav2vec2", "wav2vec2-base": "wav2vec2", "mms": "wav2vec2", "hubert": "hubert", "wavlm": "wavlm",
               "data2vec-audio": "data2vec-audio", "w2v-bert": "wav2vec2-bert"}
NO_PRETRAINING = {"hubert": "k-means", "wavlm": "cluster labels", "data2vec-audio": "teacher", "w2v-bert": "no quantizer"}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub")
    return {family: make_checkpoint(root / family, family, seed=number) for number, family in enumerate(FAMILIES)}


def two_waves() -> tuple[list[np.ndarray], torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    waves = [0.1 * rng.standard_normal(16000).astype(np.float32), 0.1 * rng.standard_normal(11000).astype(np.float32) + 0.05]
    padded = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(wave) for wave in waves], batch_first=True)
    return waves, padded, torch.tensor([len(wave) for wave in waves])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_hidden_states_equal_the_family_class(checkpoints, family):
    folder = checkpoints[family]
    ours = Wav2Vec2CTC.from_pretrained(folder, vocab_size=5).eval()
    theirs = hf_encoder_class(family).from_pretrained(str(folder)).eval()
    assert type(ours.encoder) is type(theirs) and ours.model_type == MODEL_TYPES[family]
    waves, padded, lengths = two_waves()
    frames = ours.frame_lengths(lengths)
    with torch.no_grad():
        hidden = ours.hidden_states(padded, lengths)
        expected = theirs(**hf_inputs(folder, waves)).last_hidden_state
        if not ours.inputs.attention_mask:
            # Without a mask HF's extractor normalises a padded row over its padding too; the longest row has none, and
            # the shorter one is the family class on the same zero-padded input (normalised over its real samples as
            # the extractor does for it alone).
            inputs = ours.encoder_inputs(padded, lengths)
            alone = hf_inputs(folder, waves[1:])["input_values"][0]
            torch.testing.assert_close(inputs["input_values"][1, : len(waves[1])], alone, atol=1e-5, rtol=0)
            assert inputs["attention_mask"] is None and float(inputs["input_values"][1, len(waves[1]):].abs().max()) == 0
            expected[1] = theirs(input_values=inputs["input_values"]).last_hidden_state[1]
    assert hidden.shape[1] >= int(frames.max())
    for row, count in enumerate(frames.tolist()):
        torch.testing.assert_close(hidden[row, :count], expected[row, :count], atol=1e-5, rtol=0)


def test_input_policy_is_the_preprocessor_config(checkpoints):
    policies = {family: read_checkpoint(checkpoints[family]).inputs for family in ("xlsr", "wav2vec2-base", "w2v-bert")}
    assert (policies["xlsr"].normalise, policies["xlsr"].attention_mask) == (True, True)
    assert (policies["wav2vec2-base"].normalise, policies["wav2vec2-base"].attention_mask) == (True, False)
    assert policies["w2v-bert"].features == "filterbank" and policies["w2v-bert"].filterbank_settings["num_mel_bins"] == 80


def test_a_group_norm_model_without_preprocessor_gets_no_mask(checkpoints, tmp_path):
    folder = tmp_path / "base"
    folder.mkdir()
    for name in ("config.json", "pytorch_model.bin"):
        (folder / name).write_bytes((checkpoints["wav2vec2-base"] / name).read_bytes())
    assert read_checkpoint(folder).inputs.attention_mask is False


@pytest.mark.parametrize("family", ["hubert", "wavlm"])
def test_hubert_or_wavlm_cannot_load_as_wav2vec2(checkpoints, family, tmp_path):
    assert type(Wav2Vec2CTC.from_pretrained(checkpoints[family], 5).encoder) is hf_encoder_class(family)
    relabelled = tmp_path / "relabelled"
    relabelled.mkdir()
    for path in checkpoints[family].iterdir():
        (relabelled / path.name).write_bytes(path.read_bytes())
    config = json.loads((relabelled / "config.json").read_text())
    config.update(model_type="wav2vec2", architectures=["Wav2Vec2ForCTC"])
    (relabelled / "config.json").write_text(json.dumps(config))
    if family == "wavlm":  # its relative position bias has no place in wav2vec 2.0: the weights give it away
        with pytest.raises(EncoderCheckpointError, match=r"unexpected .*rel_attn_embed|unexpected .*gru_rel_pos"):
            Wav2Vec2CTC.from_pretrained(relabelled, 5)
    else:  # HuBERT's tensors are named as wav2vec 2.0's: only model_type tells them apart, and it picks the class
        assert type(Wav2Vec2CTC.from_pretrained(checkpoints[family], 5).encoder) is transformers.HubertModel


def test_missing_encoder_weights_are_named(checkpoints, tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    for path in checkpoints["wavlm"].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    weights = load_file(str(folder / "model.safetensors"))
    dropped = next(name for name in weights if "encoder.layers.1.attention.k_proj.weight" in name)
    save_file({name: tensor for name, tensor in weights.items() if name != dropped}, str(folder / "model.safetensors"))
    with pytest.raises(EncoderCheckpointError, match=r"missing \(1\): .*layers.1.attention.k_proj.weight"):
        Wav2Vec2CTC.from_pretrained(folder, 5)


def test_unsupported_model_type_is_refused_by_name(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"]}))
    with pytest.raises(EncoderCheckpointError, match=r"model_type 'whisper' is not a speech encoder .* wav2vec2, hubert, wavlm"):
        Wav2Vec2CTC.from_pretrained(tmp_path, 5)


def test_overrides_reach_a_pretrained_encoder_and_unknown_ones_are_refused(checkpoints):
    model = Wav2Vec2CTC.from_pretrained(checkpoints["xlsr"], 5, overrides={"mask_time_prob": 0.3, "layerdrop": 0.2, "hidden_dropout": 0.1},
                                        gradient_checkpointing=True)
    config = model.encoder.config
    assert (config.mask_time_prob, config.layerdrop, config.hidden_dropout) == (0.3, 0.2, 0.1)
    checkpointing = getattr(type(model.encoder), "is_activation_checkpointing", None) or type(model.encoder).is_gradient_checkpointing
    assert checkpointing.fget(model.encoder) and model.model_config()["encoder_config"]["mask_time_prob"] == 0.3
    _, padded, lengths = two_waves()
    model.train()
    logits, _ = model(padded, lengths)
    logits.sum().backward()
    assert model.encoder.encoder.layers[0].attention.q_proj.weight.grad is not None
    with pytest.raises(EncoderCheckpointError, match=r"'hidden_size' cannot be changed on a pretrained encoder"):
        Wav2Vec2CTC.from_pretrained(checkpoints["xlsr"], 5, overrides={"hidden_size": 64})


@pytest.mark.parametrize("family", list(NO_PRETRAINING))
def test_continued_pretraining_is_refused_with_the_reason(checkpoints, family):
    with pytest.raises(FieldasrError, match=f"continued pretraining is not offered for {MODEL_TYPES[family]}: .*{NO_PRETRAINING[family]}"):
        load_pretraining_model(checkpoints[family])


@pytest.mark.parametrize("family", ["xlsr", "wav2vec2-base"])
def test_continued_pretraining_keeps_the_checkpoints_policy(checkpoints, family, english_corpus, tmp_path):
    from fieldasr.ssl.pretrain import continue_pretraining
    from fieldasr.ssl.pretraining_task import PretrainingOptions

    summary = continue_pretraining(checkpoints[family], english_corpus, tmp_path / "out", max_steps=2, warmup_steps=1,
                                   options=PretrainingOptions(mask_length=2, num_negatives=5, mask_probability=0.3), progress_bar=False)
    assert summary.steps == 2 and np.isfinite(summary.final_loss)
    continued = read_checkpoint(summary.checkpoint)
    assert continued.inputs == read_checkpoint(checkpoints[family]).inputs
    before = load_file(str(checkpoints[family] / "model.safetensors")) if family == "xlsr" else None
    if before is not None:
        after = load_file(str(summary.checkpoint / "model.safetensors"))
        assert not torch.equal(before["quantizer.codevectors"], after["quantizer.codevectors"])


def fine_tune(folder: Path, corpus, tmp_path: Path, **model_settings) -> Path:
    from fieldasr.train.recipe import run_ctc_recipe

    corpus.save(tmp_path / "train")
    recipe = {"experiment_dir": str(tmp_path / "exp"), "data": {"train": str(tmp_path / "train"), "max_batch_duration": 8.0},
              "model": {"architecture": "wav2vec2_ctc", "pretrained": str(folder), **model_settings},
              "trainer": {"max_steps": 2, "max_epochs": 5, "lr": 1e-3, "progress_bar": False, "checkpoint_interval_steps": 2}}
    summary = run_ctc_recipe(recipe)
    assert summary.optimizer_steps == 2 and all(np.isfinite(summary.step_losses))
    return export_experiment(tmp_path / "exp", tmp_path / "bundle")


@pytest.mark.parametrize("family", [family for family in FAMILIES if family != "mms"])
def test_fine_tune_export_transcribe(checkpoints, family, english_corpus, tmp_path):
    bundle_dir = fine_tune(checkpoints[family], english_corpus, tmp_path, config={"mask_time_prob": 0.05, "mask_time_length": 2})
    description = json.loads((bundle_dir / "bundle.json").read_text())
    assert description["model_config"]["model_type"] == MODEL_TYPES[family]
    assert description["model_config"]["inputs"] == read_checkpoint(checkpoints[family]).inputs.to_dict()
    bundle = load_bundle(bundle_dir)
    assert type(bundle.model.encoder) is hf_encoder_class(family)
    recording = Path(english_corpus.recordings[english_corpus.segments[0].recording_id].path)
    transcript = Transcriber(BundleAcousticModel(bundle)).transcribe(recording)
    assert transcript.duration > 0 and transcript.segments  # speech found and decoded by the fine-tuned model


def test_mms_fine_tuning_trains_its_own_adapter_and_head_only(checkpoints, english_corpus, tmp_path):
    folder = checkpoints["mms"]
    with pytest.raises(FieldasrError, match="own MMS attention adapters"):
        Wav2Vec2CTC.from_pretrained(folder, 5, adapter_languages=["en"])
    bundle_dir = fine_tune(folder, english_corpus, tmp_path, train_only_adapters=True, mms_adapter="fra")
    trained = load_file(str(bundle_dir / "model.safetensors"))
    base = load_file(str(folder / "model.safetensors"))
    french = load_file(str(folder / "adapter.fra.safetensors"))
    assert not any(name.startswith("adapters.") for name in trained)  # no second adapter stack
    adapter_names = [name for name in trained if ".adapter_layer." in name]
    assert adapter_names and all(not torch.equal(trained[name], french["wav2vec2." + name.removeprefix("encoder.")])
                                 for name in adapter_names if name.endswith("weight"))
    frozen = [name for name in trained if name.startswith("encoder.") and ".adapter_layer." not in name and "masked_spec_embed" not in name]
    assert frozen and all(torch.equal(trained[name], base["wav2vec2." + name.removeprefix("encoder.")]) for name in frozen)
    assert load_bundle(bundle_dir).model.has_mms_adapters


def test_a_bundle_from_before_the_loader_keeps_its_input_rules():
    """Old bundles' model_config has no model_type or inputs: wav2vec 2.0, normalised, with a mask, as they were trained."""
    from fieldasr.models import TINY_WAV2VEC2, build_model
    from fieldasr.models.hf_encoder import LEGACY_INPUT_POLICY

    old = {key: value for key, value in Wav2Vec2CTC({**TINY_WAV2VEC2, "feat_extract_norm": "group", "do_stable_layer_norm": False},
                                                     5).model_config().items() if key not in ("model_type", "inputs")}
    rebuilt = build_model("wav2vec2_ctc", old)
    assert type(rebuilt.encoder) is transformers.Wav2Vec2Model and rebuilt.inputs == LEGACY_INPUT_POLICY
    assert Wav2Vec2CTC(old["encoder_config"], 5).inputs.attention_mask is False  # a new group-norm model: HF's rule


def test_weights_stored_in_fp16_load_as_fp32(checkpoints, tmp_path):
    half = transformers.HubertForCTC.from_pretrained(str(checkpoints["hubert"])).half()
    half.save_pretrained(str(tmp_path / "half"))
    (tmp_path / "half" / "preprocessor_config.json").write_bytes((checkpoints["hubert"] / "preprocessor_config.json").read_bytes())
    model = Wav2Vec2CTC.from_pretrained(tmp_path / "half", 5)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    torch.testing.assert_close(model.encoder.feature_projection.projection.weight, half.hubert.feature_projection.projection.weight.float())


def test_old_weight_norm_names_of_published_checkpoints_load(checkpoints, tmp_path):
    """XLS-R and MMS files name the positional convolution's weight norm weight_g / weight_v (older torch)."""
    folder = tmp_path / "old-names"
    folder.mkdir()
    for path in checkpoints["xlsr"].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    weights = load_file(str(folder / "model.safetensors"))
    old_names = {name.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v"): tensor
                 for name, tensor in weights.items()}
    assert "wav2vec2.encoder.pos_conv_embed.conv.weight_v" in old_names
    save_file(old_names, str(folder / "model.safetensors"), metadata={"format": "pt"})
    model = Wav2Vec2CTC.from_pretrained(folder, 5)
    torch.testing.assert_close(model.encoder.encoder.pos_conv_embed.conv.parametrizations.weight.original1,
                               weights["wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1"])
