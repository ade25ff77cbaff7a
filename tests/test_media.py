"""Finding an annotation file's audio the way ELAN does: links written on other computers, then by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from fieldasr.data.media import AmbiguousMediaError, MediaLink, MediaSearch
from fieldasr.errors import AnnotationError


@pytest.fixture()
def corpus(tmp_path) -> Path:
    """An .eaf folder and a separate media folder; the 'audio' files are never opened by the search."""
    (tmp_path / "eaf").mkdir()
    (tmp_path / "media" / "2019").mkdir(parents=True)
    (tmp_path / "eaf" / "abui_4.eaf").write_text("<ANNOTATION_DOCUMENT/>", encoding="utf-8")
    return tmp_path


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return path


@pytest.mark.parametrize("url, name", [
    ("file:///C:/Users/x/My%20Recordings/rec%2001.wav", "rec 01.wav"),
    ("file:/C:/Users/x/rec.wav", "rec.wav"),
    ("file://C:/Users/x/rec.wav", "rec.wav"),
    (r"C:\Users\x\Desktop\rec.WAV", "rec.WAV"),
    ("file:///Users/Shared/MPI/r03_v20_s5.wav", "r03_v20_s5.wav"),
    ("file://server/share/field/rec.wav", "rec.wav"),
])
def test_linked_name_from_windows_mac_and_network_links(url, name):
    assert MediaLink(absolute=url).name == name


def test_absolute_link_wins_then_relative_then_substitutes_are_reported(corpus):
    eaf = corpus / "eaf" / "abui_4.eaf"
    elsewhere = touch(corpus / "recorded" / "1_1_4.wav")
    search = MediaSearch()
    found = search.find(eaf, MediaLink(absolute=elsewhere.as_uri(), relative="./1_1_4.wav"))
    assert (found.path, found.substitution) == (elsewhere, None)
    relative = touch(corpus / "eaf" / "sub" / "1_1_4.wav")
    found = search.find(eaf, MediaLink(absolute="file:///C:/Users/x/1_1_4.wav", relative="./sub/1_1_4.wav"))
    assert (found.path, found.substitution) == (relative, None)
    relative.unlink()
    beside = touch(corpus / "eaf" / "1_1_4.wav")  # ELAN 2.x: only MEDIA_URL, from another computer
    found = search.find(eaf, MediaLink(absolute="file:///C:/Users/x/1_1_4.wav"))
    assert found.path == beside and found.substitution.how == "linked name beside the annotation file"
    assert found.substitution.linked == "file:///C:/Users/x/1_1_4.wav" and found.substitution.annotation == str(eaf)


def test_media_dir_then_own_name(corpus):
    eaf = corpus / "eaf" / "abui_4.eaf"
    link = MediaLink(absolute="file:///C:/Users/x/1_1_4.wav", relative="./1_1_4.wav")
    in_media = touch(corpus / "media" / "2019" / "1_1_4.WAV")  # other case, as Windows does not care
    found = MediaSearch(corpus / "media").find(eaf, link)
    assert found.path == in_media and found.substitution.how == "linked name under --media-dir"
    own_name = touch(corpus / "eaf" / "abui_4.wav")
    assert MediaSearch().find(eaf, link).substitution.how == "annotation file's name beside the annotation file"
    own_name.unlink()
    in_media.unlink()
    touch(corpus / "media" / "abui_4.flac")
    assert MediaSearch(corpus / "media").find(eaf, link).substitution.how == "annotation file's name under --media-dir"


def test_textgrid_audio_of_the_same_name_is_no_substitution(corpus):
    grid = corpus / "eaf" / "talk.TextGrid"
    audio = touch(corpus / "eaf" / "talk.wav")
    assert MediaSearch().find(grid).substitution is None and MediaSearch().find(grid).path == audio
    audio.unlink()
    touch(corpus / "media" / "talk.wav")
    assert MediaSearch(corpus / "media").find(grid).substitution.how == "annotation file's name under --media-dir"


def test_two_candidates_under_media_dir_are_an_error_naming_both(corpus):
    first, second = touch(corpus / "media" / "a" / "1_1_4.wav"), touch(corpus / "media" / "b" / "1_1_4.wav")
    with pytest.raises(AmbiguousMediaError, match=rf"abui_4\.eaf.*{first}.*{second}"):
        MediaSearch(corpus / "media").find(corpus / "eaf" / "abui_4.eaf", MediaLink(relative="./1_1_4.wav"))


def test_nothing_found_names_every_place_and_the_fixes(corpus):
    with pytest.raises(AnnotationError, match=r"abui_4\.eaf: audio not found.*1_1_4\.wav.*--media-dir.*--text-only"):
        MediaSearch().find(corpus / "eaf" / "abui_4.eaf", MediaLink(absolute="file:///C:/x/1_1_4.wav"))
    with pytest.raises(AnnotationError, match=r"not-a-folder\.txt: --media-dir must be a folder"):
        MediaSearch(touch(corpus / "not-a-folder.txt"))


def test_elan_2x_relative_link_with_file_scheme_is_the_link_itself(corpus):
    # ELAN 2.6/2.7 on Windows wrote RELATIVE_MEDIA_URL="file:/./rec.wav" beside MEDIA_URL="file:///H:/...".
    audio = touch(corpus / "eaf" / "CNGT0697.wav")
    found = MediaSearch().find(corpus / "eaf" / "abui_4.eaf",
                               MediaLink(absolute="file:///H:/Interactie/CNGT/CNGT0697.wav", relative="file:/./CNGT0697.wav"))
    assert (found.path, found.substitution) == (audio, None)


def test_a_relative_media_url_is_taken_from_the_annotation_folder(corpus):
    audio = touch(corpus / "eaf" / "audio" / "rec.wav")
    found = MediaSearch().find(corpus / "eaf" / "abui_4.eaf", MediaLink(absolute="audio/rec.wav"))
    assert (found.path, found.substitution) == (audio, None)
