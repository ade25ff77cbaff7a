"""Output-layer transfer to a new language's phone inventory.

Rows of phones the source model knows are copied; each unseen phone starts from the row of its
feature-nearest known phone (a mapping `new_phone → (known_phone, distance)`, e.g. from
`nearest_known_phones`); phones with no usable mapping start from the mean of the known
phone rows. The report says which phone got which start.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary


@dataclass(frozen=True)
class OutputTransferReport:
    copied: tuple[str, ...]
    initialised_from: Mapping[str, tuple[str, float]]  # new phone → (known phone whose row it starts from, distance)
    mean_initialised: tuple[str, ...]  # no mapping to a known phone

    def to_dict(self) -> dict[str, Any]:
        return {"copied": list(self.copied), "initialised_from": {k: list(v) for k, v in self.initialised_from.items()},
                "mean_initialised": list(self.mean_initialised)}

    def summary(self) -> str:
        return (f"output layer: {len(self.copied)} rows copied, {len(self.initialised_from)} initialised from the nearest "
                f"known phone, {len(self.mean_initialised)} from the mean ({', '.join(self.mean_initialised) or 'none'}).")


def _nearest(entry: Any) -> tuple[str, float]:
    """Accept (phone, distance) pairs or objects/dicts with `phone`/`distance`."""
    if isinstance(entry, Mapping):
        return str(entry["phone"]), float(entry.get("distance", 0.0))
    if isinstance(entry, (tuple, list)):
        return str(entry[0]), float(entry[1]) if len(entry) > 1 else 0.0
    return str(getattr(entry, "phone")), float(getattr(entry, "distance", 0.0))


@torch.no_grad()
def transfer_output_layer(
    source_head: torch.nn.Linear, source_vocabulary: Vocabulary, target_vocabulary: Vocabulary,
    nearest_known: Mapping[str, Any] | None = None,
) -> tuple[torch.nn.Linear, OutputTransferReport]:
    nearest_known = nearest_known or {}
    head = torch.nn.Linear(source_head.in_features, len(target_vocabulary))
    phone_rows = [i for i, token in enumerate(source_vocabulary.tokens) if i != source_vocabulary.blank_index]
    mean_weight = source_head.weight[phone_rows].mean(0)
    mean_bias = source_head.bias[phone_rows].mean()
    copied, initialised, mean_initialised = [], {}, []
    for row, token in enumerate(target_vocabulary.tokens):
        source_token, distance = (token, 0.0) if token in source_vocabulary else (None, 0.0)
        if source_token is None and token in nearest_known:
            candidate, distance = _nearest(nearest_known[token])
            source_token = candidate if candidate in source_vocabulary else None
        if source_token is None:
            head.weight[row], head.bias[row] = mean_weight, mean_bias
            mean_initialised.append(token)
            continue
        source_row = source_vocabulary.index(source_token)
        head.weight[row], head.bias[row] = source_head.weight[source_row], source_head.bias[source_row]
        if source_token == token:
            copied.append(token)
        else:
            initialised[token] = (source_token, distance)
    return head, OutputTransferReport(tuple(copied), initialised, tuple(mean_initialised))


def nearest_known_phones(source: Vocabulary, target: Vocabulary) -> dict[str, Any]:
    """Each target phone the source model lacks → its panphon feature-nearest source phone (Whistle+features)."""
    from fieldasr.g2p.inventory import map_to_inventory

    specials = {source.tokens[0], "<unk>", WORD_BOUNDARY}
    unseen = [token for token in target.tokens if token not in source and token not in specials]
    known = [token for token in source.tokens if token not in specials]
    return {phone: match for phone, match in map_to_inventory(unseen, known).items() if match.phone is not None}
