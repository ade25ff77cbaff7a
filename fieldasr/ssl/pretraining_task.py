"""Continued wav2vec 2.0 pretraining as a Trainer task: masked contrastive + diversity loss.

The model is Hugging Face's `Wav2Vec2ForPreTraining`, continued from a local checkpoint (e.g. XLSR-53) loaded
through `fieldasr.models.hf_encoder` (which refuses the families whose objective this is not, such as HuBERT and
WavLM, and honours the checkpoint's normalisation and attention-mask policy) or, for tiny test runs, built from a
config. Masks and negatives are drawn with transformers' own helpers
(span masking, distractors from other masked frames of the same utterance, as in the wav2vec 2.0 paper).
The loss is summed over masked frames by the model and divided here by their number, so the gradient is
normalised per masked frame as in fairseq, whatever the batch size.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForPreTraining
from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_directory
from fieldasr.models import hf_encoder
from fieldasr.models.hf_encoder import InputPolicy
from fieldasr.ssl.guard import GradientGuard
from fieldasr.train.task import TaskOutput

logger = logging.getLogger(__name__)

class PretrainingError(FieldasrError):
    """A self-supervised pretraining model, checkpoint or batch cannot be used as asked."""


@dataclass(frozen=True)
class PretrainingOptions:
    """wav2vec 2.0 defaults (Baevski et al. 2020): mask p = 0.65 with spans of 10, 100 distractors, alpha = 0.1."""

    mask_probability: float = 0.65
    mask_length: int = 10
    num_negatives: int = 100
    diversity_weight: float = 0.1
    max_gumbel_temperature: float = 2.0
    min_gumbel_temperature: float = 0.5
    gumbel_temperature_decay: float = 0.999995

    def validate(self) -> None:
        problems = []
        if not 0 < self.mask_probability <= 1:
            problems.append(f"mask_probability must be in (0, 1], got {self.mask_probability}")
        if self.mask_length < 1 or self.num_negatives < 1:
            problems.append(f"mask_length and num_negatives must be at least 1, got {self.mask_length}, {self.num_negatives}")
        if self.diversity_weight < 0:
            problems.append(f"diversity_weight must not be negative, got {self.diversity_weight}")
        if not 0 < self.min_gumbel_temperature <= self.max_gumbel_temperature:
            problems.append(
                f"need 0 < min_gumbel_temperature <= max_gumbel_temperature, got "
                f"{self.min_gumbel_temperature}, {self.max_gumbel_temperature}"
            )
        if not 0 < self.gumbel_temperature_decay <= 1:
            problems.append(f"gumbel_temperature_decay must be in (0, 1], got {self.gumbel_temperature_decay}")
        if problems:
            raise PretrainingError("pretraining options: " + "; ".join(problems) + ".")

    def gumbel_temperature(self, step: int) -> float:
        """Exponential decay from max to min temperature, per optimiser update.

        The paper's decay (0.999995) is tuned for 400k updates; over 100k it only gets to 1.2. For shorter
        continued pretraining take `gumbel_decay_reaching_minimum(steps)`.
        """
        decayed = self.max_gumbel_temperature * self.gumbel_temperature_decay ** max(step, 0)
        return max(decayed, self.min_gumbel_temperature)


def gumbel_decay_reaching_minimum(steps: int, max_temperature: float = 2.0, min_temperature: float = 0.5) -> float:
    """The per-update decay that brings the Gumbel temperature from max to min in `steps` updates."""
    if steps < 1 or not 0 < min_temperature <= max_temperature:
        raise PretrainingError(f"need steps >= 1 and 0 < min <= max temperature (got {steps}, {min_temperature}, {max_temperature}).")
    return (min_temperature / max_temperature) ** (1.0 / steps)


def load_pretraining_model(source: str | Path | Wav2Vec2Config) -> Wav2Vec2ForPreTraining:
    """A `Wav2Vec2ForPreTraining` from a local checkpoint folder, or freshly initialised from a config.

    The folder must hold a wav2vec 2.0-family checkpoint (other families are refused with the reason); missing
    encoder weights are an error (training would start from random weights without anyone noticing); a missing
    quantizer (a fine-tuned CTC checkpoint) starts fresh, with a warning.
    """
    if isinstance(source, Wav2Vec2Config):
        return Wav2Vec2ForPreTraining(source)
    folder = Path(source)
    if not (folder / "config.json").is_file():
        raise PretrainingError(
            f"{folder}: no config.json here, so this is not a Hugging Face wav2vec 2.0 checkpoint folder. "
            "Point to the folder holding config.json and model.safetensors (e.g. a local copy of XLSR-53)."
        )
    model, report = hf_encoder.load_pretraining_model(hf_encoder.read_checkpoint(folder))
    if report.missing_made_fresh:
        logger.warning(
            "%s: the checkpoint has no quantizer/projection weights (%d tensors); they start random, so expect a few "
            "thousand steps of warm-up before the contrastive loss is meaningful.", folder, len(report.missing_made_fresh),
        )
    return model


def pretraining_input_policy(source: str | Path | Wav2Vec2Config) -> InputPolicy:
    """How audio enters the model: the checkpoint's preprocessor_config.json, or the defaults for a config."""
    if isinstance(source, Wav2Vec2Config):
        return hf_encoder.default_input_policy("wav2vec2", source.to_dict())
    return hf_encoder.read_checkpoint(source).inputs


