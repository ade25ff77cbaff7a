"""Continued self-supervised pretraining of wav2vec 2.0 on untranscribed target-language audio.

`vad_chunking` turns long recordings into 2-20 s speech chunks, `replay` mixes in source-language audio,
`pretraining_task` is the Trainer task (contrastive + diversity loss) with checkpoint loading and saving,
`guard` warns when gradient norms or codebook perplexity drift into known failure modes, and
`audio_dataset` reads the chunks back as waveforms. `pretrain.continue_pretraining` runs it all on the common
Trainer and writes a Hugging Face checkpoint; `recipe` chains it with CTC fine-tuning.
"""
from fieldasr.ssl.guard import GradientGuard, GuardWarning
from fieldasr.ssl.replay import ReplayBatchSampler, ReplayMix, mix_replay
from fieldasr.ssl.vad_chunking import ChunkingOptions, ChunkingResult, chunk_recordings

__all__ = [
    "ChunkingOptions",
    "ChunkingResult",
    "GradientGuard",
    "GuardWarning",
    "ReplayBatchSampler",
    "ReplayMix",
    "chunk_recordings",
    "mix_replay",
]
