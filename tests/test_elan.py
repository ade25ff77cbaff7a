"""ELAN: reading every tier kind of an ELAN 6 file, and writing tiers back without disturbing the rest."""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import speak
from fieldasr.audio import audio_info
from fieldasr.data.elan import read_eaf
from fieldasr.data.elan_write import write_new_eaf, write_tier_into_eaf
from fieldasr.data.source import TierSelection
from fieldasr.errors import AnnotationError

FIXTURE = Path(__file__).parent / "fixtures" / "elan6_session.eaf"
UNCHANGED_KINDS = ("TIER", "LINGUISTIC_TYPE", "CONTROLLED_VOCABULARY", "LOCALE", "LANGUAGE", "CONSTRAINT")


@pytest.fixture(scope="module")
def session_audio(tmp_path_factory) -> Path:
    """Exactly 4.0 s of speech, 44.1 kHz stereo (the fixture's last annotation, 4.2-4.8 s, lies past its end)."""
    folder = tmp_path_factory.mktemp("elan_audio")
    mono = speak("irankarapte kamuy aynu hunna", folder / "mono.wav", rate=44100)
    target = folder / "session.wav"
    subprocess.run(["sox", str(mono), "-c", "2", str(target), "pad", "0", "4", "trim", "0", "4"], check=True)
    return target


@pytest.fixture()
def session(tmp_path, session_audio) -> Path:
    shutil.copy(session_audio, tmp_path / "session.wav")
    return Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))


def spans(source_file):
    return [(round(a.start, 3), round(a.end, 3), a.text) for a in source_file.annotations]


def test_audio_fixture_is_what_the_annotations_assume(session_audio):
    info = audio_info(session_audio)
    assert (info.sampling_rate, info.channels) == (44100, 2)
    assert info.duration == pytest.approx(4.0, abs=1e-3)


def test_alignable_tiers_by_linguistic_type(session):
    source = read_eaf(session, TierSelection(linguistic_type="utterance"), language="und")
    assert source.media == session.parent / "session.wav"
    assert spans(source) == [(0.2, 1.5, "irankarapte"), (1.0, 2.0, "hunna & ene"), (1.8, 3.1, "kamuy ʔaynu"),
                             (3.3, 3.6, ""), (4.2, 4.8, "sinean")]
    by_text = {a.text: a for a in source.annotations}
    assert by_text["irankarapte"].speaker == "Speaker A" and by_text["irankarapte"].language == "ain"  # the tier's LANG_REF
    assert by_text["hunna & ene"].speaker == "Speaker B" and by_text["hunna & ene"].language == "und"


def test_symbolic_association_takes_parent_times(session):
    source = read_eaf(session, TierSelection(names=("ft@A",)))
    assert spans(source) == [(0.2, 1.5, "hello"), (1.8, 3.1, "god and person")]


def test_symbolic_subdivision_children_share_the_parent_span_in_order(session):
    # In the file the second word (a9, PREVIOUS_ANNOTATION=a8) comes before the first (a8).
    source = read_eaf(session, TierSelection(names=("words@A",)))
    assert spans(source) == [(0.2, 1.5, "irankarapte"), (1.8, 3.1, "kamuy ʔaynu")]
    assert source.annotations[1].custom["joined_annotations"] == 2


def test_included_in_tier_and_participant_selection(session):
    assert spans(read_eaf(session, TierSelection(names=("part@A",)))) == [(0.2, 0.8, "iranka"), (0.8, 1.5, "rapte")]
    by_participant = read_eaf(session, TierSelection(participant="Speaker B"))
    assert {a.custom["tier"] for a in by_participant.annotations} == {"tx@B", "register@B"}


def test_time_subdivision_spreads_unaligned_slots_evenly_over_the_parent(session):
    # ts15 and ts16 have no time; ELAN divides a1 (0.2-1.5 s) into three equal parts.
    source = read_eaf(session, TierSelection(names=("syll@A",)))
    assert spans(source) == [(0.2, 0.633, "i"), (0.633, 1.067, "ran"), (1.067, 1.5, "karapte")]


def test_unknown_tier_lists_the_tiers_the_file_has(session):
    with pytest.raises(AnnotationError, match=r"session\.eaf.*'nope'.*'tx@A'.*'words@A'.*--tier"):
        read_eaf(session, TierSelection(names=("nope",)))
    with pytest.raises(AnnotationError, match="no tier was chosen"):
        read_eaf(session)


