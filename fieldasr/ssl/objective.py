"""The wav2vec 2.0 objective (Baevski et al. 2020), whatever encoder gives the context and the quantised targets.

Masks and distractors are drawn with transformers' own helpers (span masking over real frames; distractors from
other masked frames of the same utterance, never the frame itself) and the logits with its
`Wav2Vec2ForPreTraining.compute_contrastive_logits`, so the objective is the one Hugging Face's model computes
(a test compares the two); the loss is divided by the number of masked frames, as in fairseq.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import Wav2Vec2ForPreTraining
from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices


@dataclass(frozen=True)
class PretrainingStates:
    """What an encoder gives the objective, all (batch, frames, projected size) but the perplexity."""

    context: torch.Tensor  # the transformer's (or Conformer's) output over masked input, projected
    targets: torch.Tensor  # quantised unmasked features, projected
    perplexity: torch.Tensor  # of the codebook over the masked frames (a scalar)


@dataclass(frozen=True)
class ObjectiveOutput:
    loss: torch.Tensor  # contrastive + weighted diversity, per masked frame
    contrastive_loss: torch.Tensor  # per masked frame
    diversity_loss: torch.Tensor  # per masked frame
    contrastive_accuracy: torch.Tensor  # share of masked frames whose target scores above every distractor
    masked_frames: int


def draw_masks_and_negatives(frame_mask: torch.Tensor, mask_probability: float, mask_length: int,
                             num_negatives: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Span mask over the real frames of `frame_mask` (batch, frames), at least two spans each, and for each
    masked frame `num_negatives` indices (flattened over the batch) of other masked frames of its utterance."""
    shape = tuple(frame_mask.shape)
    mask_time_indices = _compute_mask_indices(shape, mask_prob=mask_probability, mask_length=mask_length,
                                              attention_mask=frame_mask.long(), min_masks=2)
    negatives = _sample_negative_indices(shape, num_negatives, mask_time_indices=mask_time_indices)
    return torch.from_numpy(mask_time_indices), torch.from_numpy(negatives.astype(np.int64))


def contrastive_objective(states: PretrainingStates, mask: torch.Tensor, negatives: torch.Tensor, codebook_size: int,
                          logits_temperature: float, diversity_weight: float) -> ObjectiveOutput:
    """L = L_m + alpha L_d over the masked frames `mask` (batch, frames), distractors `negatives` (batch, frames, K)."""
    targets = states.targets
    batch, frames, size = targets.shape
    mask = mask.to(targets.device, torch.bool)
    negative_targets = targets.reshape(-1, size)[negatives.to(targets.device).reshape(-1)]
    negative_targets = negative_targets.view(batch, frames, -1, size).permute(2, 0, 1, 3)
    logits = Wav2Vec2ForPreTraining.compute_contrastive_logits(targets[None], negative_targets, states.context, logits_temperature)
    # A distractor equal to the target (a poorly used codebook) is no distractor: left out, as fairseq does.
    same_as_target = (targets == negative_targets).all(-1)
    if same_as_target.any():
        logits[1:][same_as_target] = float("-inf")
    masked_logits = logits.permute(1, 2, 0)[mask].float()  # (masked frames, 1 + K); the target is column 0
    masked_frames = int(mask.sum())
    contrastive = torch.nn.functional.cross_entropy(masked_logits, masked_logits.new_zeros(masked_frames, dtype=torch.long),
                                                    reduction="sum")
    diversity = (codebook_size - states.perplexity) / codebook_size * masked_frames
    with torch.no_grad():
        # fairseq's count: the target is the best candidate, and not merely because all candidates tie.
        best, worst = masked_logits.argmax(-1) == 0, masked_logits.argmin(-1) == 0
        accuracy = (best & ~worst).float().mean()
    return ObjectiveOutput(
        loss=(contrastive + diversity_weight * diversity) / masked_frames,
        contrastive_loss=contrastive.detach() / masked_frames,
        diversity_loss=diversity.detach() / masked_frames,
        contrastive_accuracy=accuracy,
        masked_frames=masked_frames,
    )
