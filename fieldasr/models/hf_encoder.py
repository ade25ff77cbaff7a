"""The one loader of Hugging Face speech encoders: fine-tuning, continued pretraining, export, transcription and
`fieldasr import-hf` all build or load their encoder here.

A checkpoint folder is laid out as on the hub: `config.json`, `preprocessor_config.json` (optional) and
`model.safetensors` or `pytorch_model.bin`. Its `model_type` picks the family's own transformers class, so a
WavLM or HuBERT checkpoint can never be read as wav2vec 2.0 (whose class would drop WavLM's relative position
bias without a word); anything else is refused by name. `preprocessor_config.json` decides how audio enters the
encoder (`InputPolicy`): waveforms normalised or not, with an attention mask or, for group-norm models such as
wav2vec2-base, without one and with the padding zeroed (as Hugging Face documents), or 80-bin filterbanks through
the SeamlessM4T feature extractor for w2v-BERT 2.0. Weights are loaded the transformers way (meta device, no
random initialisation first) and missing or unexpected encoder weights are errors, not warnings.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.errors import FieldasrError

logger = logging.getLogger(__name__)


class EncoderCheckpointError(FieldasrError):
    """A Hugging Face checkpoint folder cannot be used as a speech encoder as asked."""


@dataclass(frozen=True)
class Family:
    model_type: str  # config.json's model_type
    encoder_class: str  # transformers class of the bare encoder
    features: str  # "waveform" | "filterbank"
    pretraining_class: str | None  # transformers class for continued pretraining, None: not offered
    no_pretraining_reason: str = ""


FAMILIES: dict[str, Family] = {family.model_type: family for family in (
    Family("wav2vec2", "Wav2Vec2Model", "waveform", "Wav2Vec2ForPreTraining"),  # wav2vec 2.0, XLS-R, MMS
    Family("hubert", "HubertModel", "waveform", None,
           "HuBERT is trained to predict k-means cluster labels of an earlier model, which the checkpoint does not carry; "
           "fieldasr's continued pretraining is the wav2vec 2.0 contrastive objective, which needs a quantizer HuBERT has not got"),
    Family("wavlm", "WavLMModel", "waveform", None,
           "WavLM is trained with masked prediction of cluster labels (HuBERT's objective) plus denoising, which the "
           "checkpoint does not carry; fieldasr's continued pretraining needs a wav2vec 2.0 quantizer"),
    Family("data2vec-audio", "Data2VecAudioModel", "waveform", None,
           "data2vec regresses a teacher model's averaged layer outputs; the checkpoint has no teacher and no quantizer "
           "for fieldasr's wav2vec 2.0 objective"),
    Family("wav2vec2-bert", "Wav2Vec2BertModel", "filterbank", None,
           "w2v-BERT 2.0 is published without its contrastive/MLM pretraining heads (no quantizer), so its objective "
           "cannot be continued"),
)}

# Settings a recipe may change on a pretrained encoder (fine-tuning regularisation); the rest is the checkpoint's.
ENCODER_OVERRIDES = ("mask_time_prob", "mask_time_length", "mask_feature_prob", "mask_feature_length", "layerdrop",
                     "hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout")
# Heads and pretraining parts a checkpoint may hold besides the encoder (not an error to find them when loading it).
HEAD_PREFIXES = ("lm_head.", "quantizer.", "project_q.", "project_hid.", "projector.", "classifier.", "feature_projector.",
                 "dropout_features.", "masked_spec_embed")
# Parameters an encoder may lack in a checkpoint: made fresh (the mask embedding of a fine-tuned model).
OPTIONAL_ENCODER_WEIGHTS = ("masked_spec_embed",)
CONFIG_BOOKKEEPING = ("architectures", "transformers_version", "_name_or_path", "model_type", "torch_dtype", "dtype")


@dataclass(frozen=True)
class InputPolicy:
    """How audio enters the encoder, as the checkpoint's preprocessor_config.json says."""

    features: str = "waveform"  # "waveform" | "filterbank" (w2v-BERT 2.0: 80-bin fbank, SeamlessM4T extractor)
    normalise: bool = True  # zero mean, unit variance per utterance over its real samples
    attention_mask: bool = True  # False: group-norm models, fed zero padding without a mask
    sampling_rate: int = TARGET_SAMPLING_RATE
    filterbank_settings: Mapping[str, Any] = field(default_factory=dict)  # the feature extractor's own settings

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "filterbank_settings": dict(self.filterbank_settings)}

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> "InputPolicy":
        return cls(**settings)


# Bundles written before the loader existed always normalised and always passed a mask.
LEGACY_INPUT_POLICY = InputPolicy()