def test_media_url_is_used_when_the_relative_link_is_broken(tmp_path, session_audio):
    elsewhere = tmp_path / "media" / "recorded.wav"
    elsewhere.parent.mkdir()
    shutil.copy(session_audio, elsewhere)
    text = FIXTURE.read_text(encoding="utf-8").replace("./session.wav", "../nowhere/session.wav")
    text = text.replace("file:///home/fieldworker/corpus/session.wav", elsewhere.as_uri())
    (tmp_path / "eaf").mkdir()
    eaf = tmp_path / "eaf" / "session.eaf"
    eaf.write_text(text, encoding="utf-8")
    assert read_eaf(eaf, TierSelection(names=("tx@A",))).media == elsewhere


def test_missing_media_names_the_eaf_and_the_fix(tmp_path):
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    with pytest.raises(AnnotationError, match=r"session\.eaf: audio not found.*--media-dir.*Linked Files.*--text-only"):
        read_eaf(eaf, TierSelection(names=("tx@A",)))


# --- writing -----------------------------------------------------------------------------------

def canonical_parts(path: Path) -> dict[str, list[str]]:
    """C14N of each top-level element, by tag; the lastUsedAnnotationId counter is masked (it must change) and
    fieldasr's own marks in the HEADER are left out (test_provenance checks them)."""
    root = ET.parse(path).getroot()
    parts: dict[str, list[str]] = {}
    for element in root:
        element = copy.deepcopy(element)
        element.tail = None
        for prop in list(element.iter("PROPERTY")):
            if prop.get("NAME") == "lastUsedAnnotationId":
                prop.text = "masked"
            if prop.get("NAME", "").startswith("fieldasr-tier:"):
                siblings = list(element)
                siblings[siblings.index(prop) - 1].tail = prop.tail  # as if the line had never been there
                element.remove(prop)
        parts.setdefault(element.tag, []).append(ET.canonicalize(ET.tostring(element, encoding="unicode")))
    return parts


def pympi_tier(path: Path, tier: str) -> list[tuple[int, int, str]]:
    import pympi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eaf = pympi.Elan.Eaf(str(path))
    return sorted(eaf.get_annotation_data_for_tier(tier))


