"""Self-supervised (wav2vec 2.0) pretraining, from scratch or continued, on untranscribed audio.

`vad_chunking` turns long recordings into 2-20 s speech chunks, `replay` mixes in source-language audio,
`objective` is the wav2vec 2.0 loss, `pretraining_task` runs it as a Trainer task on Hugging Face wav2vec 2.0
(with checkpoint loading and saving) and `conformer_pretraining` on the filterbank Conformer (its checkpoints start
`model.init_from` in the CTC recipes; `conformer_source` reads the settings that name one),
`guard` warns when gradient norms or codebook perplexity drift into known failure modes, and
`audio_dataset` reads the chunks back as waveforms. `pretrain.continue_pretraining` runs it all on the common
Trainer and writes a checkpoint (Hugging Face or Conformer); `recipe` chains it with CTC fine-tuning.
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
