"""Per-language adapters (MMS-style): a small bottleneck after every transformer layer, one per language.

Adapters start as the identity (zero-initialised up-projection), so adding them to a trained model
changes nothing until they are trained. Rows of a batch may belong to different languages.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from fieldasr.errors import FieldasrError


class AdapterError(FieldasrError):
    """A batch names a language that has no adapter."""


class BottleneckAdapter(torch.nn.Module):
    def __init__(self, hidden_size: int, bottleneck_size: int) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(hidden_size)
        self.down = torch.nn.Linear(hidden_size, bottleneck_size)
        self.up = torch.nn.Linear(bottleneck_size, hidden_size)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up(torch.relu(self.down(self.norm(hidden))))


class LanguageAdapters(torch.nn.Module):
    """`num_layers` × languages adapters, applied by forward hooks on the given transformer layers."""

    def __init__(self, languages: Sequence[str], num_layers: int, hidden_size: int, bottleneck_size: int = 32) -> None:
        super().__init__()
        self.languages = tuple(languages)
        self.adapters = torch.nn.ModuleList(
            torch.nn.ModuleDict({language: BottleneckAdapter(hidden_size, bottleneck_size) for language in self.languages})
            for _ in range(num_layers)
        )
        self.batch_languages: list[str] | None = None

    def attach(self, layers: Iterable[torch.nn.Module]) -> None:
        for layer, adapters in zip(layers, self.adapters, strict=True):
            layer.register_forward_hook(self._hook(adapters))

    def select(self, languages: Sequence[str] | None) -> None:
        """Languages of the rows of the next batch (None: no adapters)."""
        if languages is not None:
            unknown = sorted(set(languages) - set(self.languages))
            if unknown:
                raise AdapterError(f"no adapter for language(s) {unknown}; this model has adapters for {list(self.languages)}.")
        self.batch_languages = None if languages is None else list(languages)

    def _hook(self, adapters: torch.nn.ModuleDict):
        def apply(module: torch.nn.Module, inputs: object, output: object) -> object:
            if self.batch_languages is None:
                return output
            hidden = output[0] if isinstance(output, tuple) else output
            adapted = hidden.clone()
            for language in set(self.batch_languages):
                rows = torch.tensor([lang == language for lang in self.batch_languages], device=hidden.device)
                adapted[rows] = adapters[language](hidden[rows])
            return (adapted, *output[1:]) if isinstance(output, tuple) else adapted

        return apply

    def adapter_parameters(self) -> Iterable[torch.nn.Parameter]:
        return self.adapters.parameters()