def annotation_ids(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [element.get("ANNOTATION_ID") for element in root.iter() if element.get("ANNOTATION_ID")]


def test_adding_a_tier_changes_nothing_else(session):
    original = session.read_bytes()
    new = [(0.25, 1.4, "iran karapte"), (1.85, 3.0, "kamuy <aynu> & co")]
    write_tier_into_eaf(session, "asr", new, participant="Speaker A")

    before, after = canonical_parts(session.with_name("session.eaf.bak")), canonical_parts(session)
    assert session.with_name("session.eaf.bak").read_bytes() == original
    assert after["HEADER"] == before["HEADER"]
    assert after["TIER"][:-1] == before["TIER"]  # the new tier is appended after the existing ones
    for kind in UNCHANGED_KINDS[1:]:
        assert after[kind][: len(before[kind])] == before[kind], kind
    assert pympi_tier(session, "asr") == [(250, 1400, "iran karapte"), (1850, 3000, "kamuy <aynu> & co")]

    # Byte level: the original lines all survive in order; only the counter line is replaced.
    old_lines, new_lines = original.decode().splitlines(), session.read_text(encoding="utf-8").splitlines()
    changes = [op for op in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes() if op[0] != "equal"]
    replaced = [old_lines[i1:i2] for tag, i1, i2, _, _ in changes if tag != "insert"]
    assert replaced == [['        <PROPERTY NAME="lastUsedAnnotationId">16</PROPERTY>']]

    ids = annotation_ids(session)
    assert len(ids) == len(set(ids))
    last_used = ET.parse(session).getroot().find("HEADER/PROPERTY[@NAME='lastUsedAnnotationId']").text
    assert int(last_used) == max(int(identifier[1:]) for identifier in ids)


def test_replacing_a_tier_keeps_the_other_tiers_and_drops_its_old_time_slots(session):
    write_tier_into_eaf(session, "tx@B", [(0.5, 0.9, "ene")], replace=True)
    before, after = canonical_parts(session.with_name("session.eaf.bak")), canonical_parts(session)
    untouched = [part for part in before["TIER"] if 'TIER_ID="tx@B"' not in part]
    assert [part for part in after["TIER"] if 'TIER_ID="tx@B"' not in part] == untouched
    for kind in UNCHANGED_KINDS[1:]:
        assert after[kind] == before[kind], kind
    assert pympi_tier(session, "tx@B") == [(500, 900, "ene")]
    root = ET.parse(session).getroot()
    slots = {slot.get("TIME_SLOT_ID") for slot in root.iter("TIME_SLOT")}
    assert not {"ts4", "ts8"} & slots  # used only by the old tx@B annotation
    assert {"ts1", "ts5", "ts9"} <= slots  # still used by other tiers
    assert 'PARTICIPANT="Speaker B"' in next(part for part in after["TIER"] if 'TIER_ID="tx@B"' in part)
    # Every tier still reads back as before.
    assert spans(read_eaf(session, TierSelection(names=("words@A",)))) == [(0.2, 1.5, "irankarapte"), (1.8, 3.1, "kamuy ʔaynu")]


@pytest.mark.parametrize("tier", ["tx@A", "ft@A"])
def test_tiers_inside_a_hierarchy_are_not_replaced(session, tier):
    original = session.read_bytes()
    with pytest.raises(AnnotationError, match=rf"session\.eaf: tier '{tier}' is part of a tier hierarchy.*--tier {tier}-asr"):
        write_tier_into_eaf(session, tier, [(0.1, 0.2, "x")], replace=True)  # even when named on purpose
    assert session.read_bytes() == original
    assert not session.with_name("session.eaf.bak").exists()


def test_read_only_file_is_left_untouched(session):
    original = session.read_bytes()
    session.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        with pytest.raises(AnnotationError, match="read-only"):
            write_tier_into_eaf(session, "asr", [(0.1, 0.2, "x")])
    finally:
        session.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert session.read_bytes() == original
    assert sorted(path.name for path in session.parent.iterdir()) == ["session.eaf", "session.wav"]


def test_overlapping_annotations_on_one_tier_are_refused(session):
    with pytest.raises(AnnotationError, match="overlap"):
        write_tier_into_eaf(session, "asr", [(0.1, 0.5, "a"), (0.4, 0.8, "b")])


def test_constrained_linguistic_type_is_refused(session):
    with pytest.raises(AnnotationError, match="translation"):
        write_tier_into_eaf(session, "asr", [(0.1, 0.5, "a")], linguistic_type="translation")


def test_new_eaf_links_media_relatively_and_round_trips(tmp_path, session_audio):
    media = Path(shutil.copy(session_audio, tmp_path / "session.wav"))
    (tmp_path / "transcripts").mkdir()
    eaf = tmp_path / "transcripts" / "session.eaf"
    tiers = {"asr": [(0.2, 1.5, "irankarapte"), (1.8, 3.1, "kamuy ʔaynu")], "asr-words": [(0.2, 0.9, "iranka")]}
    write_new_eaf(eaf, media, tiers)

    descriptor = ET.parse(eaf).getroot().find("HEADER/MEDIA_DESCRIPTOR")
    assert descriptor.get("RELATIVE_MEDIA_URL") == "../session.wav"
    assert descriptor.get("MEDIA_URL") == media.resolve().as_uri()
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path, moved, ignore=shutil.ignore_patterns("moved"))
    media.rename(tmp_path / "elsewhere.wav")  # a move: the absolute link (tried first, as ELAN does) now points nowhere
    # The relative link still finds the audio after the whole folder moved.
    assert read_eaf(moved / "transcripts" / "session.eaf", TierSelection(names=("asr",))).media == moved / "session.wav"
    media = (tmp_path / "elsewhere.wav").rename(media)
    assert pympi_tier(eaf, "asr") == [(200, 1500, "irankarapte"), (1800, 3100, "kamuy ʔaynu")]
    assert spans(read_eaf(eaf, TierSelection(names=("asr-words",)))) == [(0.2, 0.9, "iranka")]
    with pytest.raises(AnnotationError, match="already exists"):
        write_new_eaf(eaf, media, tiers)

    write_tier_into_eaf(eaf, "asr", [(0.3, 1.0, "x")])
    assert pympi_tier(eaf, "asr") == [(300, 1000, "x")]
    assert pympi_tier(eaf, "asr-words") == [(200, 900, "iranka")]
    assert os.stat(eaf).st_mode == os.stat(eaf.with_name("session.eaf.bak")).st_mode


