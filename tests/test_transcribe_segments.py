"""`transcribe --segments-from-tier`: inside an existing segmentation (ELAN and Praat), one tier per speaker,
hand transcriptions left alone, every other tier unchanged, with a real (tiny, random) bundle."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fieldasr.data.textgrid import parse_textgrid
from test_elan import FIXTURE, UNCHANGED_KINDS, canonical_parts, pympi_tier, session_audio  # noqa: F401 (fixture)
from test_textgrid import run_praat
from test_transcribe_bundle import bundle_and_audio, run_fieldasr  # noqa: F401 (fixture)

# The fixture's tx@A segments are 0.2-1.5 "irankarapte", 1.8-3.1 "kamuy ʔaynu", 3.3-3.6 "", 4.2-4.8 "sinean" (past
# the end of the 4.0 s audio, whose speech ends at 1.7 s); tx@B's only one is 1.0-2.0 "hunna & ene".
EMPTIED = ("irankarapte", "hunna &amp; ene")


@pytest.fixture()
def partly_transcribed(tmp_path, session_audio) -> tuple[Path, Path]:
    """The real ELAN 6 fixture with two segments' text removed (one per speaker), and its 4 s recording."""
    text = FIXTURE.read_text(encoding="utf-8")
    for value in EMPTIED:
        text = text.replace(f"<ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>", "<ANNOTATION_VALUE></ANNOTATION_VALUE>")
    eaf = tmp_path / "session.eaf"
    eaf.write_text(text, encoding="utf-8")
    return eaf, Path(shutil.copy(session_audio, tmp_path / "session.wav"))


def tier_elements(path: Path) -> dict[str, ET.Element]:
    return {tier.get("TIER_ID"): tier for tier in ET.parse(path).getroot().iter("TIER")}


def test_one_dependent_tier_per_speaker_inside_the_empty_segments(bundle_and_audio, partly_transcribed, monkeypatch, capsys):
    bundle, _ = bundle_and_audio
    eaf, wav = partly_transcribed
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, wav, "--into", eaf, "--segments-from-tier", "tx", "--tier", "asr")
    assert code == 0, output
    assert "1 written" in output and "2 already holding text left alone" in output and "1 without speech" in output, output

    assert [(start, end) for start, end, _ in pympi_tier(eaf, "asr@A")] == [(200, 1500)]  # 3.3-3.6 is silent
    assert [(start, end) for start, end, _ in pympi_tier(eaf, "asr@B")] == [(1000, 2000)]
    for speaker, (start, end) in (("A", (200, 1500)), ("B", (1000, 2000))):
        assert all(start <= s < e <= end for s, e, _ in pympi_tier(eaf, f"asr-words@{speaker}"))

    tiers = tier_elements(eaf)
    for speaker, participant in (("A", "Speaker A"), ("B", "Speaker B")):
        for name in (f"asr@{speaker}", f"asr-words@{speaker}"):
            assert tiers[name].get("PARENT_REF") == f"tx@{speaker}" and tiers[name].get("PARTICIPANT") == participant
            assert tiers[name].get("LINGUISTIC_TYPE_REF") == "fieldasr-included-in"
    types = {element.get("LINGUISTIC_TYPE_ID"): element for element in ET.parse(eaf).getroot().iter("LINGUISTIC_TYPE")}
    assert types["fieldasr-included-in"].get("CONSTRAINTS") == "Included_In"
    assert types["fieldasr-included-in"].get("TIME_ALIGNABLE") == "true"

    before, after = canonical_parts(eaf.with_name("session.eaf.bak")), canonical_parts(eaf)
    assert after["HEADER"] == before["HEADER"]
    assert after["TIER"][: len(before["TIER"])] == before["TIER"]  # every tier of the fieldworker, element by element
    for kind in UNCHANGED_KINDS[1:]:
        assert after[kind][: len(before[kind])] == before[kind], kind

    written = eaf.read_bytes()
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, wav, "--into", eaf, "--segments-from-tier", "tx", "--tier", "asr")
    assert code == 0 and "1 already done" in output and eaf.read_bytes() == written, output
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, wav, "--into", eaf, "--segments-from-tier", "tx",
                                "--tier", "asr", "--overwrite", "--redo-transcribed")
    assert code == 0 and "1 written" in output and "3 without speech" in output and "left alone" not in output, output
    assert [(start, end) for start, end, _ in pympi_tier(eaf, "asr@A")] == [(200, 1500)]  # replaced in place
    assert tier_elements(eaf)["asr@A"].get("PARENT_REF") == "tx@A"
    assert canonical_parts(eaf)["TIER"][: len(before["TIER"])] == before["TIER"]


