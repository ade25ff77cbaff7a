"""What the demo builds and how long it trains: one frozen settings object, a full and a quick preset.

The full preset is sized for about 10 minutes on 2 CPU cores: training is bounded by optimizer steps
(reproducible, resumable), counted from the time per step measured on such a machine. The quick preset
runs the same stages with tiny data and a few steps, for the test suite.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoSettings:
    target_language: str = "mri"  # Māori, ISO 639-3 (corpus and UDHR text)
    target_spec: str = "mi"  # its G2P spec in g2p/: hand-written rules (g2p/mi.rules)
    seen_languages: tuple[str, ...] = ("ind", "swh", "spa", "ita", "fin")  # phones from fieldasr.g2p specs
    seen_utterances_per_language: int = 90
    seen_dev_utterances_per_language: int = 4  # held out of the multilingual training, for its validation PER
    speakers_per_language: int = 4
    target_utterances: int = 113  # every Māori UDHR passage once, so test texts never occur in training
    target_test_utterances: int = 14  # also the texts of the long recording (same seeded order)
    target_labelled_utterances: int = 30  # "a few minutes of labels"
    long_recording_utterances: int = 14
    ssl_steps: int = 300  # self-supervised, on the seen languages' audio
    continued_ssl_steps: int = 100  # ... continued on the target's unlabelled audio
    multilingual_steps: int = 200  # phone CTC; the chain without SSL trains this plus both SSL stages' steps
    transfer_steps: int = 100
    conformer: tuple[tuple[str, Any], ...] = (
        ("num_mel_bins", 40), ("hidden_size", 144), ("num_layers", 2), ("num_heads", 4), ("ffn_size", 288),
        ("conv_kernel_size", 15), ("dropout", 0.1), ("subsampling_channels", 32),
    )
    max_batch_duration: float = 60.0  # seconds of audio per training batch
    ssl_max_batch_duration: float = 24.0  # ... per SSL batch: more, smaller steps (the longest utterance is 22 s)
    bootstrap_resamples: int = 1000  # for the report's confidence intervals
    lr: float = 2e-3
    torch_threads: int = 2
    seed: int = 0

    def with_(self, **changes: Any) -> "DemoSettings":
        return dataclasses.replace(self, **changes)


FULL = DemoSettings()

QUICK = DemoSettings(
    seen_languages=("ind", "spa"),
    seen_utterances_per_language=6,
    seen_dev_utterances_per_language=2,
    speakers_per_language=2,
    target_utterances=12,
    target_test_utterances=3,
    target_labelled_utterances=5,
    long_recording_utterances=3,
    ssl_steps=2,
    continued_ssl_steps=2,
    multilingual_steps=4,
    transfer_steps=3,
    conformer=(("num_mel_bins", 40), ("hidden_size", 32), ("num_layers", 1), ("num_heads", 2), ("ffn_size", 64),
               ("conv_kernel_size", 7), ("dropout", 0.0), ("subsampling_channels", 8)),
    max_batch_duration=30.0,
    ssl_max_batch_duration=30.0,
    bootstrap_resamples=50,
    torch_threads=1,
)
