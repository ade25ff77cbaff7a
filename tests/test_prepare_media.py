"""prepare on real ELAN files made on other computers: links to absolute paths that do not exist here and to names
that differ from the audio beside them. Every segment must arrive, and every substitution must be reported."""
from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import speech_of_length
from fieldasr.data.manifest import Corpus
from fieldasr.data.prepare import prepare_corpus
from fieldasr.data.source import TierSelection
from fieldasr.errors import AnnotationError

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(__file__).parent / "fixtures" / "real_eaf"
FTO_LINK = 'MEDIA_URL="file:///home/marlub/Documents/BC-FULL/00/BC_00L_bre_C.wav" MIME_TYPE="audio/x-wav" RELATIVE_MEDIA_URL="../../../../marlub/Documents/BC-FULL/00/BC_00L_bre_C.wav"'
SPEAKERS = TierSelection(names=("a", "b"))  # fto.eaf: tier a has 3 annotations, tier b 4; the last ends at 9.55 s


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> Path:
    return speech_of_length("a field recording of two speakers taking turns", tmp_path_factory.mktemp("media_audio") / "ten.wav", 10)


def eaf_linking(folder: Path, name: str, link: str) -> Path:
    text = (REAL / "fto.eaf").read_text(encoding="utf-8")
    assert FTO_LINK in text
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(FTO_LINK, link), encoding="utf-8")
    return path


@pytest.fixture()
def moved_corpus(tmp_path, ten_seconds) -> tuple[Path, Path]:
    """Four real-structure .eaf files from other computers, and their audio under other names or in another folder."""
    sessions, media = tmp_path / "sessions", tmp_path / "media"
    sessions.mkdir()
    shutil.copy(REAL / "fto.eaf", sessions / "fto.eaf")
    shutil.copy(ten_seconds, sessions / "fto.wav")  # 1: links a Linux home folder; audio has the .eaf's name
    eaf_linking(sessions, "abui_4.eaf", 'MEDIA_URL="file:///C:/Users/Fumi/da/1_1_4.wav" MIME_TYPE="audio/x-wav" RELATIVE_MEDIA_URL="./1_1_4.wav"')
    shutil.copy(ten_seconds, sessions / "abui_4.wav")  # 2: links ./1_1_4.wav; the audio beside is abui_4.wav
    eaf_linking(sessions, "old/bp.eaf", 'MEDIA_URL="file:///C:/Users/Fumi/da/medias/export-audio/BP-S2/2-2-1.wav" MIME_TYPE="audio/x-wav"')
    (media / "2019" / "BP-S2").mkdir(parents=True)
    shutil.copy(ten_seconds, media / "2019" / "BP-S2" / "2-2-1.wav")  # 3: ELAN 2.x, MEDIA_URL only; audio in --media-dir
    eaf_linking(sessions, "mac.eaf", r'MEDIA_URL="file:/Users/x/Field%20Work/rec%2001.WAV" MIME_TYPE="audio/x-wav"')
    shutil.copy(ten_seconds, sessions / "rec 01.wav")  # 4: macOS link, %-escaped, other case; same name beside
    return sessions, media


