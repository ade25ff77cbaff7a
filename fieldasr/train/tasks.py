"""The CTC task: acoustic model + CTC loss (blank = 0) over phones, characters or subwords."""
from __future__ import annotations

import torch

from fieldasr.decode.greedy import greedy_decode
from fieldasr.eval.metrics import score_pairs
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.train.pipeline import CTCBatch
from fieldasr.train.task import TaskOutput


def ctc_losses(logits: torch.Tensor, frame_lengths: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC loss per utterance (blank = 0) computed in fp32 outside autocast, with infinite ones (fewer frames than
    the labels need) set to 0 with their gradients; and which ones were infinite."""
    with torch.autocast(logits.device.type, enabled=False):
        log_probs = torch.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (frames, batch, vocabulary)
        losses = torch.nn.functional.ctc_loss(log_probs, labels, frame_lengths, label_lengths, blank=0, reduction="none",
                                              zero_infinity=True)
    return losses, ~ctc_feasible(frame_lengths, labels, label_lengths)


def ctc_feasible(frame_lengths: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor) -> torch.Tensor:
    """Whether each utterance has frames for its labels and a blank between equal neighbours (else CTC's loss is
    infinite); computed on the device, without a host sync."""
    positions = torch.arange(max(0, labels.shape[1] - 1), device=labels.device)
    repeats = ((labels[:, 1:] == labels[:, :-1]) & (positions[None, :] < label_lengths[:, None] - 1)).sum(1)
    return frame_lengths >= label_lengths + repeats


class CTCTask(torch.nn.Module):
    """Loss per label token, in fp32 also under mixed precision; utterances whose CTC loss is infinite (too few
    frames for their labels) are zeroed with their gradients, as `zero_infinity` does, and counted
    (`infinite_ctc_losses` in the log and the training summary)."""

    def __init__(self, model: torch.nn.Module, vocabulary: Vocabulary, pass_languages: bool = False) -> None:
        super().__init__()
        self.model = model
        self.vocabulary = vocabulary
        self.pass_languages = pass_languages  # for per-language adapters

    def set_training_step(self, step: int) -> None:
        if hasattr(self.model, "set_training_step"):
            self.model.set_training_step(step)

    def logits(self, batch: CTCBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(batch.waveforms, batch.lengths, batch.languages if self.pass_languages else None)

    @property
    def leaves_parameters_unused(self) -> bool:
        """For DDP: an encoder frozen for the first steps, per-language adapters (a batch uses those of its
        languages) and layer drop leave parameters without gradients in some steps."""
        encoder_config = getattr(getattr(self.model, "encoder", None), "config", None)
        return bool(getattr(self.model, "freeze_encoder_steps", 0) > 0 or getattr(self.model, "adapters", None) is not None
                    or getattr(encoder_config, "layerdrop", 0.0) > 0)

    def forward(self, batch: CTCBatch) -> TaskOutput:
        logits, frame_lengths = self.logits(batch)
        losses, infinite = ctc_losses(logits, frame_lengths, batch.labels, batch.label_lengths)
        tokens = batch.label_lengths.masked_fill(infinite, 0).sum().clamp(min=1)
        loss = losses.sum() / tokens  # infinite ones are 0 here; all infinite: 0, with zero gradients
        return TaskOutput(loss=loss, stats={"ctc_loss_per_token": loss.detach()}, weight=tokens,
                          counts={"infinite_ctc_losses": infinite.sum()})

    @torch.no_grad()
    def validation_metrics(self, batch: CTCBatch) -> dict[str, float]:
        """Token error rate (PER for phones, CER for characters) of greedy decoding, counted as `fieldasr evaluate`
        counts errors (sclite's alignment) over the label tokens as they are, word boundaries included."""
        logits, frame_lengths = self.logits(batch)
        hypotheses = greedy_decode(logits, self.vocabulary, frame_lengths)
        references = [self.vocabulary.decode(labels[:length]) for labels, length in zip(batch.labels.tolist(), batch.label_lengths.tolist())]
        result = score_pairs(references, [hypothesis.tokens for hypothesis in hypotheses], unit="phone", normaliser="none")
        return {"token_error_rate": result.errors / max(1, result.reference_length)}
