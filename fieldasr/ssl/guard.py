"""Guard rails for wav2vec 2.0 pretraining: warn when a run drifts into the known failure modes.

Reports on continued pretraining (e.g. the XLSR and Ainu studies, fairseq's issue tracker) describe two:
the gradient norm leaving roughly 0.5-2 for a long stretch (diverging or stalled updates), and the
codebook collapsing onto a few codevectors (perplexity falling), after which the contrastive task is trivial.
One out-of-range step is noise; only a run of `patience` consecutive steps raises a warning, once per episode.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardWarning:
    step: int
    kind: str  # "gradient_norm_high", "gradient_norm_low" or "codebook_collapse"
    message: str


@dataclass
class _Streak:
    """Consecutive out-of-range steps of one kind, and whether this episode was already reported."""

    length: int = 0
    reported: bool = False

    def update(self, out_of_range: bool, patience: int) -> bool:
        if not out_of_range:
            self.length, self.reported = 0, False
            return False
        self.length += 1
        if self.length >= patience and not self.reported:
            self.reported = True
            return True
        return False


class GradientGuard:
    """Feed it each step's gradient norm and codebook perplexity; it logs and returns warnings."""

    def __init__(
        self,
        codebook_size: int,
        gradient_norm_range: tuple[float, float] = (0.5, 2.0),
        min_perplexity_fraction: float = 0.05,
        patience: int = 100,
    ) -> None:
        self.codebook_size = codebook_size
        self.low, self.high = gradient_norm_range
        self.min_perplexity = min_perplexity_fraction * codebook_size
        self.patience = patience
        self.streaks = {kind: _Streak() for kind in ("gradient_norm_high", "gradient_norm_low", "codebook_collapse")}
        self.warnings: list[GuardWarning] = []

    def observe(self, step: int, gradient_norm: float, codebook_perplexity: float) -> list[GuardWarning]:
        too_high = not math.isfinite(gradient_norm) or gradient_norm > self.high
        checks = {
            "gradient_norm_high": (
                too_high,
                f"gradient norm above {self.high:g} for {self.patience} steps (now {gradient_norm:.3g}): "
                "lower the learning rate, lengthen the warm-up, or clip gradients.",
            ),
            "gradient_norm_low": (
                gradient_norm < self.low,
                f"gradient norm below {self.low:g} for {self.patience} steps (now {gradient_norm:.3g}): "
                "updates are stalling; check the learning rate and that the encoder is not frozen.",
            ),
            "codebook_collapse": (
                codebook_perplexity < self.min_perplexity,
                f"codebook perplexity {codebook_perplexity:.1f} of {self.codebook_size} codevectors for "
                f"{self.patience} steps: the codebook is collapsing. Raise the diversity weight or the "
                "Gumbel temperature, or lower the learning rate.",
            ),
        }
        raised = []
        for kind, (out_of_range, message) in checks.items():
            if self.streaks[kind].update(out_of_range, self.patience):
                warning = GuardWarning(step=step, kind=kind, message=f"step {step}: {message}")
                logger.warning(warning.message)
                raised.append(warning)
        self.warnings.extend(raised)
        return raised
