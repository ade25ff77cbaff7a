"""The correction loop: fine-tune a bundle on the annotations a fieldworker corrected, then export a new bundle.

Steps: the corrected annotations (`fieldasr.data.corrections`: fieldasr's unchanged output is not training
data) → labels as the bundle makes them (phones from its G2P spec, or characters / subwords of the normalised
text) → a fixed held-out part (chosen by a digest of each annotation, so it stays held out in later rounds) →
fine-tuning on the rest plus a replay of the bundle's original training data when given → PER before and after on
the held-out part → a new bundle, written atomically beside the old one, which is never touched.

Training runs on the common Trainer with checkpoints in a work folder, so a killed run continues where it
stopped when the same command is run again; the work folder records what it was started on and refuses to
continue on other inputs.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from fieldasr.bundle import Bundle, export_bundle, load_bundle, read_bundle_description
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.data.corrections import Corrections, read_corrections
from fieldasr.decode.greedy import greedy_decode
from fieldasr.errors import FieldasrError
from fieldasr.eval.metrics import score_pairs
from fieldasr.files import atomic_write_text
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.train.batching import duration_batch_sampler
from fieldasr.train.data import load_corpus, load_subword_model
from fieldasr.train.pipeline import SpeechDataset, SpeechExample, collate_ctc, filter_ctc_feasible, prepare_ctc_examples, segment_tokens
from fieldasr.train.tasks import CTCTask
from fieldasr.train.trainer import Trainer, TrainerOptions

WORK_RECORD = "adapt.json"  # in the work folder: what the run was started on


class AdaptError(FieldasrError):
    """The corrections or options cannot be adapted on."""


@dataclass(frozen=True)
class AdaptOptions:
    # Defaults measured on real Dutch (docs/benchmarks/correction_loop.analysis.md): at lr 3e-4 or with fewer replayed
    # utterances fine-tuning cost the model more than the corrections gave.
    steps: int = 600  # optimizer steps of fine-tuning
    lr: float = 1e-4  # peak learning rate (a fifth of the small-data recipe's)
    warmup_fraction: float = 0.1  # of the steps: linear warm-up to lr, then linear decay to zero (a fresh optimizer
    # at full rate knocks a converged model off its minimum before the corrections can help)
    held_out_fraction: float = 0.2  # of the corrected annotations, for PER before / after
    replay: Path | None = None  # manifest folder of the bundle's original training data
    replay_ratio: float = 3.0  # replayed utterances per corrected training utterance (at most all of them)
    speed_factors: tuple[float, ...] = (0.9, 1.0, 1.1)  # speed perturbation, as the small-data recipe trains; () for none
    max_batch_seconds: float = 20.0  # padded audio per batch (the small-data recipe's: more updates per minute of audio)
    checkpoint_every_steps: int = 20
    work_dir: Path | None = None  # checkpoints; default: NEW_BUNDLE.work beside the new bundle
    device: str = "cpu"
    seed: int = 0
    progress_bar: bool = True

    def validate(self) -> None:
        if self.steps < 1 or self.checkpoint_every_steps < 1:
            raise AdaptError(f"--steps ({self.steps}) and the checkpoint interval ({self.checkpoint_every_steps}) must be at least 1.")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise AdaptError(f"the warm-up fraction ({self.warmup_fraction}) must lie in [0, 1), e.g. 0.1.")
        if not 0.0 < self.held_out_fraction < 1.0:
            raise AdaptError(f"--held-out ({self.held_out_fraction}) must lie between 0 and 1, e.g. 0.2.")
        if any(factor <= 0 for factor in self.speed_factors):
            raise AdaptError(f"speed factors ({self.speed_factors}) must be positive, e.g. 0.9 1.0 1.1.")
        if self.replay_ratio < 0:
            raise AdaptError(f"--replay-ratio ({self.replay_ratio}) cannot be negative.")


@dataclass(frozen=True)
class AdaptResult:
    bundle: Path
    work_dir: Path
    label_unit: str
    files: int
    trained_on: int  # corrected annotations trained on
    held_out: int  # corrected annotations scored before / after
    replayed: int  # utterances of the original training data mixed in
    skipped: dict[str, int]  # why -> corrected (or unchanged) annotations not used
    error_rate_before: float  # PER (phones) or CER (characters, subwords: of their tokens) on the held-out part
    error_rate_after: float
    steps: int
    resumed_from_step: int  # 0: a fresh run
    notes: tuple[str, ...] = field(default_factory=tuple)

    def report(self) -> str:
        rate = {"phones": "PER", "characters": "CER"}.get(self.label_unit, "token error rate")
        lines = [
            f"corrected annotations in {self.files} file(s): {self.trained_on} trained on, {self.held_out} held out for scoring",
            f"not used: {', '.join(f'{count} {why}' for why, count in self.skipped.items()) or 'none'}",
            f"replay of the original training data: {self.replayed} utterances",
            f"fine-tuning: {self.steps} steps" + (f" (resumed at step {self.resumed_from_step})" if self.resumed_from_step else ""),
            f"{rate} on the held-out corrections: {self.error_rate_before:.3f} before, {self.error_rate_after:.3f} after",
            *self.notes,
            f"new bundle: {self.bundle} (checkpoints in {self.work_dir}: remove that folder once you keep the bundle)",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Split:
    train: list[SpeechExample]
    held_out: list[SpeechExample]
    skipped: Counter


def _check_paths(bundle_dir: Path, output: Path) -> None:
    if output.resolve() == bundle_dir.resolve():
        raise AdaptError(f"{output}: --out names the bundle being adapted; the original is never replaced. Choose a new folder.")
    if output.exists():
        raise AdaptError(f"{output}: already exists; nothing was written. Choose a new folder for the adapted bundle.")


def _labelled_segments(corrections: Corrections, bundle: Bundle) -> Corpus:
    """Segments of the corrected annotations with the labels the bundle was trained on (phones from its G2P spec)."""
    recordings: dict[str, Recording] = {}
    segments = []
    for annotation in corrections.annotations:
        recording_id = hashlib.sha256(str(annotation.audio.resolve()).encode()).hexdigest()[:12]
        if recording_id not in recordings:
            recordings[recording_id] = Recording.from_audio(recording_id, annotation.audio)
        # Named by folder, file and times (not the absolute path): the same annotation stays held out on any machine.
        key = f"{annotation.source.parent.name}/{annotation.source.name}\t{round(annotation.start * 1000)}\t{round(annotation.end * 1000)}"
        segment_id = f"{annotation.source.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        segments.append(Segment(segment_id, recording_id, annotation.start, annotation.end - annotation.start, annotation.text,
                                language=bundle.language))
    if bundle.label_unit == "phones":
        if bundle.g2p_spec is None:
            raise AdaptError(f"{bundle.directory}: a phone model without a G2P spec, so corrected text cannot be turned into its "
                             "phones. Re-export the bundle from its experiment (`fieldasr export`), which copies the spec.")
        from fieldasr.g2p.pipeline import get_g2p

        phones = get_g2p(bundle.g2p_spec).phonemize([segment.text for segment in segments],
                                                  word_boundaries=WORD_BOUNDARY in bundle.vocabulary).phones
        segments = [segment.with_(phones=tuple(sequence)) for segment, sequence in zip(segments, phones)]
    return Corpus(recordings, tuple(segments))


def _examples(corpus: Corpus, bundle: Bundle, skipped: Counter, speed_factors: Sequence[float]) -> list[SpeechExample]:
    """One example per segment whose labels the bundle's vocabulary holds; the others are counted."""
    subwords = load_subword_model(str(bundle.subword_model) if bundle.subword_model else None)
    normaliser = bundle.text_normaliser()
    usable = []
    for segment in corpus.segments:
        tokens = segment_tokens(segment, bundle.label_unit, subwords, normaliser)
        unknown = sorted({token for token in tokens if token not in bundle.vocabulary})
        if not tokens:
            skipped["without labels (no sounds the G2P spec knows)"] += 1
        elif unknown:
            skipped[f"with labels the bundle lacks ({' '.join(unknown[:5])})"] += 1
        else:
            usable.append(segment)
    examples = prepare_ctc_examples(Corpus(corpus.recordings, tuple(usable)), bundle.vocabulary, bundle.label_unit, subwords, normaliser)
    kept, report = filter_ctc_feasible(examples, bundle.model.frame_lengths, speed_factors)
    if report.removed:
        skipped["too short for their labels"] += len(report.removed)
    return kept