def save_pretraining_checkpoint(model: Wav2Vec2ForPreTraining, folder: str | Path, inputs: InputPolicy | None = None) -> Path:
    """Write `model` so that both `Wav2Vec2ForPreTraining` and `Wav2Vec2ForCTC.from_pretrained` load it.

    Written through `atomic_directory`, so a kill never leaves half a checkpoint and an old one stays whole.
    A feature-extractor config travels with it (16 kHz, the normalisation and attention-mask policy it was trained
    with, by default Hugging Face's for its config), as Hugging Face's and fieldasr's loaders read it.
    """
    folder = Path(folder)
    with atomic_directory(folder, overwrite=True) as staging:
        model.save_pretrained(str(staging))
        feature_extractor_for(inputs or pretraining_input_policy(model.config)).save_pretrained(str(staging))
    return folder


def feature_extractor_for(inputs: InputPolicy) -> Wav2Vec2FeatureExtractor:
    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=inputs.sampling_rate, padding_value=0.0,
                                    do_normalize=inputs.normalise, return_attention_mask=inputs.attention_mask)


def collate_audio(waveforms: list[np.ndarray | torch.Tensor], normalise: bool = True) -> dict[str, torch.Tensor]:
    """Pad raw 16 kHz waveforms into a batch: each normalised (unless `normalise` is False, as a checkpoint's
    preprocessor may say) to zero mean, unit variance over its own samples.

    Returns `input_values` (batch, samples) and `attention_mask` (1 on real samples, 0 on padding).
    """
    if not waveforms:
        raise PretrainingError("collate_audio got an empty batch; check that the segment manifest is not empty.")
    tensors = [torch.as_tensor(np.asarray(wave, dtype=np.float32)).flatten() for wave in waveforms]
    longest = max(len(tensor) for tensor in tensors)
    input_values = torch.zeros(len(tensors), longest)
    attention_mask = torch.zeros(len(tensors), longest, dtype=torch.long)
    for row, tensor in enumerate(tensors):
        if len(tensor) == 0:
            raise PretrainingError(f"collate_audio: item {row} of the batch has no samples; remove empty segments.")
        if normalise:
            tensor = (tensor - tensor.mean()) / torch.sqrt(tensor.var(unbiased=False) + 1e-7)
        input_values[row, : len(tensor)] = tensor
        attention_mask[row, : len(tensor)] = 1
    return {"input_values": input_values, "attention_mask": attention_mask}