def test_a_corrected_dependent_tier_is_not_replaced(bundle_and_audio, partly_transcribed, monkeypatch, capsys):
    bundle, _ = bundle_and_audio
    eaf, wav = partly_transcribed
    command = ["transcribe", bundle, wav, "--into", eaf, "--segments-from-tier", "tx@B", "--tier", "asr"]
    assert run_fieldasr(monkeypatch, capsys, *command)[0] == 0
    assert tier_elements(eaf)["asr@B"].get("PARENT_REF") == "tx@B"  # the speaker suffix, even for one tier
    text = eaf.read_text(encoding="utf-8")
    tier_start = text.index('TIER_ID="asr@B"')
    value = re.compile(r"<ANNOTATION_VALUE>[^<]*</ANNOTATION_VALUE>").search(text, tier_start)
    corrected = text[: value.start()] + "<ANNOTATION_VALUE>hunna ene</ANNOTATION_VALUE>" + text[value.end():]  # a correction in ELAN
    eaf.write_text(corrected, encoding="utf-8")
    code, output = run_fieldasr(monkeypatch, capsys, *command, "--overwrite")
    assert code == 2 and "tier 'asr@B' (1 annotation, edited since fieldasr wrote it)" in output, output
    assert eaf.read_text(encoding="utf-8") == corrected


def test_praat_textgrid_segments_give_one_tier_per_speaker(bundle_and_audio, tmp_path, session_audio, monkeypatch, capsys):
    """Speech at 1.0-2.7 s of 5 s. Phrase@A: 0.9-2.8 empty; Phrase@B: 0.9-1.8 labelled, 1.8-5.0 empty (speech to 2.7)."""
    bundle, _ = bundle_and_audio
    wav = tmp_path / "session.wav"
    subprocess.run(["sox", str(session_audio), str(wav), "pad", "1", "0"], check=True)
    run_praat(f"""
Create TextGrid: 0, 5, "Phrase@A Phrase@B notes", ""
Insert boundary: 1, 0.9
Insert boundary: 1, 2.8
Insert boundary: 2, 0.9
Insert boundary: 2, 1.8
Set interval text: 2, 2, "hunna"
Save as text file: "{tmp_path}/session.TextGrid"
""", tmp_path)
    out = tmp_path / "out"
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, wav, "--segments-file", tmp_path / "session.TextGrid",
                                "--segments-from-tier", "Phrase", "--tier", "asr", "--format", "textgrid", "--out-dir", out)
    assert code == 0 and "1 written" in output and "1 already holding text left alone" in output, output
    assert "3 without speech" in output, output  # 0-0.9 and 2.8-5 of A, 0-0.9 of B
    tiers = {tier["name"]: tier["entries"] for tier in parse_textgrid(out / "session.TextGrid")["tiers"]}
    assert set(tiers) == {"asr@A", "asr-words@A", "asr@B", "asr-words@B"}
    boundaries = {name: sorted({round(float(time), 3) for start, end, _ in entries for time in (start, end)}) for name, entries in tiers.items()}
    assert boundaries["asr@A"] == [0.0, 0.9, 2.8, 5.0] and boundaries["asr@B"] == [0.0, 1.8, 5.0]
    for speaker, (start, end) in (("A", (0.9, 2.8)), ("B", (1.8, 5.0))):
        assert all(start - 1e-6 <= float(s) and float(e) <= end + 1e-6 for s, e, text in tiers[f"asr-words@{speaker}"] if text)


