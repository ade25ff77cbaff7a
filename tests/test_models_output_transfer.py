"""Output-layer transfer: shared rows copied, unseen phones from their nearest known phone, the rest from the mean."""
from __future__ import annotations

import torch

from fieldasr.models.output_transfer import transfer_output_layer
from fieldasr.text import Vocabulary


def test_rows_are_copied_mapped_or_averaged_and_reported():
    source = Vocabulary(("<blank>", "<unk>", "a", "i", "p", "t"))
    target = Vocabulary(("<blank>", "a", "ʔ", "ɨ", "t", "ŋ"))
    head = torch.nn.Linear(4, len(source))
    torch.nn.init.normal_(head.weight)
    new_head, report = transfer_output_layer(head, source, target, {"ɨ": ("i", 0.12), "ʔ": {"phone": "t", "distance": 0.4}, "ŋ": ("x", 0.1)})

    def row(layer, vocabulary, token):
        index = vocabulary.index(token)
        return torch.cat([layer.weight[index], layer.bias[index : index + 1]])

    for token in ("<blank>", "a", "t"):
        torch.testing.assert_close(row(new_head, target, token), row(head, source, token))
    torch.testing.assert_close(row(new_head, target, "ɨ"), row(head, source, "i"))
    torch.testing.assert_close(row(new_head, target, "ʔ"), row(head, source, "t"))
    phone_rows = torch.stack([row(head, source, token) for token in source.tokens[1:]])
    torch.testing.assert_close(row(new_head, target, "ŋ"), phone_rows.mean(0))  # "x" is not a known phone
    assert report.copied == ("<blank>", "a", "t")
    assert report.initialised_from == {"ʔ": ("t", 0.4), "ɨ": ("i", 0.12)}
    assert report.mean_initialised == ("ŋ",)
    assert "1 from the mean (ŋ)" in report.summary()
