"""Stages 5 and 6 of the demo: transcribe the long recording into ELAN, decode the test set, evaluate.

The test set is decoded by each bundle (before and after transfer) into a hypothesis manifest: `phones`
from greedy CTC decoding, `text` from the lexicon + n-gram LM beam search when the bundle has them.
Word boundaries `|` are labels the model learns, not phones, so they are left out of PER on both sides.
"""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


from fieldasr.bundle import load_bundle
from fieldasr.data import Corpus
from fieldasr.decode import BeamDecoder, build_arpa
from fieldasr.decode.lexicon import read_lexicon
from fieldasr.g2p import load_spec
from fieldasr.g2p.lexicon import Lexicon
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.transcribe import TranscribeOptions, Transcriber, TranscriptionError, TranscriptionSummary, transcribe_paths
from fieldasr.transcribe.bundle_model import BundleAcousticModel, beam_decoder_for
from fieldasr.transcribe.manifest_decoding import decode_manifest_to

LM_WEIGHT, WORD_SCORE, BEAM_SIZE = 1.0, 0.0, 50  # `fieldasr transcribe`'s defaults


@dataclass(frozen=True)
class DecodingResources:
    lexicon: Path
    language_model: Path
    words: int  # in the lexicon
    test_words_out_of_lexicon: float  # share of the test set's running words the lexicon lacks


def build_lexicon_and_lm(train: Path, test: Path, folder: Path, spec: str) -> DecodingResources:
    """A pronunciation lexicon (G2P of the spec) and a trigram LM from the target training transcripts only."""
    folder.mkdir(parents=True, exist_ok=True)
    lexicon = Lexicon(load_spec(spec))
    texts = [segment.text or "" for segment in Corpus.load(train).segments]
    sentences = [" ".join(lexicon.g2p.words(text)) for text in texts]
    text_path = folder / "train_text.txt"
    text_path.write_text("".join(f"{sentence}\n" for sentence in sentences), encoding="utf-8")
    build_arpa(text_path, folder / "lm.arpa", order=3)
    report = lexicon.write(folder / "lexicon.txt", lexicon.words_of(texts))
    known = set(lexicon.words_of(texts))
    test_words = [word for segment in Corpus.load(test).segments for word in lexicon.g2p.words(segment.text or "")]
    unknown = sum(1 for word in test_words if word not in known)
    return DecodingResources(folder / "lexicon.txt", folder / "lm.arpa", report.written, unknown / max(1, len(test_words)))


def without_boundaries(phones: Sequence[str]) -> tuple[str, ...]:
    return tuple(phone for phone in phones if phone != WORD_BOUNDARY)


def write_reference(test: Path, folder: Path) -> Path:
    """The test manifest with `|` taken out of the phones: the reference of the evaluation."""
    corpus = Corpus.load(test)
    segments = tuple(s.with_(phones=without_boundaries(s.phones or ())) for s in corpus.segments)
    Corpus(corpus.recordings, segments).save(folder)
    return folder


def decode_test_set(bundle_dir: Path, test: Path, output: Path, use_beam: bool) -> Path:
    """Hypothesis manifest of `bundle_dir` on the test set (skipped when it exists)."""
    if (output / "segments.jsonl.gz").is_file():
        return output
    bundle = load_bundle(bundle_dir)
    beam = None
    if use_beam and bundle.lexicon is not None:
        beam = BeamDecoder(bundle.vocabulary, lexicon=read_lexicon(bundle.lexicon), lm_path=bundle.language_model,
                           lm_weight=LM_WEIGHT, word_score=WORD_SCORE, beam_size=BEAM_SIZE)
    return decode_manifest_to(BundleAcousticModel(bundle), test, output, beam)


def transcribe_long_recording(bundle_dir: Path, wav: Path, out_dir: Path, tier: str = "fieldasr") -> Path:
    """An .eaf with the greedy phone transcription (`<tier>`, `<tier>-words`) and, when the bundle has a
    lexicon and LM, the beam search's words (`<tier>-lm`, `<tier>-lm-words`). A finished .eaf is kept."""
    out_dir.mkdir(parents=True, exist_ok=True)
    eaf = out_dir / f"{wav.stem}.eaf"
    if eaf.is_file():
        return eaf
    bundle = load_bundle(bundle_dir)
    model = BundleAcousticModel(bundle)
    staging = out_dir / ".transcribing"  # moved into place when every tier is in, so a rerun redoes a half-made one
    staging.mkdir(exist_ok=True)
    partial = staging / eaf.name
    _check(transcribe_paths([wav], Transcriber(model, TranscribeOptions()), "eaf", out_dir=staging, overwrite=True, tier=tier))
    if bundle.lexicon is not None and bundle.language_model is not None:
        options = TranscribeOptions(decoder="beam")
        transcriber = Transcriber(model, options, beam_decoder_for(bundle, options, LM_WEIGHT, WORD_SCORE, BEAM_SIZE))
        _check(transcribe_paths([wav], transcriber, "eaf", into=partial, tier=f"{tier}-lm"))
    partial.replace(eaf)
    shutil.rmtree(staging)
    return eaf


def _check(summary: TranscriptionSummary) -> None:
    failed = summary.by_status("failed")
    if failed:
        raise TranscriptionError(f"{failed[0].audio}: transcription failed ({failed[0].detail}).")
