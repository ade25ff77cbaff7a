"""LangSAMP-style language and script embeddings (Liu et al. 2024).

Two small embedding tables whose rows are added to the transformer's final hidden states before the LM
head, so language- and script-specific information need not be squeezed into the shared
representations. They are used in pretraining only: the encoder stays language-neutral, and at
inference the module can simply be left out.
"""
from __future__ import annotations

import unicodedata
from collections import Counter

import torch
from torch import nn


class LanguageScriptEmbeddings(nn.Module):
    def __init__(self, num_languages: int, num_scripts: int, hidden_size: int, init_std: float = 0.02) -> None:
        super().__init__()
        self.languages = nn.Embedding(num_languages, hidden_size)
        self.scripts = nn.Embedding(num_scripts, hidden_size)
        nn.init.normal_(self.languages.weight, std=init_std)
        nn.init.normal_(self.scripts.weight, std=init_std)

    def forward(self, hidden_states: torch.Tensor, language_ids: torch.Tensor,
                script_ids: torch.Tensor) -> torch.Tensor:
        """hidden_states (batch, time, hidden); language_ids and script_ids (batch,): one of each per sequence."""
        offset = self.languages(language_ids) + self.scripts(script_ids)
        return hidden_states + offset.unsqueeze(1)


def dominant_script(text: str) -> str:
    """The Unicode script name most letters of `text` belong to (LATIN, CYRILLIC, ...), or 'COMMON'."""
    scripts = Counter(unicodedata.name(character, "UNKNOWN").split(" ")[0]
                      for character in text if character.isalpha())
    return scripts.most_common(1)[0][0] if scripts else "COMMON"