def test_every_segment_arrives_and_each_substitution_is_listed(tmp_path, moved_corpus):
    sessions, media = moved_corpus
    done = subprocess.run([sys.executable, "-m", "fieldasr", "prepare", str(sessions), "--format", "eaf", "--corpus", "moved",
                           "--tier", "a", "--tier", "b", "--media-dir", str(media), "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    corpus = Corpus.load(tmp_path / "out" / "moved")
    assert len(corpus.recordings) == 4 and len(corpus.segments) == 4 * 7
    assert "nothing skipped." in done.stdout
    assert "audio found other than where 4 annotation file(s) link it" in done.stdout
    for eaf, audio in [("fto.eaf", "fto.wav"), ("abui_4.eaf", "abui_4.wav"), ("bp.eaf", "2-2-1.wav"), ("mac.eaf", "rec 01.wav")]:
        assert any(eaf in line and audio in line for line in done.stdout.splitlines()), (eaf, done.stdout)
    with open(tmp_path / "out" / "moved" / "media.tsv", encoding="utf-8", newline="") as stream:
        rows = {Path(row["annotation_file"]).name: row for row in csv.DictReader(stream, delimiter="\t")}
    assert {name: row["how"] for name, row in rows.items()} == {
        "fto.eaf": "annotation file's name beside the annotation file",
        "abui_4.eaf": "annotation file's name beside the annotation file",
        "bp.eaf": "linked name under --media-dir",
        "mac.eaf": "linked name beside the annotation file",
    }
    assert rows["bp.eaf"]["linked"] == "file:///C:/Users/Fumi/da/medias/export-audio/BP-S2/2-2-1.wav"


def test_without_media_dir_the_file_linked_elsewhere_is_skipped_with_the_fix(tmp_path, moved_corpus):
    sessions, _ = moved_corpus
    result = prepare_corpus(sessions, "eaf", "moved", out_dir=tmp_path / "out", selection=SPEAKERS, progress=False)
    assert result.counts["segments"] == 3 * 7
    [skipped] = result.skipped
    assert skipped.source.endswith("bp.eaf") and "2-2-1.wav" in skipped.reason and "--media-dir" in skipped.reason


def test_two_candidates_under_media_dir_stop_prepare_before_anything_is_written(tmp_path, moved_corpus, ten_seconds):
    sessions, media = moved_corpus
    shutil.copy(ten_seconds, media / "2-2-1.wav")
    with pytest.raises(AnnotationError, match=r"bp\.eaf.*media/2-2-1\.wav and .*BP-S2/2-2-1\.wav"):
        prepare_corpus(sessions, "eaf", "moved", out_dir=tmp_path / "out", selection=SPEAKERS, media_dir=media, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_files_get_the_permissions_of_a_plain_open(tmp_path, moved_corpus, umask):
    sessions, media = moved_corpus
    previous = os.umask(umask)
    try:
        result = prepare_corpus(sessions, "eaf", "c", out_dir=tmp_path / "out", selection=SPEAKERS, media_dir=media, progress=False)
        text_only = prepare_corpus(sessions, "eaf", "t", out_dir=tmp_path / "out", selection=SPEAKERS, text_only=True, progress=False)
    finally:
        os.umask(previous)
    written = sorted(result.output.iterdir()) + sorted(text_only.output.iterdir())
    assert {path.name for path in written} >= {"recordings.jsonl.gz", "segments.jsonl.gz", "skipped.tsv", "media.tsv", "text_only.json"}
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in written} == {path.name: oct(0o666 & ~umask) for path in written}


def test_real_elan_2_6_file_with_nested_symbolic_subdivisions(tmp_path, ten_seconds):
    """turkish.eaf (ELAN 2.6, 2009): utterances, words (Symbolic_Subdivision), morphemes (a subdivision of the
    words), glosses and translations; its relative link is written `file:/./turkish.wav`."""
    from fieldasr.data.elan import read_eaf

    eaf = Path(shutil.copy(REAL / "turkish.eaf", tmp_path / "turkish.eaf"))
    subprocess.run(["sox", str(ten_seconds), str(tmp_path / "turkish.wav"), "pad", "0", "41"], check=True)  # 51 s
    utterances = read_eaf(eaf, TierSelection(names=("P-Spch",)))
    assert utterances.media == tmp_path / "turkish.wav" and utterances.substitution is None  # the link itself
    words = read_eaf(eaf, TierSelection(names=("P-Word",)))
    assert [a.text for a in words.annotations] == [a.text for a in utterances.annotations]  # words joined in order
    assert [(a.start, a.end) for a in words.annotations] == [(a.start, a.end) for a in utterances.annotations]
    morphemes = read_eaf(eaf, TierSelection(names=("P-Morph",)))
    assert len(morphemes.annotations) == 60 and morphemes.annotations[5].text == "gel di m"  # per word, ancestor's time
    result = prepare_corpus(tmp_path, "eaf", "turkish", out_dir=tmp_path / "out", selection=TierSelection(names=("P-Spch", "P-Trans")),
                            progress=False)
    assert result.counts["segments"] == 18 and result.counts["skipped"] == 0 and not result.substitutions
    assert result.counts["overlapping_pairs"] == 9  # each translation spans its utterance exactly
    assert result.corpus.segments[-1].end == pytest.approx(50.1)