@dataclass(frozen=True)
class EncoderCheckpoint:
    """A checked checkpoint folder: its family, encoder settings and input policy; weights not read yet."""

    directory: Path
    family: Family
    settings: Mapping[str, Any]  # config.json without bookkeeping keys
    architectures: tuple[str, ...]  # config.json's architectures, e.g. ("Wav2Vec2ForCTC",)
    inputs: InputPolicy

    @property
    def model_type(self) -> str:
        return self.family.model_type

    @property
    def is_ctc(self) -> bool:
        return any(name.endswith("ForCTC") for name in self.architectures)


def family_of(model_type: Any, source: str) -> Family:
    """The family for `model_type`, or EncoderCheckpointError naming it and the supported ones."""
    if model_type not in FAMILIES:
        raise EncoderCheckpointError(
            f"{source}: model_type {model_type!r} is not a speech encoder fieldasr supports; supported: "
            f"{', '.join(FAMILIES)} (wav2vec2 includes XLS-R and MMS). Use a checkpoint of one of these families.")
    return FAMILIES[model_type]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EncoderCheckpointError(f"{path}: not valid JSON ({error}); copy the checkpoint folder again.") from error
    if not isinstance(data, dict):
        raise EncoderCheckpointError(f"{path}: expected a JSON object; copy the checkpoint folder again.")
    return data


def read_checkpoint(directory: str | Path) -> EncoderCheckpoint:
    """config.json and preprocessor_config.json of a local checkpoint folder, checked; nothing is downloaded."""
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise EncoderCheckpointError(f"{directory}: not a Hugging Face checkpoint folder (no config.json). "
                                     "Give the folder holding config.json and the weights (model.safetensors or pytorch_model.bin).")
    config = _read_json(directory / "config.json")
    family = family_of(config.get("model_type"), str(directory / "config.json"))
    settings = {key: value for key, value in config.items() if key not in CONFIG_BOOKKEEPING}
    preprocessor = directory / "preprocessor_config.json"
    inputs = input_policy(family, settings, _read_json(preprocessor) if preprocessor.is_file() else None, str(preprocessor))
    return EncoderCheckpoint(directory, family, settings, tuple(config.get("architectures") or ()), inputs)


def input_policy(family: Family, settings: Mapping[str, Any], preprocessor: Mapping[str, Any] | None, source: str) -> InputPolicy:
    """The preprocessor's policy; without one, Hugging Face's defaults for the config (a mask only with layer-norm
    feature encoders, which are the models trained with one)."""
    preprocessor = dict(preprocessor or {})
    sampling_rate = int(preprocessor.get("sampling_rate", TARGET_SAMPLING_RATE))
    if sampling_rate != TARGET_SAMPLING_RATE:
        raise EncoderCheckpointError(f"{source}: sampling_rate {sampling_rate} Hz; fieldasr feeds models {TARGET_SAMPLING_RATE} Hz audio "
                                     "and supports only checkpoints trained on it.")
    if family.features == "filterbank":
        kept = {key: value for key, value in preprocessor.items() if key not in ("feature_extractor_type", "processor_class")}
        return InputPolicy("filterbank", normalise=False, attention_mask=True, filterbank_settings=kept)
    layer_norm = settings.get("feat_extract_norm", "group") == "layer"
    return InputPolicy("waveform", normalise=bool(preprocessor.get("do_normalize", True)),
                       attention_mask=bool(preprocessor.get("return_attention_mask", layer_norm)))


def default_input_policy(model_type: str, settings: Mapping[str, Any]) -> InputPolicy:
    """The policy of a model built from a config (no checkpoint, no preprocessor_config.json)."""
    return input_policy(family_of(model_type, "model config"), settings, None, "model config")


