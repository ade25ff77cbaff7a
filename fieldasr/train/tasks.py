"""The CTC task: acoustic model + CTC loss (blank = 0) over phones, characters or subwords."""
from __future__ import annotations

import torch

from fieldasr.decode.greedy import greedy_decode
from fieldasr.eval.metrics import score_pairs
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.train.pipeline import CTCBatch
from fieldasr.train.task import TaskOutput


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
        """Token error rate (PER for phones, CER for characters) of greedy decoding, counted as `fieldasr evaluate`
        counts errors (sclite's alignment) over the label tokens as they are, word boundaries included."""
        logits, frame_lengths = self.logits(batch)
        hypotheses = greedy_decode(logits, self.vocabulary, frame_lengths)
        references = [self.vocabulary.decode(labels[:length]) for labels, length in zip(batch.labels.tolist(), batch.label_lengths.tolist())]
        result = score_pairs(references, [hypothesis.tokens for hypothesis in hypotheses], unit="phone", normaliser="none")
        return {"token_error_rate": result.errors / max(1, result.reference_length)}
