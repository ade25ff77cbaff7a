"""Shape checks shared by the decoders, with messages that say what was passed and what is expected."""
from __future__ import annotations

import torch

from fieldasr.errors import FieldasrError
from fieldasr.text.vocabulary import Vocabulary


class DecodingError(FieldasrError):
    """Emissions, lexicon or language model cannot be decoded as asked."""


def check_emissions(emissions: torch.Tensor, vocabulary: Vocabulary, lengths: torch.Tensor | None) -> torch.Tensor:
    """Validate `(batch, frames, labels)` emissions against the vocabulary; return lengths (all frames if None)."""
    if emissions.dim() != 3:
        raise DecodingError(
            f"emissions must have shape (batch, frames, labels); got {tuple(emissions.shape)}. "
            "Add a batch dimension with emission.unsqueeze(0) for a single utterance."
        )
    batch, frames, labels = emissions.shape
    if labels != len(vocabulary):
        raise DecodingError(
            f"emissions have {labels} labels per frame but the vocabulary has {len(vocabulary)} tokens; "
            "use the vocabulary the model was trained with."
        )
    if lengths is None:
        return torch.full((batch,), frames, dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lengths.shape != (batch,) or bool((lengths < 0).any()) or bool((lengths > frames).any()):
        raise DecodingError(
            f"lengths must be {batch} frame counts between 0 and {frames}; got {lengths.tolist()}."
        )
    return lengths