class Wav2Vec2PretrainingTask(nn.Module):
    """Masked contrastive pretraining of a wav2vec 2.0 model; `forward(batch) -> TaskOutput`.

    `batch` is what `collate_audio` returns. The Trainer calls `set_training_step(step)` before each update:
    the Gumbel temperature follows its schedule from it (a resumed run recomputes it from the restored step),
    and the gradient norm of the previous update, recorded by gradient hooks as it accumulates, is logged
    and handed to the `GradientGuard` with the codebook perplexity. (Under fp16 loss scaling or DDP the
    recorded norm is the scaled, local one.)
    """

    def __init__(
        self,
        model: Wav2Vec2ForPreTraining,
        options: PretrainingOptions = PretrainingOptions(),
        guard: GradientGuard | None = None,
        inputs: InputPolicy | None = None,
    ) -> None:
        super().__init__()
        if getattr(model.wav2vec2, "masked_spec_embed", None) is None:
            # transformers creates the learned mask embedding only when the config asks for time masking.
            raise PretrainingError(
                "the wav2vec 2.0 model has no mask embedding because its config sets mask_time_prob = 0; "
                "set mask_time_prob > 0 (e.g. 0.05) in the config before building the model."
            )
        if not getattr(model.config, "apply_spec_augment", True):
            # transformers then skips masking altogether: the model would see the very frames it must predict.
            raise PretrainingError(
                "the wav2vec 2.0 config sets apply_spec_augment = false, which turns off the masking that "
                "pretraining needs; set it to true in the checkpoint's config.json."
            )
        options.validate()
        self.model = model
        self.inputs = inputs or pretraining_input_policy(model.config)
        self.options = options
        self.guard = guard or GradientGuard(codebook_size(model.config))
        model.config.diversity_loss_weight = options.diversity_weight
        self.temperature = options.gumbel_temperature(0)
        model.set_gumbel_temperature(self.temperature)
        self.last_gradient_norm: float | None = None
        self.last_perplexity = float(codebook_size(model.config))
        self._gradient_norms: dict[int, torch.Tensor] = {}
        for index, parameter in enumerate(model.parameters()):
            parameter.register_post_accumulate_grad_hook(partial(self._record_gradient_norm, index))

    def _record_gradient_norm(self, index: int, parameter: torch.Tensor) -> None:
        # Kept on the device: one synchronisation per update (in set_training_step), not one per tensor.
        self._gradient_norms[index] = parameter.grad.detach().float().norm()

    def set_training_step(self, step: int) -> None:
        self.temperature = self.options.gumbel_temperature(step)
        self.model.set_gumbel_temperature(self.temperature)
        if self._gradient_norms:
            self.last_gradient_norm = float(torch.linalg.vector_norm(torch.stack(list(self._gradient_norms.values()))))
            self._gradient_norms.clear()
            self.guard.observe(step - 1, self.last_gradient_norm, self.last_perplexity)

    def forward(self, batch: dict[str, torch.Tensor]) -> TaskOutput:
        input_values = batch["input_values"]
        attention_mask = batch.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_values, dtype=torch.long)
        frame_mask = self.frame_attention_mask(attention_mask)
        mask_time_indices, negative_indices = self.draw_masks_and_negatives(frame_mask)
        # Base-style models (group-normalised convolutions) were trained without attention masks on zero padding.
        model_attention_mask = attention_mask if self.inputs.attention_mask else None
        output = self.model(
            input_values,
            attention_mask=model_attention_mask,
            mask_time_indices=mask_time_indices.to(input_values.device),
            sampled_negative_indices=negative_indices.to(input_values.device),
        )
        masked_frames = float(mask_time_indices.sum())
        loss = output.loss / masked_frames
        stats = {
            "loss": float(loss.detach()),
            "contrastive_loss": float(output.contrastive_loss.detach()) / masked_frames,
            "diversity_loss": float(output.diversity_loss.detach()) / masked_frames,
            "codebook_perplexity": float(output.codevector_perplexity.detach()),
            "masked_fraction": masked_frames / float(frame_mask.sum()),
            "gumbel_temperature": float(self.temperature),
        }
        if self.training:
            self.last_perplexity = stats["codebook_perplexity"]
            if self.last_gradient_norm is not None:
                stats["gradient_norm"] = self.last_gradient_norm  # of the previous update
        return TaskOutput(loss=loss, stats=stats, weight=masked_frames)

    def frame_attention_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, frames) mask of the feature frames that come from real samples, not padding."""
        sample_lengths = attention_mask.sum(-1).cpu()
        frame_lengths = self.model._get_feat_extract_output_lengths(sample_lengths).long()
        total_frames = int(self.model._get_feat_extract_output_lengths(torch.tensor(attention_mask.shape[1])))
        shortest = int(frame_lengths.min())
        needed = self.options.mask_length + 1
        if shortest < needed:
            seconds = float(sample_lengths.min()) / TARGET_SAMPLING_RATE
            raise PretrainingError(
                f"an utterance of {seconds:.2f} s gives {shortest} feature frames, fewer than the {needed} that "
                f"span masking of length {self.options.mask_length} needs. Drop segments this short "
                "(`fieldasr vad-chunk` keeps chunks of 2 s or more)."
            )
        return torch.arange(total_frames)[None, :] < frame_lengths[:, None]

    def draw_masks_and_negatives(self, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Span mask over real frames (at least two spans each) and distractors from other masked frames."""
        shape = tuple(frame_mask.shape)
        mask_time_indices = _compute_mask_indices(
            shape,
            mask_prob=self.options.mask_probability,
            mask_length=self.options.mask_length,
            attention_mask=frame_mask.long(),
            min_masks=2,
        )
        negatives = _sample_negative_indices(shape, self.options.num_negatives, mask_time_indices=mask_time_indices)
        return torch.from_numpy(mask_time_indices), torch.from_numpy(negatives).long()

def codebook_size(config: Wav2Vec2Config) -> int:
    """Number of codevectors over all groups: the largest codebook perplexity can be."""
    return int(config.num_codevectors_per_group * config.num_codevector_groups)

