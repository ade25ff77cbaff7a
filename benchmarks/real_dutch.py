"""Shared by benchmarks/confidence.py and benchmarks/correction_loop.py: their real-speech option (`--real-dutch DATA`).

DATA is the manifest folder that `benchmarks/real_speech.py` writes (exp/real_speech/data): real Dutch speech of Fish
Fillets NG, with a scene-disjoint `test` set and nested training sets `train_30` (30 minutes) and `train_full`.
The model is a bundle trained on train_30 (`--bundle`, e.g. real_speech.py's transfer run at 30 minutes). The
segments of train_full that are not in train_30 are speech that model never heard: the correction loop's "new
recordings". The fixed held-out set is a deterministic subset of the test set.
"""
from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

from crosslingual_protocol import g2p_spec_for
from fieldasr.bundle import export_bundle, load_bundle
from fieldasr.data import Corpus, Segment

LANGUAGE = "nld"


@dataclass(frozen=True)
class RealDutchSetup:
    bundle: Path  # the bundle trained on train_30
    known: Path  # manifest folder train_30: the bundle's training data (for replay)
    new: Corpus  # train_full less train_30, in a fixed order
    test: Corpus  # the whole scene-disjoint test set


def real_dutch_setup(data: Path, bundle: Path) -> RealDutchSetup:
    for name in ("train_30", "train_full", "test"):
        if not (data / name / "segments.jsonl.gz").is_file():
            raise SystemExit(f"{data / name}: no manifest; build it with `PYTHONPATH=. python benchmarks/real_speech.py` "
                             "(it writes exp/real_speech/data) and pass that data folder.")
    if not (bundle / "bundle.json").is_file():
        raise SystemExit(f"{bundle}: not a bundle; pass a bundle trained on train_30 (real_speech.py's transfer run at 30 min).")
    seen = {segment.id for segment in Corpus.load(data / "train_30").segments}
    full = Corpus.load(data / "train_full")
    new = tuple(sorted((segment for segment in full.segments if segment.id not in seen), key=stable_order))
    return RealDutchSetup(bundle, data / "train_30", Corpus(full.recordings, new), Corpus.load(data / "test"))


def stable_order(segment: Segment) -> str:
    """A fixed shuffle (by a digest of the id), so subsets mix scenes and speakers yet are the same on every run."""
    return hashlib.sha256(segment.id.encode()).hexdigest()


def fixed_subset(corpus: Corpus, utterances: int, bundle_dir: Path) -> tuple[Corpus, int]:
    """The first `utterances` in the fixed order whose phones the bundle knows; also how many were passed over (a test
    phone train_30 never had cannot be a label, so such utterances cannot be scored by the training code's PER)."""
    vocabulary = load_bundle(bundle_dir).vocabulary
    ordered = sorted(corpus.segments, key=stable_order)
    chosen, passed_over = [], 0
    for segment in ordered:
        if len(chosen) == utterances:
            break
        if all(phone in vocabulary for phone in segment.phones or ()):
            chosen.append(segment)
        else:
            passed_over += 1
    return Corpus(corpus.recordings, tuple(chosen)), passed_over


def rounds_by_minutes(corpus: Corpus, minutes: float, rounds: int) -> list[tuple[Segment, ...]]:
    """Consecutive runs of about `minutes` of speech each from `corpus`, in its order."""
    result, current, seconds = [], [], 0.0
    for segment in corpus.segments:
        if len(result) == rounds:
            break
        current.append(segment)
        seconds += segment.duration
        if seconds >= minutes * 60:
            result.append(tuple(current))
            current, seconds = [], 0.0
    if len(result) < rounds:
        raise SystemExit(f"only {len(result)} round(s) of {minutes} min in the new recordings; lower --round-minutes.")
    return result


def with_g2p_spec(bundle_dir: Path, output: Path) -> Path:
    """The bundle re-exported with the Dutch G2P spec the manifests were labelled with, so `adapt` can turn corrected
    text into its phones (real_speech.py's bundles carry none: their labels came from the manifests)."""
    if not (output / "bundle.json").is_file():
        bundle = load_bundle(bundle_dir)
        export_bundle(output, bundle.model, bundle.vocabulary, label_unit=bundle.label_unit, language=bundle.language or LANGUAGE,
                      normaliser=bundle.text_normaliser(), g2p_spec=g2p_spec_for(LANGUAGE))
    return output


def add_real_dutch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--real-dutch", type=Path, help="real speech instead: the data folder benchmarks/real_speech.py writes")
    parser.add_argument("--bundle", type=Path, help="with --real-dutch: the bundle trained on its train_30")


def check_real_dutch_options(parser: argparse.ArgumentParser, arguments: argparse.Namespace, report_name: str) -> None:
    """--real-dutch needs --bundle; its report goes to docs/benchmarks/<report_name>_real_dutch.md unless --output says."""
    if arguments.bundle is None:
        parser.error("--real-dutch needs --bundle (the bundle trained on its train_30)")
    if arguments.output == parser.get_default("output"):
        arguments.output = f"docs/benchmarks/{report_name}_real_dutch.md"
