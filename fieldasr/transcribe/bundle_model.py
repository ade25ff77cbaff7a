"""A model bundle as the transcriber sees it: audio in, log-probabilities out, at the asked precision.

The precision is applied here and only here (int8: linear layers quantised once; bf16: autocast around each
forward pass), so `transcribe` and `decode` run a bundle the same way.
"""
from __future__ import annotations

import contextlib
import warnings

import torch

from fieldasr.batching import cut_batches
from fieldasr.bundle import Bundle
from fieldasr.decode.beam import BeamDecoder
from fieldasr.decode.lexicon import decoding_lexicon
from fieldasr.transcribe.engine import PRECISIONS, TranscribeOptions, TranscriptionError


def cpu_default_precision() -> str:
    """What "auto" means on a CPU, chosen in docs/benchmarks/transcribe_speed.analysis.md: the fastest precision
    whose phone error rate stays within 0.5 points of fp32. bf16 (PER +0.00) was fastest on a CPU with native
    bf16 instructions; without them autocast emulates bf16 and can be slower than fp32, while int8 (PER +0.07)
    was faster than fp32 either way."""
    try:
        native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        native_bf16 = False
    return "bf16" if native_bf16 else "int8"


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """"auto" → `cpu_default_precision()` on a CPU and fp32 elsewhere (bf16/int8 are measured on CPUs only)."""
    if precision not in ("auto", *PRECISIONS):
        raise TranscriptionError(f"precision {precision!r} is not auto or one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    return cpu_default_precision() if torch.device(device).type == "cpu" else "fp32"


class BundleAcousticModel:
    def __init__(self, bundle: Bundle, precision: str = "fp32") -> None:
        """`precision` "auto" is what the CLI passes by default; library callers get fp32 unless they ask, so
        their results do not depend on the machine."""
        self.vocabulary = bundle.vocabulary
        self.unit = bundle.label_unit
        self.network = bundle.model.eval()
        self.device = next(self.network.parameters()).device
        self.precision = resolve_precision(precision, self.device)
        if self.precision == "int8":
            if self.device.type != "cpu":
                raise TranscriptionError("int8 runs on the CPU only; use --precision bf16 or fp32 with --device cuda.")
            self.network = quantise_linear_layers(self.network)

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision == "bf16"
                    else contextlib.nullcontext())
        with autocast:
            logits, frame_lengths = self.network(waveforms.to(self.device), lengths.to(self.device))
        return logits.float().log_softmax(dim=-1), frame_lengths


def quantise_linear_layers(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of every nn.Linear (weights int8, activations quantised on the fly; CPU only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice: still the CPU int8 path in torch 2.14
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def beam_decoder_for(bundle: Bundle, options: TranscribeOptions, lm_weight: float, word_score: float, beam_size: int) -> BeamDecoder | None:
    """The bundle's lexicon + LM decoder, or None for greedy decoding."""
    if options.decoder != "beam":
        return None
    if bundle.lexicon is None and bundle.language_model is None:
        raise TranscriptionError(f"{bundle.directory}: the bundle has no lexicon and no LM, so beam search has nothing to add. Use --decoder greedy.")
    lexicon = decoding_lexicon(bundle.vocabulary, bundle.lexicon, bundle.language_model, bundle.text_normaliser())
    return BeamDecoder(bundle.vocabulary, lexicon=lexicon, lm_path=bundle.language_model,
                       lm_weight=lm_weight, word_score=word_score, beam_size=beam_size)


def segment_emissions(model: BundleAcousticModel, corpus, batch_seconds: float = 120.0, show_progress: bool = True) -> dict[str, torch.Tensor]:
    """(frames, labels) log-probabilities of every segment of a `fieldasr.data.Corpus`, batched by length."""
    from tqdm import tqdm

    from fieldasr.audio import load_audio

    segments = list(corpus.segments)
    durations = [segment.duration for segment in segments]
    longest_first = sorted(range(len(segments)), key=durations.__getitem__, reverse=True)
    emissions: dict[str, torch.Tensor] = {}
    with tqdm(total=len(segments), desc="emissions", unit="segment", disable=not show_progress) as progress:
        for indices in cut_batches(durations, longest_first, batch_seconds):
            batch = [segments[index] for index in indices]
            waves = [torch.from_numpy(load_audio(corpus.recordings[s.recording_id].path, s.start, s.duration)) for s in batch]
            lengths = torch.tensor([len(wave) for wave in waves])
            padded = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
            with torch.inference_mode():
                log_probs, frames = model.log_probs(padded, lengths)
            for row, segment in enumerate(batch):
                emissions[segment.id] = log_probs[row, : int(frames[row])].float().cpu()
            progress.update(len(batch))
    return emissions
