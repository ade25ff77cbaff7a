"""Which batch sampler a recipe's `data:` section asks for: language-balanced when it sets
`language_balance_alpha`, else duration-sorted batches with little padding (the samplers are in `batching`)."""
from __future__ import annotations

from typing import Any

from fieldasr.train.batching import LanguageBalancedBatchSampler, batching_report, duration_batch_sampler
from fieldasr.train.pipeline import SpeechDataset
from fieldasr.train.recipe_config import DataSection


def make_sampler(data: DataSection, dataset: SpeechDataset, seed: int) -> Any:
    max_duration = data.max_batch_duration
    if data.language_balance_alpha is not None:
        sampler = LanguageBalancedBatchSampler(dataset.durations, dataset.languages, max_duration, data.language_balance_alpha, seed=seed)
    else:
        sampler = duration_batch_sampler(dataset.durations, max_duration, seed=seed)
    report = batching_report(sampler.batches, dataset.durations, max_duration)
    print(f"batches: {report.num_batches}, padding {report.padding_ratio:.1%}, {report.mean_batch_duration:.1f} s of audio per batch")
    return sampler
