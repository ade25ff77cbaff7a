"""How sure the model is of a decoded segment: one number in [0, 1], the same for every decoder.

The confidence of a hypothesis is the geometric mean of its CTC probability per emitted label,
exp(ln P(tokens | audio) / (labels + 1)), with P summed over all alignments (`ctc_log_likelihoods`); the + 1 counts
the end of the segment, so that an empty hypothesis is scored too. Per label, not per frame: most frames are
confidently blank, so a per-frame mean mostly measures how long and how silent a segment is (on real Dutch it
ranked utterances by length, not by error: docs/benchmarks/confidence.analysis.md). For the beam it scores the chosen
hypothesis under the acoustic model alone (the LM's preference is not certainty about the audio). A hypothesis too
long for its frames scores 0.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from fieldasr.decode.beam import ctc_log_likelihoods


def hypothesis_confidence(emission: torch.Tensor, token_ids: Sequence[int]) -> float:
    """Confidence in [0, 1] of `token_ids` given one utterance's `(frames, labels)` log-probabilities."""
    frames = emission.shape[0]
    if frames == 0:
        return 0.0
    if not token_ids:  # ctc_loss needs at least one target; all frames blank is the only path
        log_likelihood = float(emission.float().log_softmax(dim=-1)[:, 0].sum())
    else:
        (log_likelihood,) = ctc_log_likelihoods(emission, [list(token_ids)])
    if not math.isfinite(log_likelihood):
        return 0.0
    return min(1.0, max(0.0, math.exp(log_likelihood / (len(token_ids) + 1))))
