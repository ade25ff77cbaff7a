"""Continued wav2vec 2.0 pretraining as a Trainer task: masked contrastive + diversity loss.

The model is Hugging Face's `Wav2Vec2ForPreTraining`, continued from a local checkpoint (e.g. XLSR-53) loaded
through `fieldasr.models.hf_encoder` (which refuses the families whose objective this is not, such as HuBERT and
WavLM, and honours the checkpoint's normalisation and attention-mask policy) or, for tiny test runs, built from a
config. The objective itself (`fieldasr.ssl.objective`) is shared with the Conformer encoder
(`fieldasr.ssl.conformer_pretraining`): `ContrastivePretrainingTask` runs it, and each encoder's subclass says
only how it gets the context and the quantised targets of a batch.
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

from fieldasr.audio import TARGET_SAMPLING_RATE
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_directory
from fieldasr.models import hf_encoder
from fieldasr.models.hf_encoder import InputPolicy
from fieldasr.ssl.guard import GradientGuard
from fieldasr.ssl.objective import PretrainingStates, contrastive_objective, draw_masks_and_negatives
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


class ContrastivePretrainingTask(nn.Module):
    """Masked contrastive pretraining (`fieldasr.ssl.objective`); `forward(batch) -> TaskOutput`.

    `batch` is what `collate_audio` returns. Subclasses say only how the encoder turns a batch and a mask into
    context and quantised targets (`states`), how many frames it makes of a number of samples (`frame_lengths`),
    and how a checkpoint is written (`save_checkpoint`); `self.model` holds the encoder with its quantiser.
    The Trainer calls `set_training_step(step)` before each update: the Gumbel temperature follows its schedule
    from it (a resumed run recomputes it from the restored step), and the gradient norm of the previous update,
    recorded by gradient hooks as it accumulates, is logged and handed to the `GradientGuard` with the codebook
    perplexity. (Under fp16 loss scaling or DDP the recorded norm is the scaled, local one.)
    """

    normalise_input = True  # whether `collate_audio` normalises each waveform for this encoder

    def __init__(self, model: nn.Module, options: PretrainingOptions, guard: GradientGuard | None, codebook_size: int) -> None:
        super().__init__()
        options.validate()
        self.model = model
        self.options = options
        self.codebook_size = codebook_size
        self.guard = guard or GradientGuard(codebook_size)
        self.temperature = options.gumbel_temperature(0)
        self.set_gumbel_temperature(self.temperature)
        self.last_gradient_norm: float | None = None
        self.last_perplexity = float(codebook_size)
        self._gradient_norms: dict[int, torch.Tensor] = {}
        for index, parameter in enumerate(model.parameters()):
            parameter.register_post_accumulate_grad_hook(partial(self._record_gradient_norm, index))

    logits_temperature: float  # kappa of the contrastive logits

    def set_gumbel_temperature(self, temperature: float) -> None:
        raise NotImplementedError

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Feature frames of utterances of `sample_lengths` samples."""
        raise NotImplementedError

    def states(self, batch: dict[str, torch.Tensor], attention_mask: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        raise NotImplementedError

    def save_checkpoint(self, folder: str | Path) -> Path:
        raise NotImplementedError

    def _record_gradient_norm(self, index: int, parameter: torch.Tensor) -> None:
        # Kept on the device: one synchronisation per update (in set_training_step), not one per tensor.
        self._gradient_norms[index] = parameter.grad.detach().float().norm()

    def set_training_step(self, step: int) -> None:
        self.temperature = self.options.gumbel_temperature(step)
        self.set_gumbel_temperature(self.temperature)
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
        states = self.states(batch, attention_mask, mask_time_indices.to(input_values.device))
        options = self.options
        objective = contrastive_objective(states, mask_time_indices, negative_indices, self.codebook_size,
                                          self.logits_temperature, options.diversity_weight)
        masked_frames = float(objective.masked_frames)
        stats = {
            "loss": float(objective.loss.detach()),
            "contrastive_loss": float(objective.contrastive_loss),
            "contrastive_accuracy": float(objective.contrastive_accuracy),  # chance: about 1 / (1 + num_negatives)
            "diversity_loss": float(objective.diversity_loss),
            "codebook_perplexity": float(states.perplexity.detach()),
            "masked_fraction": masked_frames / float(frame_mask.sum()),
            "gumbel_temperature": float(self.temperature),
        }
        if self.training:
            self.last_perplexity = stats["codebook_perplexity"]
            if self.last_gradient_norm is not None:
                stats["gradient_norm"] = self.last_gradient_norm  # of the previous update
        return TaskOutput(loss=objective.loss, stats=stats, weight=masked_frames)

    def frame_attention_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, frames) mask of the feature frames that come from real samples, not padding."""
        sample_lengths = attention_mask.sum(-1).cpu()
        frame_lengths = self.frame_lengths(sample_lengths).long()
        total_frames = int(self.frame_lengths(torch.tensor([attention_mask.shape[1]]))[0])
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
        options = self.options
        return draw_masks_and_negatives(frame_mask, options.mask_probability, options.mask_length, options.num_negatives)


class Wav2Vec2PretrainingTask(ContrastivePretrainingTask):
    """The objective on Hugging Face's `Wav2Vec2ForPreTraining`: its convolutions give the features, its
    transformer the context, its quantiser and projections the targets (its own loss is not used)."""

    def __init__(
        self,
        model: Wav2Vec2ForPreTraining,
        options: PretrainingOptions = PretrainingOptions(),
        guard: GradientGuard | None = None,
        inputs: InputPolicy | None = None,
    ) -> None:
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
        self.inputs = inputs or pretraining_input_policy(model.config)
        self.normalise_input = self.inputs.normalise
        self.logits_temperature = float(model.config.contrastive_logits_temperature)
        model.config.diversity_loss_weight = options.diversity_weight  # recorded in the checkpoint's config
        super().__init__(model, options, guard, codebook_size(model.config))

    def set_gumbel_temperature(self, temperature: float) -> None:
        self.model.set_gumbel_temperature(temperature)

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        return self.model._get_feat_extract_output_lengths(sample_lengths)

    def states(self, batch: dict[str, torch.Tensor], attention_mask: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        # Base-style models (group-normalised convolutions) were trained without attention masks on zero padding.
        model_attention_mask = attention_mask if self.inputs.attention_mask else None
        output = self.model(batch["input_values"], attention_mask=model_attention_mask, mask_time_indices=mask_time_indices)
        return PretrainingStates(output.projected_states, output.projected_quantized_states, output.codevector_perplexity)

    def save_checkpoint(self, folder: str | Path) -> Path:
        return save_pretraining_checkpoint(self.model, folder, self.inputs)


def codebook_size(config: Wav2Vec2Config) -> int:
    """Number of codevectors over all groups: the largest codebook perplexity can be."""
    return int(config.num_codevectors_per_group * config.num_codevector_groups)

