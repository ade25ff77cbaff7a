"""Tiny checkpoints of every supported Hugging Face family, saved as hub snapshots are laid out (config.json,
preprocessor_config.json, model.safetensors or pytorch_model.bin, vocab.json for CTC ones, MMS adapter files),
made with each family's own transformers classes and exact config keys."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file

CHARACTERS = ["<s>", "</s>", "<unk>", "|", "a", "e", "i", "o", "u", "t", "n", "s", "h", "r", "d", "l", "c", "m", "w", "y", "p", "b", "g", "k"]
SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
CONVOLUTIONS = {"conv_dim": [16] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
                "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
NO_DROPOUT = {"hidden_dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0, "feat_proj_dropout": 0.0,
              "layerdrop": 0.0, "mask_time_prob": 0.0}
# Pretraining checkpoints keep their mask embedding (transformers makes one only when mask_time_prob > 0).
QUANTIZER = {"num_codevectors_per_group": 8, "num_codevector_groups": 2, "codevector_dim": 16, "proj_codevector_dim": 16,
             "mask_time_prob": 0.05}

# name: (config class, model class saved, config settings, preprocessor: do_normalize / return_attention_mask, weights format)
FAMILIES = {
    "xlsr": ("Wav2Vec2Config", "Wav2Vec2ForPreTraining", {**CONVOLUTIONS, **QUANTIZER, "feat_extract_norm": "layer", "do_stable_layer_norm": True}, (True, True), "safetensors"),
    "wav2vec2-base": ("Wav2Vec2Config", "Wav2Vec2ForPreTraining", {**CONVOLUTIONS, **QUANTIZER, "feat_extract_norm": "group", "do_stable_layer_norm": False}, (True, False), "bin"),
    "hubert": ("HubertConfig", "HubertForCTC", {**CONVOLUTIONS, "feat_extract_norm": "group", "do_stable_layer_norm": False}, (True, False), "safetensors"),
    "wavlm": ("WavLMConfig", "WavLMForCTC", {**CONVOLUTIONS, "feat_extract_norm": "layer", "do_stable_layer_norm": True, "num_buckets": 16, "max_bucket_distance": 40}, (True, True), "safetensors"),
    "data2vec-audio": ("Data2VecAudioConfig", "Data2VecAudioForCTC", {**{k: v for k, v in CONVOLUTIONS.items() if k != "num_conv_pos_embedding_groups"}, "num_conv_pos_embeddings": 3, "conv_pos_kernel_size": 5}, (True, True), "bin"),
    "w2v-bert": ("Wav2Vec2BertConfig", "Wav2Vec2BertForCTC", {"feature_projection_input_dim": 160, "conv_depthwise_kernel_size": 3, "left_max_position_embeddings": 16, "right_max_position_embeddings": 4, "position_embeddings_type": "relative_key"}, None, "safetensors"),
    "mms": ("Wav2Vec2Config", "Wav2Vec2ForCTC", {**CONVOLUTIONS, "feat_extract_norm": "layer", "do_stable_layer_norm": True, "adapter_attn_dim": 8}, (True, True), "safetensors"),
}
MMS_LANGUAGES = {"eng": CHARACTERS, "fra": CHARACTERS[:12] + ["é", "è"]}


def vocabulary_json(tokens: list[str], pad_index: int) -> dict[str, int]:
    """Token → id with the pad (the blank of HF CTC) at `pad_index`, not necessarily 0."""
    ordered = tokens[:pad_index] + ["<pad>"] + tokens[pad_index:]
    return {token: index for index, token in enumerate(ordered)}


def make_checkpoint(folder: Path, family: str, seed: int = 0, tokens: list[str] = CHARACTERS, pad_index: int = 0,
                    model_class: str | None = None) -> Path:
    """`model_class`: save another class of the family than FAMILIES says (e.g. Wav2Vec2ForCTC of the xlsr shape)."""
    config_class, family_class, settings, preprocessing, weights = FAMILIES[family]
    model_class = model_class or family_class
    vocabulary = vocabulary_json(tokens, pad_index)
    config = getattr(transformers, config_class)(**{**SIZES, **NO_DROPOUT, **settings}, vocab_size=len(vocabulary), pad_token_id=pad_index)
    torch.manual_seed(seed)
    model = getattr(transformers, model_class)(config)
    with torch.no_grad():  # fresh HF weights leave some tensors constant (e.g. adapters); make every weight count
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(str(folder))
    if weights == "bin":  # older hub snapshots: a pickled state dict (transformers 5 writes only safetensors)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    if preprocessing is None:
        transformers.SeamlessM4TFeatureExtractor().save_pretrained(str(folder))
    else:
        normalise, mask = preprocessing
        transformers.Wav2Vec2FeatureExtractor(do_normalize=normalise, return_attention_mask=mask).save_pretrained(str(folder))
    if model_class.endswith("ForCTC"):
        if family == "mms":
            write_mms_adapters(folder, model)
        else:
            (folder / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
    return folder


def write_mms_adapters(folder: Path, model: torch.nn.Module) -> None:
    """adapter.<lang>.safetensors (the keys `load_adapter` reads) and vocab.json {lang: {token: id}}, as MMS ships them."""
    vocabularies = {}
    for number, (language, tokens) in enumerate(MMS_LANGUAGES.items()):
        vocabularies[language] = vocabulary_json(tokens, 0)
        generator = torch.Generator().manual_seed(100 + number)
        weights = {name: 0.2 * torch.randn(parameter.shape, generator=generator) for name, parameter in model._get_adapters().items()
                   if not name.startswith("lm_head.")}
        weights["lm_head.weight"] = 0.2 * torch.randn(len(vocabularies[language]), model.config.hidden_size, generator=generator)
        weights["lm_head.bias"] = torch.zeros(len(vocabularies[language]))
        save_file(weights, str(folder / f"adapter.{language}.safetensors"))
    (folder / "vocab.json").write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")


def hf_encoder_class(family: str):
    return {"xlsr": transformers.Wav2Vec2Model, "wav2vec2-base": transformers.Wav2Vec2Model, "mms": transformers.Wav2Vec2Model,
            "hubert": transformers.HubertModel, "wavlm": transformers.WavLMModel, "data2vec-audio": transformers.Data2VecAudioModel,
            "w2v-bert": transformers.Wav2Vec2BertModel}[family]


def hf_inputs(folder: Path, waves: list) -> dict[str, torch.Tensor]:
    """What the checkpoint's own feature extractor makes of `waves` (numpy, 16 kHz)."""
    extractor = transformers.AutoFeatureExtractor.from_pretrained(str(folder))
    return dict(extractor(waves, sampling_rate=16000, padding=True, return_tensors="pt"))