def test_windows_line_endings_are_kept(session):
    session.write_bytes(session.read_bytes().replace(b"\n", b"\r\n"))
    original_lines = session.read_bytes().split(b"\r\n")
    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "a"), (1.5, 2.0, "b")])
    data = session.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    matcher = difflib.SequenceMatcher(a=original_lines, b=data.split(b"\r\n"), autojunk=False)
    replaced = [original_lines[i1:i2] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag not in ("equal", "insert")]
    assert replaced == [[b'        <PROPERTY NAME="lastUsedAnnotationId">16</PROPERTY>']]
    assert pympi_tier(session, "asr") == [(250, 1400, "a"), (1500, 2000, "b")]


def test_truncated_eaf_is_an_error_naming_the_file(tmp_path):
    broken = tmp_path / "broken.eaf"
    broken.write_bytes(FIXTURE.read_bytes()[:2000])
    with pytest.raises(AnnotationError, match=r"broken\.eaf: truncated: the file ends in the middle.*backup"):
        read_eaf(broken, TierSelection(names=("tx@A",)))
    with pytest.raises(AnnotationError, match=r"broken\.eaf: truncated: the file ends in the middle"):
        write_tier_into_eaf(broken, "asr", [(0.1, 0.2, "x")])
    assert broken.read_bytes() == FIXTURE.read_bytes()[:2000]


def test_the_audio_descriptor_is_chosen_when_video_is_linked_first(tmp_path):
    # As ELAN 2.x files of sign-language and gesture corpora do: videos first, audio later, Windows drive links.
    descriptors = ('<MEDIA_DESCRIPTOR MEDIA_URL="file:///H:/corpus/S034_b.mpg" MIME_TYPE="video/mpeg" RELATIVE_MEDIA_URL="file:/./S034_b.mpg"/>'
                   '<MEDIA_DESCRIPTOR MEDIA_URL="file:///H:/corpus/CNGT0697.wav" MIME_TYPE="audio/x-wav" RELATIVE_MEDIA_URL="file:/./CNGT0697.wav"/>')
    text = FIXTURE.read_text(encoding="utf-8")
    start = text.index("<MEDIA_DESCRIPTOR")
    end = text.index("/>", start) + 2
    eaf = tmp_path / "session.eaf"
    eaf.write_text(text[:start] + descriptors + text[end:], encoding="utf-8")
    (tmp_path / "S034_b.mpg").write_bytes(b"\x00")
    (tmp_path / "CNGT0697.wav").write_bytes(b"RIFF")  # not opened by the reader
    source = read_eaf(eaf, TierSelection(names=("tx@A",)))
    assert source.media == tmp_path / "CNGT0697.wav" and source.substitution is None


# --- provenance and backups -------------------------------------------------------------------------

def provenance(path: Path) -> dict[str, str]:
    from fieldasr.data.eaf_text import EafText
    from fieldasr.data.elan_provenance import summarise_tiers

    return {summary.name: summary.provenance for summary in summarise_tiers(EafText.read(path))}


def test_written_tiers_carry_a_mark_in_the_tier_and_the_header(session, session_audio):
    from fieldasr.data.elan_provenance import AudioIdentity

    audio = AudioIdentity.of(session_audio)
    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "iran karapte"), (1.85, 3.0, "kamuy")], audio=audio)
    root = ET.parse(session).getroot()
    assert root.find("TIER[@TIER_ID='asr']").get("ANNOTATOR") == "fieldasr"
    mark = json.loads(root.find("HEADER/PROPERTY[@NAME='fieldasr-tier:asr']").text)
    assert mark["format"] == 1 and mark["audio"] == "session.wav" and mark["audio_sha256"] == audio.sha256
    lines = ["250\t1400\tiran karapte", "1850\t3000\tkamuy"]
    assert mark["digest"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert mark["annotations"].split() == [hashlib.sha256(line.encode()).hexdigest()[:12] for line in lines]
    assert provenance(session) == {**{name: "" for name in provenance(FIXTURE)}, "asr": "unedited"}


def test_the_mark_survives_a_re_save_that_renumbers_everything(session):
    """pympi re-serialises the whole file (new time slot and annotation ids), as ELAN does when it saves."""
    import pympi

    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "iran karapte"), (1.85, 3.0, "kamuy")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eaf = pympi.Elan.Eaf(str(session))
        pympi.Elan.to_eaf(str(session), eaf, pretty=True)
    assert b"fieldasr-tier:asr" in session.read_bytes()
    assert provenance(session)["asr"] == "unedited"
    assert eaf.remove_annotation("asr", 2000) == 1  # a person deletes an annotation (time in ms)
    pympi.Elan.to_eaf(str(session), eaf, pretty=True)
    assert provenance(session)["asr"] == "edited"


