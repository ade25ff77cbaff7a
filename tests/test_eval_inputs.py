"""Readers: .trn, plain text, manifests, ELAN and Praat tiers, and text encodings."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pympi
import pytest

from conftest import require_program
from fieldasr.data import Segment, write_manifest
from fieldasr.eval.errors import EvaluationError
from fieldasr.eval.inputs import read_transcripts

TEXT = "ŋa kʼa naïve\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])  # utf-16 writes a BOM
def test_reads_utf8_with_and_without_bom_and_utf16(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "hyp.txt"
    path.write_text(f"utt1\t{TEXT}utt2 two words\n", encoding=encoding)
    transcripts = read_transcripts(path)
    assert transcripts.texts() == {"utt1": TEXT.strip(), "utt2": "two words"}


def test_other_encodings_are_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.trn"
    path.write_bytes("naïve café (utt1)\n".encode("latin-1"))
    with pytest.raises(EvaluationError, match="latin.trn.*UTF-8"):
        read_transcripts(path)


def test_trn_with_empty_text_and_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "ref.trn"
    path.write_text("the dog (a_1)\n (a_2)\n", encoding="utf-8")
    assert read_transcripts(path).texts() == {"a_1": "the dog", "a_2": ""}
    path.write_text("no id here\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="ref.trn line 1"):
        read_transcripts(path)


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ref.txt"
    path.write_text("a one\na two\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="'a' appears twice"):
        read_transcripts(path)


def test_manifest_folder_gives_speaker_language_recording_and_phones(tmp_path: Path) -> None:
    segment = Segment("s1", "rec1", 0.0, 1.0, text="ŋa", speaker="ana", language="nru", phones=("ŋ", "a"))
    write_manifest(tmp_path / "segments.jsonl.gz", [segment])
    utterance = read_transcripts(tmp_path).utterances["s1"]
    assert (utterance.text, utterance.phones, utterance.speaker, utterance.language, utterance.recording) == (
        "ŋa", ("ŋ", "a"), "ana", "nru", "rec1")


def test_elan_tiers_pair_by_time(tmp_path: Path) -> None:
    eaf = pympi.Elan.Eaf()
    eaf.add_tier("ana", part="Ana")
    eaf.add_annotation("ana", 1000, 2500, "ŋa kʼa")
    eaf.add_annotation("ana", 3000, 3500, "")
    eaf.to_file(str(tmp_path / "rec.eaf"))
    transcripts = read_transcripts(tmp_path / "rec.eaf", tiers=("ana",))
    assert transcripts.texts() == {"rec_00001000_00002500": "ŋa kʼa"}
    assert transcripts.utterances["rec_00001000_00002500"].speaker == "Ana"
    assert transcripts.skipped_blank == 1
    with pytest.raises(EvaluationError, match="no tier 'bob'"):
        read_transcripts(tmp_path / "rec.eaf", tiers=("bob",))


def test_textgrid_written_by_praat(tmp_path: Path) -> None:
    require_program("praat")
    grid = tmp_path / "rec.hyp.TextGrid"
    script = tmp_path / "make.praat"
    script.write_text(
        'Create TextGrid: 0, 3, "words", ""\n'
        "Insert boundary: 1, 1\nInsert boundary: 1, 2.5\n"
        'Set interval text: 1, 2, "ŋa kʼa"\n'
        f'Save as text file: "{grid}"\n',
        encoding="utf-8",
    )
    subprocess.run(["praat", "--run", str(script)], check=True, capture_output=True)
    transcripts = read_transcripts(grid)
    assert transcripts.texts() == {"rec_00001000_00002500": "ŋa kʼa"}
    assert transcripts.skipped_blank == 2
