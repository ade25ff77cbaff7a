"""Decoding the segments of a manifest with a bundle: the hypotheses `fieldasr evaluate` scores.

Each hypothesis segment keeps the reference's id, times, speaker and language; `phones` holds the greedy label
sequence (word boundaries removed) and `text` the words: from the lexicon + LM beam search when a decoder is
given, else from the greedy labels.
"""
from __future__ import annotations

from pathlib import Path

from fieldasr.data import Corpus
from fieldasr.decode import greedy_decode
from fieldasr.decode.beam import BeamDecoder
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.transcribe.bundle_model import BundleAcousticModel, segment_emissions
from fieldasr.transcribe.engine import tokens_to_words


def decode_manifest(model: BundleAcousticModel, corpus: Corpus, beam: BeamDecoder | None = None,
                    batch_seconds: float = 120.0, show_progress: bool = True) -> Corpus:
    """A hypothesis corpus for every segment of `corpus` (same ids), decoded by `model` (and `beam`)."""
    emissions = segment_emissions(model, corpus, batch_seconds, show_progress)
    hypotheses = []
    for segment in corpus.segments:
        emission = emissions[segment.id]
        greedy = greedy_decode(emission.unsqueeze(0), model.vocabulary)[0]
        if beam is not None:
            words = beam.decode(emission.unsqueeze(0))[0][0].words
        else:
            words = tokens_to_words(greedy.tokens, model.unit)
        phones = tuple(token for token in greedy.tokens if token != WORD_BOUNDARY)
        hypotheses.append(segment.with_(text=" ".join(words), phones=phones))
    return Corpus(corpus.recordings, tuple(hypotheses))


def decode_manifest_to(model: BundleAcousticModel, manifest_dir: Path, output_dir: Path, beam: BeamDecoder | None = None) -> Path:
    """Decode a manifest folder and save the hypotheses as a manifest folder (atomically, file by file)."""
    decode_manifest(model, Corpus.load(manifest_dir), beam).save(output_dir)
    return output_dir
