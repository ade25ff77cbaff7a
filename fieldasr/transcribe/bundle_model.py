"""A model bundle as the transcriber sees it: audio in, log-probabilities out, at the asked precision and language.

The precision is applied here and only here (int8: linear layers quantised once; bf16: autocast around each
forward pass), and so is the choice of per-language adapter, so `transcribe`, `decode` and `tune` run a bundle
the same way. A model with adapters always runs with one: without a language it would run the un-adapted encoder.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence

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


def adapter_languages(model: torch.nn.Module) -> tuple[str, ...]:
    """The languages a model has per-language adapters for (none for most models)."""
    adapters = getattr(model, "adapters", None)
    return tuple(adapters.languages) if adapters is not None else ()


def chosen_language(bundle: Bundle, asked: str | None) -> str | None:
    """The adapter language a bundle runs with: `asked` (checked), else the language bundle.json records when it has
    an adapter, else the only adapter; None for a model without adapters, or when several fit and none is recorded."""
    available = adapter_languages(bundle.model)
    if asked is not None:
        if not available:
            raise TranscriptionError(f"{bundle.directory}: this model has no per-language adapters, so --language {asked} "
                                     "would change nothing. Leave --language out.")
        if asked not in available:
            raise TranscriptionError(f"{bundle.directory}: the model has no adapter for language {asked!r}; it has adapters "
                                     f"for {', '.join(available)}. Choose one of them with --language.")
        return asked
    if bundle.language in available:
        return bundle.language
    return available[0] if len(available) == 1 else None


class BundleAcousticModel:
    def __init__(self, bundle: Bundle, precision: str = "fp32", language: str | None = None) -> None:
        """`precision` "auto" is what the CLI passes by default; library callers get fp32 unless they ask, so
        their results do not depend on the machine. `language` picks the per-language adapter (see `chosen_language`)."""
        self.vocabulary = bundle.vocabulary
        self.unit = bundle.label_unit
        self.network = bundle.model.eval()
        self.device = next(self.network.parameters()).device
        self.precision = resolve_precision(precision, self.device)
        self.directory = bundle.directory
        self.adapter_languages = adapter_languages(bundle.model)
        self.language = chosen_language(bundle, language)
        self.language_asked = language is not None
        if self.precision == "int8":
            if self.device.type != "cpu":
                raise TranscriptionError("int8 runs on the CPU only; use --precision bf16 or fp32 with --device cuda.")
            self.network = quantise_linear_layers(self.network)

    def language_for_audio(self) -> str | None:
        """The adapter language for audio that names no language (None: the model has no adapters); raises when the
        model has several adapters and the bundle records none of them, before any audio is read."""
        if self.adapter_languages and self.language is None:
            raise TranscriptionError(f"{self.directory}: the model has adapters for {', '.join(self.adapter_languages)} and the bundle "
                                     f"records none of them as its language. Choose one with --language, e.g. --language {self.adapter_languages[0]}.")
        return self.language

    def row_languages(self, segment_languages: Sequence[str | None]) -> list[str] | None:
        """Each row's adapter: --language when given, else the segment's own language when it has an adapter (as
        validation in training chose), else `language_for_audio()`. None for a model without adapters."""
        if not self.adapter_languages:
            return None
        if self.language_asked:
            return [self.language] * len(segment_languages)  # type: ignore[list-item]
        return [language if language in self.adapter_languages else self.language_for_audio()  # type: ignore[misc]
                for language in segment_languages]

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor,
                  languages: Sequence[str | None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`languages`: of each row, when known (a manifest's segments); else the bundle's language for all."""
        rows = self.row_languages(languages if languages is not None else [None] * len(waveforms))
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision == "bf16"
                    else contextlib.nullcontext())
        with autocast:
            logits, frame_lengths = self.network(waveforms.to(self.device), lengths.to(self.device), rows)
        return logits.float().log_softmax(dim=-1), frame_lengths


def quantise_linear_layers(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of every nn.Linear (weights int8, activations quantised on the fly; CPU only).

    In place: a copy would keep the adapters' forward hooks pointing at the original model, whose language
    selection the copy's forward never sets, so the adapters would silently stay off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice: still the CPU int8 path in torch 2.14
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


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
                log_probs, frames = model.log_probs(padded, lengths, [segment.language for segment in batch])
            for row, segment in enumerate(batch):
                emissions[segment.id] = log_probs[row, : int(frames[row])].float().cpu()
            progress.update(len(batch))
    return emissions
