"""The CTC task: acoustic model + CTC loss (blank = 0) over phones, characters or subwords."""
from __future__ import annotations

import torch
import torchaudio

from fieldasr.text.vocabulary import Vocabulary
from fieldasr.train.pipeline import CTCBatch
from fieldasr.train.task import TaskOutput


def greedy_decode(logits: torch.Tensor, frame_lengths: torch.Tensor) -> list[list[int]]:
    """Best token per frame, repeats merged, blanks (0) removed."""
    best = logits.argmax(dim=-1)
    sequences = []
    for row, length in zip(best, frame_lengths.tolist()):
        merged = torch.unique_consecutive(row[:length])
        sequences.append([token for token in merged.tolist() if token != 0])
    return sequences


class CTCTask(torch.nn.Module):
    """Loss per label token; utterances whose CTC loss is infinite (too few frames) are counted, not trained on."""

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

    def forward(self, batch: CTCBatch) -> TaskOutput:
        logits, frame_lengths = self.logits(batch)
        log_probs = torch.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (frames, batch, vocabulary)
        losses = torch.nn.functional.ctc_loss(
            log_probs, batch.labels, frame_lengths, batch.label_lengths, blank=0, reduction="none", zero_infinity=False
        )
        finite = torch.isfinite(losses)
        tokens = batch.label_lengths[finite].sum().clamp(min=1)
        # All-infinite batches give a non-finite loss on purpose: the Trainer counts and skips them.
        loss = losses[finite].sum() / tokens if finite.any() else losses.sum()
        stats = {"ctc_loss_per_token": float(loss.detach()), "infeasible_utterances": float((~finite).sum())}
        return TaskOutput(loss=loss, stats=stats, weight=float(tokens))

    @torch.no_grad()
    def validation_metrics(self, batch: CTCBatch) -> dict[str, float]:
        """Token error rate (PER for phones, CER for characters) of greedy decoding."""
        logits, frame_lengths = self.logits(batch)
        hypotheses = greedy_decode(logits, frame_lengths)
        errors = 0
        for hypothesis, labels, length in zip(hypotheses, batch.labels.tolist(), batch.label_lengths.tolist()):
            errors += torchaudio.functional.edit_distance(labels[:length], hypothesis)
        return {"token_error_rate": errors / max(1, int(batch.label_lengths.sum()))}
