"""The wav2vec 2.0 objective on the filterbank Conformer (Whistle's SSL baseline): cheap enough for a CPU.

The Conformer encoder is the phone model's (`fieldasr.models.conformer.ConformerEncoder`, same parameter names),
so a checkpoint initialises `ConformerCTC` (`model.init_from` in the CTC recipes; the checkpoint format and that
loading live in `fieldasr.models.conformer_checkpoint`, which the phone recipes read).
Span masking replaces projected subsampled frames by a learned embedding before the Conformer blocks; the
targets are the unmasked subsampled frames (before the projection, as wav2vec 2.0 quantises its convolutions'
output) through transformers' Gumbel-softmax product quantiser. The objective is `fieldasr.ssl.objective`'s.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import Wav2Vec2Config
from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2GumbelVectorQuantizer

from fieldasr.models.conformer import ConformerEncoder
from fieldasr.models.conformer_checkpoint import (
    ConformerPretrainingConfig,
    SSLCheckpointError,
    find_ssl_checkpoint,
    read_checkpoint_config,
    read_weights,
    write_checkpoint,
)
from fieldasr.ssl.guard import GradientGuard
from fieldasr.ssl.objective import PretrainingStates
from fieldasr.ssl.pretraining_task import ContrastivePretrainingTask, PretrainingOptions, gumbel_decay_reaching_minimum


def small_conformer_options(steps: int) -> PretrainingOptions:
    """The objective's settings for a CPU-sized Conformer run of `steps` updates (the demo's and the benchmark's).

    40 ms frames: spans of 3 are 120 ms. Diversity weight 0.3, from calibration runs on real Dutch and synthetic
    speech (docs/training.md): at wav2vec 2.0's 0.1 the small Conformer's codebook collapsed within 125 steps on real
    Dutch (perplexity 640 -> 28 of 640); at 1.0 synthetic speech stayed at chance for 500 steps (codes near uniform,
    so unpredictable). The Gumbel temperature reaches its minimum at the last step.
    """
    return PretrainingOptions(mask_probability=0.5, mask_length=3, num_negatives=50, diversity_weight=0.3,
                              gumbel_temperature_decay=gumbel_decay_reaching_minimum(steps))


class ConformerPretrainingModel(torch.nn.Module):
    def __init__(self, config: ConformerPretrainingConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = ConformerEncoder(config.conformer)
        hidden = config.conformer.hidden_size
        self.masked_spec_embed = torch.nn.Parameter(torch.empty(hidden).uniform_())  # as transformers initialises it
        quantizer_config = Wav2Vec2Config(
            conv_dim=(self.encoder.local_feature_size,), conv_stride=(1,), conv_kernel=(1,),
            num_codevector_groups=config.num_codevector_groups, num_codevectors_per_group=config.num_codevectors_per_group,
            codevector_dim=config.codevector_dim,
        )
        # The quantiser reads layer-normalised frames, as fairseq's wav2vec 2.0 does: the log-mel convolutions' raw
        # output (non-negative, of arbitrary scale) sent every frame to the same few codes from step 0 (perplexity
        # 12-15 of 640 on real Dutch) and the distractors were then mostly the target.
        self.quantizer_input_norm = torch.nn.LayerNorm(self.encoder.local_feature_size)
        self.quantizer = Wav2Vec2GumbelVectorQuantizer(quantizer_config)
        torch.nn.init.uniform_(self.quantizer.codevectors)  # as transformers' `_init_weights` (the module leaves it empty)
        std = config.quantizer_weight_init_std or self.encoder.local_feature_size ** -0.5
        torch.nn.init.normal_(self.quantizer.weight_proj.weight, mean=0.0, std=std)
        torch.nn.init.zeros_(self.quantizer.weight_proj.bias)
        self.project_hid = torch.nn.Linear(hidden, config.proj_codevector_dim)
        self.project_q = torch.nn.Linear(config.codevector_dim, config.proj_codevector_dim)

    @property
    def codebook_size(self) -> int:
        return self.config.num_codevector_groups * self.config.num_codevectors_per_group

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        # The span mask is the only masking: SpecAugment would hide from the targets what the mask leaves visible.
        local, frame_lengths = self.encoder.local_features(waveforms, lengths, augment=False)
        hidden = self.encoder.projection(local)
        hidden = torch.where(mask_time_indices[..., None], self.masked_spec_embed.to(hidden.dtype), hidden)
        context = self.encoder.context(hidden, frame_lengths)
        quantized, perplexity = self.quantizer(self.quantizer_input_norm(local), mask_time_indices=mask_time_indices)
        return PretrainingStates(self.project_hid(context), self.project_q(quantized.to(self.project_q.weight.dtype)), perplexity)


class ConformerPretrainingTask(ContrastivePretrainingTask):
    """The objective on `ConformerPretrainingModel`; waveforms enter as the CTC model takes them (not normalised:
    the log-mel features are mean-normalised per utterance)."""

    normalise_input = False

    def __init__(self, model: ConformerPretrainingModel, options: PretrainingOptions = PretrainingOptions(),
                 guard: GradientGuard | None = None) -> None:
        self.logits_temperature = model.config.contrastive_logits_temperature
        super().__init__(model, options, guard, model.codebook_size)

    def set_gumbel_temperature(self, temperature: float) -> None:
        self.model.quantizer.temperature = temperature

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        return self.model.encoder.frame_lengths(sample_lengths)

    def states(self, batch: dict[str, torch.Tensor], attention_mask: torch.Tensor, mask_time_indices: torch.Tensor) -> PretrainingStates:
        return self.model(batch["input_values"], attention_mask.sum(-1), mask_time_indices.bool())

    def save_checkpoint(self, folder: str | Path) -> Path:
        return save_conformer_checkpoint(self.model, folder)


def save_conformer_checkpoint(model: ConformerPretrainingModel, folder: str | Path) -> Path:
    return write_checkpoint(model.config, model.state_dict(), folder)


def load_conformer_checkpoint(path: str | Path) -> ConformerPretrainingModel:
    """The whole pretraining model (to continue pretraining) from a checkpoint or experiment folder."""
    folder = find_ssl_checkpoint(path)
    model = ConformerPretrainingModel(read_checkpoint_config(folder))  # type: ignore[arg-type]
    weights = read_weights(folder)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise SSLCheckpointError(f"{folder}: the weights do not fit its config.json ({error}).") from None
    return model
