"""prepare and validate end to end: bad input gives a clear error or a counted skip, never a silent drop."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import speech_of_length
from fieldasr.data.manifest import Corpus
from fieldasr.data.prepare import count_overlapping_pairs, prepare_corpus
from fieldasr.data.source import TierSelection
from fieldasr.errors import AnnotationError, AudioError, ManifestError

ROOT = Path(__file__).resolve().parent.parent
ELAN_FIXTURE = Path(__file__).parent / "fixtures" / "elan6_session.eaf"
UTTERANCES = TierSelection(linguistic_type="utterance")


@pytest.fixture(scope="module")
def four_seconds(tmp_path_factory) -> Path:
    return speech_of_length("irankarapte kamuy aynu", tmp_path_factory.mktemp("prepare_audio") / "session.wav", 4)


@pytest.fixture()
def elan_folder(tmp_path, four_seconds) -> Path:
    folder = tmp_path / "elan"
    folder.mkdir()
    shutil.copy(four_seconds, folder / "session.wav")
    shutil.copy(ELAN_FIXTURE, folder / "session.eaf")
    return folder


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fieldasr", *arguments], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_every_annotation_is_a_segment_or_a_counted_skip(tmp_path, elan_folder):
    result = prepare_corpus(elan_folder, "eaf", "ainu", out_dir=tmp_path / "out", selection=UTTERANCES, progress=False)
    # The fixture's utterance tiers hold 5 annotations: 3 usable, 1 empty, 1 past the end of the 4 s audio.
    assert result.counts["segments"] == 3
    assert result.counts["skipped_empty-text"] == 1 and result.counts["skipped_beyond-audio"] == 1
    assert result.counts["overlapping_pairs"] == 2  # Speaker B talks over both of A's utterances
    lines = (tmp_path / "out" / "ainu" / "skipped.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "source\titem\tkind\treason" and len(lines) == 3
    assert "annotation a4" in lines[2] and "past the end of the audio" in lines[2]
    loaded = Corpus.load(tmp_path / "out" / "ainu")
    assert loaded == result.corpus
    loaded.validate(require_text=True)


def test_truncated_audio_is_skipped_with_reason_or_raises_when_strict(tmp_path, elan_folder):
    wav = elan_folder / "session.wav"
    wav.write_bytes(wav.read_bytes()[:30])  # cut inside the header
    with pytest.raises(AnnotationError, match=r"no usable segment.*nothing was written.*session\.wav: cannot read this audio file"):
        prepare_corpus(elan_folder, "eaf", "c", out_dir=tmp_path / "out", selection=UTTERANCES, progress=False)
    assert not (tmp_path / "out").exists()  # a failed run leaves no output folder or skipped.tsv behind
    with pytest.raises(AudioError, match=r"session\.wav.*truncated or corrupt"):
        prepare_corpus(elan_folder, "eaf", "c", out_dir=tmp_path, selection=UTTERANCES, strict=True, progress=False)


def test_missing_media_and_missing_tier_are_reported_per_file(tmp_path, elan_folder, four_seconds):
    (elan_folder / "session.wav").unlink()
    other = elan_folder / "other"
    other.mkdir()
    shutil.copy(four_seconds, other / "session.wav")
    shutil.copy(ELAN_FIXTURE, other / "session.eaf")
    (other / "notier.eaf").write_text(ELAN_FIXTURE.read_text(encoding="utf-8").replace('"utterance"', '"utt"'), encoding="utf-8")
    result = prepare_corpus(elan_folder, "eaf", "c", out_dir=tmp_path, selection=UTTERANCES, progress=False)
    reasons = {Path(item.source).relative_to(elan_folder).as_posix(): item.reason for item in result.skipped if item.kind == "unusable-file"}
    assert reasons.keys() == {"session.eaf", "other/notier.eaf"}
    assert "audio not found" in reasons["session.eaf"] and "--media-dir" in reasons["session.eaf"]
    assert "no tier has linguistic type 'utterance'" in reasons["other/notier.eaf"] and "'tx@A'" in reasons["other/notier.eaf"]
    assert {segment.recording_id for segment in result.corpus.segments} == {"other__session"}
    with pytest.raises(AnnotationError, match=r"notier\.eaf: no tier has"):  # the first file in order
        prepare_corpus(elan_folder, "eaf", "c", out_dir=tmp_path, selection=UTTERANCES, strict=True, progress=False)
    with pytest.raises(AnnotationError, match=r"elan/session\.eaf: audio not found"):
        prepare_corpus(elan_folder / "session.eaf", "eaf", "c", out_dir=tmp_path, selection=UTTERANCES, strict=True, progress=False)


def test_unsupported_formats(tmp_path, four_seconds):
    with pytest.raises(AnnotationError, match="unsupported format 'docx'"):
        prepare_corpus(tmp_path, "docx", "c", out_dir=tmp_path, progress=False)
    (tmp_path / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (tmp_path / "list.csv").write_text("path,text\nvideo.mp4,hello\n", encoding="utf-8")
    with pytest.raises(AudioError, match=r"video\.mp4: unsupported audio format '\.mp4'.*ffmpeg"):
        prepare_corpus(tmp_path / "list.csv", "csv", "c", out_dir=tmp_path, strict=True, progress=False)


def test_duplicate_segment_ids_are_an_error(tmp_path, four_seconds):
    shutil.copy(four_seconds, tmp_path / "a.wav")
    (tmp_path / "list.csv").write_text("path,text,start,end\na.wav,one,0,1\na.wav,one again,0,1\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"'a-00000000-00001000' occurs twice.*line 2.*line 3"):
        prepare_corpus(tmp_path / "list.csv", "csv", "c", out_dir=tmp_path, progress=False)


def test_count_overlapping_pairs_against_brute_force():
    import itertools
    import random

    from fieldasr.data.manifest import Segment

    rng = random.Random(7)
    segments = [Segment(f"s{i}", f"r{i % 2}", round(rng.uniform(0, 20), 3), round(rng.uniform(0.1, 3), 3)) for i in range(60)]
    expected = sum(1 for a, b in itertools.combinations(segments, 2)
                   if a.recording_id == b.recording_id and a.start < b.end - 1e-9 and b.start < a.end - 1e-9)
    assert expected > 10
    assert count_overlapping_pairs(segments) == expected


def test_segments_sharing_a_time_slot_do_not_overlap():
    from fieldasr.data.manifest import Segment

    first = Segment("a", "r", 84.2, round(84.618 - 84.2, 6))  # ends at the slot the next one starts at
    assert first.end == 84.61800000000001  # start + duration: the float trap this test is about
    following = Segment("b", "r", 84.618, 1.0)
    speaker_b = Segment("c", "r", 84.0, 0.5)  # overlaps `first` only: one pair
    assert count_overlapping_pairs([first, following, speaker_b]) == 1


def test_cli_prepare_prints_summary_and_skips_and_validate_reports(tmp_path, elan_folder):
    done = run_cli("prepare", str(elan_folder), "--format", "eaf", "--corpus", "ainu", "--linguistic-type", "utterance",
                   "--language", "ain", "--out-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "recordings 1, segments 3" in out
    assert "Speaker A" in out and "Speaker B" in out and "ain" in out
    assert "[empty-text]" in out and "[beyond-audio]" in out

    checked = run_cli("validate", str(tmp_path / "out" / "ainu"), "--require-text", cwd=tmp_path)
    assert checked.returncode == 0 and "valid." in checked.stdout

    segments = tmp_path / "out" / "ainu" / "segments.jsonl.gz"
    with gzip.open(segments, "rt", encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream]
    del records[1]["start"]
    with gzip.open(segments, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(record) + "\n" for record in records)
    broken = run_cli("validate", str(tmp_path / "out" / "ainu"), cwd=tmp_path)
    assert broken.returncode == 2
    assert "segments.jsonl.gz line 2" in broken.stderr and "start" in broken.stderr


def test_cli_unknown_tier_exits_with_the_list_of_tiers(tmp_path, elan_folder):
    done = run_cli("prepare", str(elan_folder), "--format", "eaf", "--corpus", "c", "--tier", "nope", "--out-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "no tier has name 'nope'" in done.stderr and "'tx@B'" in done.stderr