def _is_held_out(example: SpeechExample, fraction: float) -> bool:
    digest = hashlib.sha256(example.segment.id.encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < fraction


def split_corrections(corrections: Corrections, bundle: Bundle, options: AdaptOptions) -> _Split:
    skipped: Counter = Counter()
    examples = _examples(_labelled_segments(corrections, bundle), bundle, skipped, options.speed_factors)
    if len(examples) < 2:
        raise AdaptError(f"only {len(examples)} corrected annotation(s) can be used (not used: "
                         f"{', '.join(f'{count} {why}' for why, count in {**corrections.skipped, **skipped}.items()) or 'none'}); "
                         "adapting needs at least 2, one of them held out to measure the change. Correct more annotations in ELAN first.")
    held_out = [example for example in examples if _is_held_out(example, options.held_out_fraction)]
    if not held_out or len(held_out) == len(examples):  # tiny sets: still one of each, chosen by the same digest order
        by_digest = sorted(examples, key=lambda example: hashlib.sha256(example.segment.id.encode()).hexdigest())
        held_out = by_digest[:1] if not held_out else by_digest[:-1]
    held_ids = {example.segment.id for example in held_out}
    return _Split([example for example in examples if example.segment.id not in held_ids], held_out, skipped)


def replay_examples(options: AdaptOptions, bundle: Bundle, wanted: int) -> list[SpeechExample]:
    if options.replay is None or wanted == 0:
        return []
    corpus = load_corpus(options.replay, None, bundle.label_unit)
    subwords = load_subword_model(str(bundle.subword_model) if bundle.subword_model else None)
    chosen = random.Random(options.seed).sample(list(corpus.segments), min(wanted, len(corpus.segments)))
    examples = prepare_ctc_examples(Corpus(corpus.recordings, tuple(chosen)), bundle.vocabulary, bundle.label_unit, subwords,
                                    bundle.text_normaliser())
    return filter_ctc_feasible(examples, bundle.model.frame_lengths, options.speed_factors)[0]


@torch.no_grad()
def token_error_rate(model: torch.nn.Module, bundle: Bundle, examples: Sequence[SpeechExample], batch_size: int = 8) -> float:
    """Greedy decoding's label error rate over `examples` (PER for phones), counted as `fieldasr evaluate` counts."""
    model.eval()
    references, hypotheses = [], []
    dataset, device = SpeechDataset(examples), next(model.parameters()).device
    for first in range(0, len(examples), batch_size):
        chunk = range(first, min(first + batch_size, len(examples)))
        batch = collate_ctc([dataset[index] for index in chunk]).to(device)
        logits, frames = model(batch.waveforms, batch.lengths)
        hypotheses += [result.tokens for result in greedy_decode(logits.float().log_softmax(-1), bundle.vocabulary, frames)]
        references += [bundle.vocabulary.decode(examples[index].labels) for index in chunk]
    result = score_pairs(references, hypotheses, unit="phone", normaliser="none")
    return result.errors / max(1, result.reference_length)


def _claim_work_dir(work_dir: Path, record: dict[str, Any]) -> None:
    """Start a work folder, or continue one started on the very same inputs."""
    path = work_dir / WORK_RECORD
    if path.is_file():
        if json.loads(path.read_text(encoding="utf-8")) != record:
            raise AdaptError(f"{work_dir}: holds an adaptation run started on other corrections, bundle or options, so it cannot "
                             "be continued with these. Remove the folder to start afresh, or give another --work-dir.")
        return
    if work_dir.exists() and any(work_dir.iterdir()):
        raise AdaptError(f"{work_dir}: exists and is not an adaptation work folder; nothing was written. Give another --work-dir.")
    work_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def _work_record(bundle_dir: Path, split: _Split, replay: list[SpeechExample], options: AdaptOptions) -> dict[str, Any]:
    description = read_bundle_description(bundle_dir)
    settings = {key: (str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value)
                for key, value in asdict(options).items() if key not in ("work_dir", "progress_bar", "device")}
    return {"bundle": {name: checksum.sha256 for name, checksum in description.checksums.items()},
            "train": sorted(example.segment.id for example in split.train),
            "held_out": sorted(example.segment.id for example in split.held_out),
            "replay": sorted(example.segment.id for example in replay), "options": settings}


def adapt_bundle(bundle_dir: str | Path, eaf_files: Sequence[str | Path], tier: str, output: str | Path,
                 options: AdaptOptions = AdaptOptions()) -> AdaptResult:
    """Fine-tune the bundle on the corrected annotations of `tier` in `eaf_files` and export it to `output`."""
    bundle_dir, output = Path(bundle_dir), Path(output)
    options.validate()
    _check_paths(bundle_dir, output)
    corrections = read_corrections(eaf_files, tier)
    bundle = load_bundle(bundle_dir, device=options.device)
    if not corrections.annotations:
        raise AdaptError(f"no corrected annotations in tier {tier!r} of {corrections.files} file(s) (not used: "
                         f"{corrections.describe_skipped()}). fieldasr's unchanged output is not training data: correct "
                         "annotations in ELAN (or transcribe by hand) first, then run adapt again.")
    split = split_corrections(corrections, bundle, options)
    replay = replay_examples(options, bundle, round(options.replay_ratio * len(split.train)))
    work_dir = options.work_dir or output.with_name(output.name + ".work")
    _claim_work_dir(work_dir, _work_record(bundle_dir, split, replay, options))
    before = token_error_rate(bundle.model, bundle, split.held_out)
    summary = fine_tune(bundle, split.train + replay, work_dir, options)
    after = token_error_rate(bundle.model, bundle, split.held_out)
    export_fine_tuned(bundle, output)
    notes = () if options.replay else ("no replay: fine-tuned on the corrections alone; give the bundle's training manifests "
                                       "with --replay so that it keeps what it knew.",)
    return AdaptResult(output, work_dir, bundle.label_unit, corrections.files, len(split.train), len(split.held_out), len(replay),
                       {**corrections.skipped, **split.skipped}, before, after, summary.optimizer_steps,
                       summary.optimizer_steps - len(summary.step_losses), notes)


def export_fine_tuned(bundle: Bundle, output: Path) -> Path:
    """The bundle's model as it is now, with everything else the bundle carries (spec, lexicon, LM), as a new bundle."""
    return export_bundle(output, bundle.model, bundle.vocabulary, label_unit=bundle.label_unit, language=bundle.language,
                         normaliser=bundle.normaliser, g2p_spec=bundle.g2p_spec, lexicon=bundle.lexicon,
                         language_model=bundle.language_model, subword_model=bundle.subword_model)


def fine_tune(bundle: Bundle, examples: list[SpeechExample], work_dir: Path, options: AdaptOptions):
    """Train the bundle's model in place on `examples` with adapt's schedule; checkpoints (and resumption) in `work_dir`."""
    dataset = SpeechDataset(examples, options.speed_factors, seed=options.seed)
    trainer_options = TrainerOptions(experiment_dir=work_dir, lr=options.lr, max_steps=options.steps, max_epochs=1_000_000,
                                     warmup_steps=round(options.warmup_fraction * options.steps), lr_decay="linear",
                                     checkpoint_interval_steps=options.checkpoint_every_steps, device=options.device,
                                     seed=options.seed, progress_bar=options.progress_bar)
    sampler = duration_batch_sampler(dataset.durations, max(options.max_batch_seconds, max(dataset.durations)), seed=options.seed)
    return Trainer(CTCTask(bundle.model, bundle.vocabulary), trainer_options, dataset, collate_ctc, batch_sampler=sampler).fit()