def test_annotator_changed_by_hand_makes_the_tier_the_users(session):
    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "a")])
    session.write_bytes(session.read_bytes().replace(b'ANNOTATOR="fieldasr"', b'ANNOTATOR="Ana"'))
    assert provenance(session)["asr"] == "edited"
    original = session.read_bytes()
    with pytest.raises(AnnotationError, match=r"tier 'asr' \(1 annotation, edited since fieldasr wrote it\)"):
        write_tier_into_eaf(session, "asr", [(0.25, 1.4, "b")])
    assert session.read_bytes() == original


def test_backups_are_numbered_byte_identical_and_never_overwritten(session):
    states = [session.read_bytes()]
    for text in ("one", "two", "three"):
        write_tier_into_eaf(session, "asr", [(0.25, 1.4, text)])
        states.append(session.read_bytes())
    names = ["session.eaf.bak", "session.eaf.bak2", "session.eaf.bak3"]
    assert sorted(p.name for p in session.parent.iterdir() if ".bak" in p.name) == names
    for name, state in zip(names, states):
        assert session.with_name(name).read_bytes() == state
    session.with_name("session.eaf.bak2").unlink()  # a gap is filled, nothing is overwritten
    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "four")])
    assert session.with_name("session.eaf.bak2").read_bytes() == states[3]
    assert session.with_name("session.eaf.bak3").read_bytes() == states[2]


def test_new_files_carry_the_same_marks(tmp_path, session_audio):
    media = Path(shutil.copy(session_audio, tmp_path / "session.wav"))
    eaf = write_new_eaf(tmp_path / "session.eaf", media, {"asr": [(0.2, 1.5, "a")], "asr-words": [(0.2, 0.9, "a")], "empty": []})
    assert provenance(eaf) == {"asr": "unedited", "asr-words": "unedited", "empty": "unedited"}
    assert ET.parse(eaf).getroot().find("HEADER/PROPERTY[@NAME='fieldasr-tier:asr']").text.count(media.name) == 1


def test_a_file_without_a_header_gets_one_first_and_keeps_every_other_byte(session):
    # Files written by scripts (e.g. elan2LaTeX exports) have no HEADER; the mark needs one, placed where the schema wants it.
    import re

    text = re.sub(r"\n *<HEADER.*?</HEADER>", "", session.read_text(encoding="utf-8"), flags=re.S)
    session.write_text(text, encoding="utf-8")
    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "a")])
    root = ET.parse(session).getroot()
    assert [child.tag for child in root][:2] == ["HEADER", "TIME_ORDER"]
    assert provenance(session)["asr"] == "unedited" and pympi_tier(session, "asr") == [(250, 1400, "a")]
    assert session.with_name("session.eaf.bak").read_text(encoding="utf-8") == text


def test_a_stale_mark_of_a_deleted_tier_is_replaced_not_doubled(session):
    import re

    write_tier_into_eaf(session, "asr", [(0.25, 1.4, "a")])
    text = session.read_text(encoding="utf-8")
    session.write_text(re.sub(r'\n *<TIER ANNOTATOR="fieldasr".*?</TIER>', "", text, flags=re.S), encoding="utf-8")  # deleted in ELAN
    assert "asr" not in provenance(session) and "fieldasr-tier:asr" in session.read_text(encoding="utf-8")
    write_tier_into_eaf(session, "asr", [(0.5, 0.9, "b")])
    assert session.read_text(encoding="utf-8").count("fieldasr-tier:asr") == 1
    assert provenance(session)["asr"] == "unedited" and pympi_tier(session, "asr") == [(500, 900, "b")]
