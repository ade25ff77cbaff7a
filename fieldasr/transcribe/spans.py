"""Transcribing inside given spans (an existing segmentation) instead of wherever VAD finds speech.

A span gets one transcribed segment with exactly its times when voice activity detection finds speech in it;
a span without speech gets none (a pause a fieldworker segmented, or a segment past the end of the audio).
A span up to `max_segment_seconds` long is decoded whole, so speech VAD cut too tightly is not lost; a longer
one is decoded in the VAD regions inside it, and their texts are joined.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fieldasr.vad import SpeechRegion

# Speech shorter than this inside a span (e.g. VAD padding spilling over its edge) does not count as speech in it.
MIN_SPEECH_IN_SPAN_SECONDS = 0.05


@dataclass(frozen=True)
class TimeSpan:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def clipped(self, duration: float) -> TimeSpan:
        """The part of the span inside a recording of `duration` seconds: the times its segment gets."""
        return TimeSpan(max(0.0, self.start), min(duration, self.end))


def _overlap(region: SpeechRegion, span: TimeSpan) -> float:
    return min(region.end, span.end) - max(region.start, span.start)


def regions_in_spans(speech: Sequence[SpeechRegion], spans: Sequence[TimeSpan], duration: float,
                     max_segment_seconds: float) -> dict[SpeechRegion, list[TimeSpan]]:
    """The regions to decode, each with the spans it belongs to (several when spans coincide)."""
    owners: dict[SpeechRegion, list[TimeSpan]] = {}
    for span in spans:
        clipped = span.clipped(duration)
        inside = [region for region in speech if _overlap(region, clipped) >= MIN_SPEECH_IN_SPAN_SECONDS]
        if clipped.duration <= 0 or not inside:
            continue
        if clipped.duration <= max_segment_seconds:
            pieces = [SpeechRegion(clipped.start, clipped.end)]
        else:
            pieces = [SpeechRegion(max(r.start, clipped.start), min(r.end, clipped.end)) for r in inside]
        for piece in pieces:
            owners.setdefault(piece, []).append(span)
    return owners


def merge_into_spans(decoded: Mapping[SpeechRegion, object], owners: Mapping[SpeechRegion, Sequence[TimeSpan]],
                     duration: float) -> list:
    """One segment per span with speech, with the span's own times (`TimeSpan.clipped`): the decoded segments
    of its regions, joined in time order. `decoded` maps regions to `TranscribedSegment`s."""
    by_span: dict[TimeSpan, list] = {}
    for region, spans in owners.items():
        for span in spans:
            by_span.setdefault(span, []).append(decoded[region])
    merged = []
    for span, parts in by_span.items():
        parts.sort(key=lambda part: part.start)
        start, end = span.clipped(duration).start, span.clipped(duration).end
        words = tuple(dataclasses.replace(word, start=max(start, word.start), end=min(end, word.end))  # sample rounding
                      for part in parts for word in part.words)
        if len(parts) == 1:  # keeps every field a decoded segment has (e.g. a confidence) as it is
            merged.append(dataclasses.replace(parts[0], start=start, end=end, words=words))
        else:
            text = " ".join(part.text for part in parts if part.text)
            merged.append(dataclasses.replace(parts[0], start=start, end=end, text=text, words=words))
    merged.sort(key=lambda segment: (segment.start, segment.end))
    return merged
