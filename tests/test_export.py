"""SRT and JSON exporters: format details from the SRT convention, and round trips."""
from __future__ import annotations

import json

import pytest

from fieldasr.data.export import read_json, read_srt, write_json, write_srt
from fieldasr.errors import AnnotationError

ANNOTATIONS = [(3725.5, 3727.042, "kamuy ʔaynu"), (0.0, 1.25, "irankarapte"), (2.0, 2.5, "  ")]


def test_srt_follows_the_subrip_layout(tmp_path):
    path = write_srt(tmp_path / "out.srt", ANNOTATIONS)
    # SubRip: counter, "HH:MM:SS,mmm --> HH:MM:SS,mmm", text, blank line; in time order; blank cues left out.
    assert path.read_text(encoding="utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,250\nirankarapte\n\n"
        "2\n01:02:05,500 --> 01:02:07,042\nkamuy ʔaynu\n"
    )
    assert read_srt(path) == [(0.0, 1.25, "irankarapte"), (3725.5, 3727.042, "kamuy ʔaynu")]


def test_srt_reader_accepts_crlf_and_multiline_cues(tmp_path):
    path = tmp_path / "in.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,500\r\nline one\r\nline two\r\n\r\n".encode("utf-8"))
    assert read_srt(path) == [(1.0, 2.5, "line one line two")]


def test_json_round_trip_keeps_tiers_and_metadata(tmp_path):
    tiers = {"asr": ANNOTATIONS, "empty": []}
    path = write_json(tmp_path / "out.json", tiers, media_path="session.wav", duration=3800.0, metadata={"model": "tiny"})
    document = json.loads(path.read_text(encoding="utf-8"))
    assert (document["media"], document["duration"], document["metadata"]) == ("session.wav", 3800.0, {"model": "tiny"})
    assert read_json(path) == {"asr": sorted(ANNOTATIONS), "empty": []}


@pytest.mark.parametrize("bad", [(1.0, 1.0, "zero"), (-0.5, 1.0, "negative"), (2.0, 1.0, "backwards"), (float("nan"), 1.0, "nan")])
def test_impossible_times_are_refused_and_nothing_is_written(tmp_path, bad):
    with pytest.raises(AnnotationError, match="start < end"):
        write_srt(tmp_path / "out.srt", [bad])
    with pytest.raises(AnnotationError, match="start < end"):
        write_json(tmp_path / "out.json", {"t": [bad]})
    assert not list(tmp_path.iterdir())