def test_a_long_segment_is_decoded_in_its_speech_and_given_back_whole(tmp_path):
    """A segment longer than max_segment_seconds is decoded in the VAD regions inside it, then joined into one
    segment with the span's own times; a silent segment and one past the end of the audio get nothing."""
    from fieldasr.transcribe import Transcriber, TranscribeOptions
    from fieldasr.transcribe.spans import TimeSpan
    from fieldasr.vad import VadOptions, detect_speech
    from test_transcribe import EnergyModel, recording_with_pauses

    audio = recording_with_pauses(tmp_path, "long", ["good morning", "the river runs"])
    first, second = detect_speech(audio)
    whole = TimeSpan(first.start - 0.2, second.end + 0.2)
    silent = TimeSpan(first.end + 0.3, second.start - 0.3)
    past_the_end = TimeSpan(second.end + 10, second.end + 11)
    options = TranscribeOptions(vad=VadOptions(max_segment_seconds=whole.duration / 2))
    transcript = Transcriber(EnergyModel(), options).transcribe(audio, within=[whole, silent, past_the_end])
    [segment] = transcript.segments
    assert (segment.start, segment.end) == (max(0.0, whole.start), whole.end)
    assert len(segment.text.split()) >= 2 and set(segment.text.replace(" ", "")) == {"a"}  # both phrases, joined
    times = [t for word in segment.words for t in (word.start, word.end)]
    assert times == sorted(times) and segment.start <= times[0] and times[-1] <= segment.end


def test_speakers_told_apart_by_participant_in_a_real_elan_2013_file(bundle_and_audio, tmp_path, monkeypatch, capsys):
    """fto.eaf (ELAN, 2013): tiers 'a' and 'b' differ only by PARTICIPANT. Its CONSTRAINT elements are removed here,
    as some tools write files without them: the one the dependent tiers need is added."""
    from conftest import speech_of_length

    bundle, _ = bundle_and_audio
    text = (Path(__file__).parent / "fixtures" / "real_eaf" / "fto.eaf").read_text(encoding="utf-8")
    eaf = tmp_path / "fto.eaf"
    eaf.write_text(re.sub(r"\n *<CONSTRAINT [^>]*/>", "", text), encoding="utf-8")
    wav = speech_of_length("kamuy sinot hunna kamuy aynu sinot kamuy hunna sinot kamuy aynu", tmp_path / "fto.wav", 10.0)
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, wav, "--into", eaf, "--segments-from-tier", "a",
                                "--segments-from-tier", "b", "--redo-transcribed", "--tier", "asr", "--no-word-times")
    assert code == 0 and "1 written" in output, output
    tiers = tier_elements(eaf)
    assert {name: (tiers[name].get("PARENT_REF"), tiers[name].get("PARTICIPANT")) for name in ("asr@a", "asr@b")} == {
        "asr@a": ("a", "a"), "asr@b": ("b", "b")}
    assert "asr-words@a" not in tiers
    for speaker in ("a", "b"):
        parent = [(start, end) for start, end, _ in pympi_tier(eaf, speaker)]
        assert all(any(p_start <= start < end <= p_end for p_start, p_end in parent) for start, end, _ in pympi_tier(eaf, f"asr@{speaker}"))
    root = ET.parse(eaf).getroot()
    assert [c.get("STEREOTYPE") for c in root.iter("CONSTRAINT")] == ["Included_In"]
    children = [child.tag for child in root]
    assert children.index("CONSTRAINT") > max(i for i, tag in enumerate(children) if tag == "LINGUISTIC_TYPE")
    assert canonical_parts(eaf)["TIER"][:4] == canonical_parts(eaf.with_name("fto.eaf.bak"))["TIER"]