def apply_overrides(settings: Mapping[str, Any], overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The checkpoint's settings with a recipe's fine-tuning overrides; an unknown key is an error naming it."""
    unknown = sorted(set(overrides) - set(ENCODER_OVERRIDES))
    if unknown:
        raise EncoderCheckpointError(f"{source}: {', '.join(map(repr, unknown))} cannot be changed on a pretrained encoder; "
                                     f"the settings a recipe may override are {', '.join(ENCODER_OVERRIDES)}.")
    return {**settings, **overrides}


def _transformers_class(name: str) -> Any:
    import transformers

    return getattr(transformers, name)


def encoder_config(model_type: str, settings: Mapping[str, Any]) -> Any:
    """The family's transformers config object from plain settings."""
    from transformers import AutoConfig

    family_of(model_type, "model config")
    return AutoConfig.for_model(model_type, **settings)


def build_encoder(model_type: str, settings: Mapping[str, Any], initialise: bool = True) -> torch.nn.Module:
    """A new encoder of the family: random weights for training from scratch, or, `initialise=False`, uninitialised
    memory for weights about to be loaded (a bundle's): made on the meta device, so a 1B model does not spend its
    start-up drawing random numbers it then overwrites."""
    family = family_of(model_type, "model config")
    model_class, config = _transformers_class(family.encoder_class), encoder_config(model_type, settings)
    if initialise:
        return model_class(config)
    with torch.device("meta"):
        model = model_class(config)
    return model.to_empty(device="cpu")


@dataclass(frozen=True)
class LoadReport:
    """What loading a checkpoint did with its weights."""

    source: str
    missing_made_fresh: tuple[str, ...]  # e.g. the mask embedding absent from fine-tuned checkpoints
    unused_heads: tuple[str, ...]  # e.g. lm_head, quantizer: parts of the checkpoint the encoder does not use


def _checked_loading(source: str, model_class: str, info: Mapping[str, Any], optional: tuple[str, ...],
                     ignorable: tuple[str, ...]) -> LoadReport:
    missing = sorted(info.get("missing_keys", ()))
    unexpected = sorted(info.get("unexpected_keys", ()))
    mismatched = [str(item[0]) if isinstance(item, (tuple, list)) else str(item) for item in info.get("mismatched_keys", ())]
    missing_required = [key for key in missing if not key.split(".")[-1].startswith(optional) and not key.startswith(optional)]
    unexpected_encoder = [key for key in unexpected if not _strip_base_prefix(key).startswith(ignorable)]
    if missing_required or unexpected_encoder or mismatched:
        def listing(title: str, keys: list[str]) -> str:
            return f" {title} ({len(keys)}): {', '.join(keys[:6])}{' ...' if len(keys) > 6 else ''}." if keys else ""
        raise EncoderCheckpointError(
            f"{source}: the weights do not fit a {model_class} with this config.json:" + listing("missing", missing_required)
            + listing("unexpected", unexpected_encoder) + listing("different shape", mismatched)
            + " The config.json's model_type or sizes do not match the weights; use the checkpoint's own config.json.")
    return LoadReport(source, tuple(missing), tuple(unexpected))


def _strip_base_prefix(key: str) -> str:
    for prefix in ("wav2vec2.", "hubert.", "wavlm.", "data2vec_audio.", "wav2vec2_bert."):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _from_pretrained(model_class: Any, checkpoint: EncoderCheckpoint, settings: Mapping[str, Any], **options: Any) -> tuple[Any, dict]:
    """transformers' own loading: the model is made on the meta device and filled from the file, never randomly
    initialised first (transformers 5 always; 4.x with low_cpu_mem_usage)."""
    import transformers
    from transformers.utils import logging as transformers_logging

    config = encoder_config(checkpoint.model_type, settings)
    if int(transformers.__version__.split(".")[0]) < 5:
        options.update(low_cpu_mem_usage=True, torch_dtype=torch.float32)
    else:
        options["dtype"] = torch.float32  # weights stored in fp16 train in fp32 (mixed precision is autocast's job)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # its load report would list the heads we leave out; ours is checked
    try:
        return model_class.from_pretrained(str(checkpoint.directory), config=config, local_files_only=True,
                                           output_loading_info=True, **options)
    except OSError as error:
        raise EncoderCheckpointError(f"{checkpoint.directory}: no weights could be read ({error}). The folder needs "
                                     "model.safetensors or pytorch_model.bin beside config.json.") from error
    finally:
        transformers_logging.set_verbosity(verbosity)


def load_encoder(checkpoint: EncoderCheckpoint, overrides: Mapping[str, Any] | None = None) -> tuple[torch.nn.Module, LoadReport]:
    """The family's bare encoder with the checkpoint's weights (a CTC or pretraining checkpoint's head is left out
    and reported); missing, unexpected or mis-shaped encoder weights are an error naming them."""
    settings = apply_overrides(checkpoint.settings, overrides or {}, str(checkpoint.directory / "config.json"))
    model_class = checkpoint.family.encoder_class
    model, info = _from_pretrained(_transformers_class(model_class), checkpoint, settings)
    report = _checked_loading(str(checkpoint.directory), model_class, info, OPTIONAL_ENCODER_WEIGHTS, HEAD_PREFIXES)
    if report.unused_heads:
        logger.info("%s: left out %d weights the encoder does not use (heads, quantizer).", checkpoint.directory, len(report.unused_heads))
    return model, report


def load_ctc_model(checkpoint: EncoderCheckpoint) -> torch.nn.Module:
    """The family's own `...ForCTC` with the checkpoint's head (for import-hf and for comparing against it)."""
    from transformers import AutoModelForCTC

    require_ctc(checkpoint)
    model, info = _from_pretrained(AutoModelForCTC, checkpoint, checkpoint.settings)
    _checked_loading(str(checkpoint.directory), type(model).__name__, info, OPTIONAL_ENCODER_WEIGHTS, ())
    return model


def require_ctc(checkpoint: EncoderCheckpoint) -> None:
    if not checkpoint.is_ctc:
        raise EncoderCheckpointError(
            f"{checkpoint.directory}: config.json's architectures are {list(checkpoint.architectures) or 'not given'}, not a CTC model "
            "(…ForCTC), so it has no output layer to transcribe with. Fine-tune it with a recipe (model.pretrained) instead.")


def load_pretraining_model(checkpoint: EncoderCheckpoint) -> tuple[torch.nn.Module, LoadReport]:
    """The family's pretraining model (wav2vec 2.0: encoder, quantizer and projections) for continued pretraining;
    other families are refused with the reason."""
    family = checkpoint.family
    if family.pretraining_class is None:
        raise EncoderCheckpointError(f"{checkpoint.directory}: continued pretraining is not offered for {family.model_type}: "
                                     f"{family.no_pretraining_reason}. Fine-tune it with a CTC recipe (model.pretrained) instead.")
    pretraining_parts = ("quantizer.", "project_q.", "project_hid.", "masked_spec_embed")
    model, info = _from_pretrained(_transformers_class(family.pretraining_class), checkpoint, checkpoint.settings)
    report = _checked_loading(str(checkpoint.directory), family.pretraining_class, info, pretraining_parts, ("lm_head.",))
    return model, report


def output_size(encoder: torch.nn.Module) -> int:
    """Width of the encoder's last hidden states (models with a downsampling adapter project to another width)."""
    config = encoder.config
    return int(config.output_hidden_size) if getattr(config, "add_adapter", False) else int(config.hidden_size)


def normalise_waveforms(waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per utterance over its real samples (what wav2vec 2.0 was trained on)."""
    mask = sample_mask(waveforms, lengths)
    count = lengths.clamp(min=1)[:, None].to(waveforms.device, waveforms.dtype)
    mean = (waveforms * mask).sum(1, keepdim=True) / count
    variance = (((waveforms - mean) * mask) ** 2).sum(1, keepdim=True) / count
    return ((waveforms - mean) / torch.sqrt(variance + 1e-7)) * mask


def sample_mask(waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < lengths.to(waveforms.device)[:, None]


class EncoderInputs:
    """Turns padded 16 kHz waveforms into the keyword arguments of the encoder, as its InputPolicy says."""

    def __init__(self, policy: InputPolicy) -> None:
        self.policy = policy
        self._filterbank = None
        if policy.features == "filterbank":
            from transformers import SeamlessM4TFeatureExtractor

            self._filterbank = SeamlessM4TFeatureExtractor(**policy.filterbank_settings)

    def __call__(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor | None]:
        if self._filterbank is not None:
            return self._filterbank_inputs(waveforms, lengths)
        mask = sample_mask(waveforms, lengths)
        values = normalise_waveforms(waveforms, lengths) if self.policy.normalise else waveforms * mask
        # Group-norm models were trained on zero padding without a mask (a mask would change their statistics).
        return {"input_values": values, "attention_mask": mask.long() if self.policy.attention_mask else None}

    def _filterbank_inputs(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor | None]:
        waves = [waveforms[row, : int(length)].detach().float().cpu().numpy() for row, length in enumerate(lengths.tolist())]
        features = self._filterbank(waves, sampling_rate=self.policy.sampling_rate, padding=True, return_tensors="pt",
                                    return_attention_mask=True)
        device = waveforms.device
        return {"input_features": features["input_features"].to(device, waveforms.dtype), "attention_mask": features["attention_mask"].to(device)}

    def frame_lengths(self, encoder: torch.nn.Module, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Encoder output frames per utterance."""
        if self._filterbank is None:
            return encoder._get_feat_extract_output_lengths(sample_lengths).to(torch.long)
        window, hop = 400, 160  # 25 ms frames every 10 ms
        stride = int(self.policy.filterbank_settings.get("stride", 2))
        frames = torch.div((sample_lengths - window).clamp(min=-hop), hop, rounding_mode="floor") + 1
        frames = torch.div(frames.clamp(min=0), stride, rounding_mode="floor")
        if getattr(encoder.config, "add_adapter", False):
            frames = encoder._get_feat_extract_output_lengths(frames)
        return frames.to(torch.long)
