"""One recognizer run as ELAN starts it: parameters on standard input, tiers out, PROGRESS / RESULT lines.

The transcription itself is `fieldasr transcribe`'s (`plan_delivery` / `run_plan` of
`fieldasr.transcribe.runner`), so ELAN and the command line give the same result for the same recording.

Outputs, one annotation per segment with speech (the segmentation tier's annotations, or the stretches
voice activity detection finds): the phone tier holds the model's labels separated by spaces (phones, or
letters for a letter model), the word tier the words, the confidence tier each segment's confidence
(`fieldasr.decode.confidence`, 0-1 with two decimals) so that corrections can start with the least certain.

A segment is skipped when an annotation with text on the transcriptions tier overlaps it; that tier is never
written to. Without a segmentation tier, detected speech that overlaps a transcription is left out.
"""
from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from fieldasr.elan_recognizer.protocol import (CONFIDENCE_TIER, PHONE_TIER, WORD_TIER, RecognizerCall, RecognizerError, Reporter,
                                               TimedText, parse_call, read_tier, write_tier)
from fieldasr.errors import FieldasrError

USAGE = "usage: python -m fieldasr.elan_recognizer BUNDLE  (ELAN sends the parameters as XML on standard input)"
TIER_NAMES = {PHONE_TIER: "fieldasr-phones", WORD_TIER: "fieldasr-words", CONFIDENCE_TIER: "fieldasr-confidence"}


def _overlaps(start: float, end: float, spans: Sequence[TimedText]) -> bool:
    return any(min(end, other_end) > max(start, other_start) for other_start, other_end, _ in spans)


def segments_to_do(call: RecognizerCall) -> tuple[list[TimedText], list | None, int]:
    """(transcriptions with text, spans to transcribe or None for the whole recording, segments skipped)."""
    from fieldasr.transcribe.spans import TimeSpan

    transcribed = [span for span in read_tier(call.transcriptions) if span[2]] if call.transcriptions else []
    if call.segmentation is None:
        return transcribed, None, 0
    segments = read_tier(call.segmentation)
    if not segments:
        raise RecognizerError(f"{call.segmentation}: the segmentation tier has no annotations. Choose a tier with segments, "
                              "or no segmentation tier to let fieldasr find the speech.")
    todo = [TimeSpan(start, end) for start, end, _ in segments if not _overlaps(start, end, transcribed)]
    return transcribed, todo, len(segments) - len(todo)


def _labels(segment) -> str:
    """The labels of a segment separated by spaces (its text when the labels could not be aligned)."""
    return " ".join(token.token for token in segment.tokens) if segment.tokens else segment.text


def recognize(call: RecognizerCall, bundle_dir: Path, reporter: Reporter) -> None:
    reporter.progress(0.02, "reading the input tiers")
    transcribed, within, skipped = segments_to_do(call)
    from fieldasr.transcribe.runner import plan_delivery, run_plan

    outputs = call.outputs

    def deliver(transcript, job) -> str:
        segments = [segment for segment in transcript.segments
                    if within is not None or not _overlaps(segment.start, segment.end, transcribed)]
        reporter.progress(0.95, "writing the tiers")
        rows = {PHONE_TIER: [(s.start, s.end, _labels(s)) for s in segments], WORD_TIER: [(s.start, s.end, s.text) for s in segments],
                CONFIDENCE_TIER: [(s.start, s.end, f"{s.confidence:.2f}") for s in segments if s.confidence is not None]}
        for name, path in outputs.items():
            write_tier(path, TIER_NAMES[name], rows[name])
        left_out = len(transcript.segments) - len(segments)
        return (f"{len(segments)} segments transcribed" + (f"; {skipped} already transcribed, skipped" if skipped else "")
                + (f"; {left_out} overlapping existing transcriptions left out" if left_out else ""))

    plan = plan_delivery(call.source, next(iter(outputs.values())), deliver, within)  # checks the recording first
    reporter.progress(0.04, "loading the model")
    from fieldasr.bundle import load_bundle
    from fieldasr.transcribe.bundle_model import BundleAcousticModel, beam_decoder_for, resolve_precision
    from fieldasr.transcribe.engine import TranscribeOptions, Transcriber

    bundle = load_bundle(bundle_dir)
    options = TranscribeOptions(decoder=call.decoder, confidence=CONFIDENCE_TIER in outputs)
    transcriber = Transcriber(BundleAcousticModel(bundle, resolve_precision("auto", "cpu")), options,
                              beam_decoder_for(bundle, options, lm_weight=1.0, word_score=0.0, beam_size=50))
    [outcome] = run_plan(plan, transcriber, show_progress=False, on_progress=reporter.scaled(0.05, 0.94, "transcribing")).outcomes
    if outcome.status == "failed":
        raise RecognizerError(f"{call.source}: {outcome.detail}")
    reporter.info(f"fieldasr: {outcome.detail}; written: {', '.join(str(path) for path in outputs.values())}")


def main(argv: Sequence[str] | None = None) -> int:
    """Read ELAN's call from standard input, run it, and answer with RESULT: DONE. or RESULT: FAILED. (exit 0 / 1)."""
    reporter = Reporter()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(arguments) != 1:
            raise RecognizerError(USAGE)
        reporter.progress(0.01, "starting fieldasr")
        recognize(parse_call(sys.stdin.buffer.read()), Path(arguments[0]), reporter)
    except FieldasrError as error:
        reporter.failed(str(error))
        return 1
    except KeyboardInterrupt:
        reporter.failed("stopped before the tiers were written.")
        return 1
    except Exception as error:  # a bug or a broken installation: ELAN must still hear that the run failed, and why
        reporter.info(traceback.format_exc())
        reporter.failed(f"unexpected {type(error).__name__}: {error}. Please report this, with the lines above.")
        return 1
    reporter.done()
    return 0
