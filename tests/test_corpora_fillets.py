"""Fish Fillets NG importer: the Lua dialogue format, the script -> sound mapping, and counts of what did not match."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import require_program, speak
from fieldasr.data import Corpus
from fieldasr_examples.corpora.debian import FILLETS_ROOT
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.fillets import import_fillets, parse_dialogue_script

# Written after the game's script/<level>/dialogs_nl.lua files, with the cases they contain.
LEVEL_SCRIPT = r'''
-- Intro dialogs
dialogId("let-m-divna", "font_small", "What kind of strange ship is that?")
dialogStr("Wat is dit voor raar schip?")


dialogId("let-v-oko", "font_big", "Can you see that eye?")
dialogStr("Zie je dat \"oog\"? Kijk in \/etc of C:\\WINDOWS.")

dialogId("let-x-stil", "font_white", "A line nobody translated.")

-- dialogId("commented-out", "font_big", "Never read.")
dialogId("let-p-papousek", "font_parrot", "Polly!")
dialogStr("Lorre!")
'''

SHARED_SCRIPT = '''
dialogId("bor-m-nuda", "font_small", "I am bored.")
dialogStr("Ik verveel me.")
'''


def test_dialogue_lines_pair_ids_with_translations_and_unescape_lua_strings():
    lines = parse_dialogue_script(LEVEL_SCRIPT)
    assert [line.id for line in lines] == ["let-m-divna", "let-v-oko", "let-x-stil", "let-p-papousek"]
    assert lines[1].text == 'Zie je dat "oog"? Kijk in /etc of C:\\WINDOWS.'
    assert lines[1].english == "Can you see that eye?"
    assert lines[2].text is None
    assert [line.speaker for line in lines] == ["small_fish", "big_fish", "white", "parrot"]


def test_translation_without_an_id_is_an_error():
    with pytest.raises(CorpusSourceError, match="before any dialogId"):
        parse_dialogue_script('dialogStr("Hallo")')


def _ogg(path: Path, text: str) -> None:
    require_program("sox")
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = speak(text, path.with_suffix(".wav"), voice="nl", rate=22050)
    subprocess.run(["sox", str(wav), "-c", "2", str(path)], check=True)
    wav.unlink()


@pytest.fixture(scope="module")
def game_data(tmp_path_factory) -> Path:
    """A miniature of /usr/share/games/fillets-ng: one level and one shared joke folder."""
    root = tmp_path_factory.mktemp("fillets-ng")
    (root / "script" / "airplane").mkdir(parents=True)
    (root / "script" / "airplane" / "dialogs_nl.lua").write_text(LEVEL_SCRIPT, encoding="utf-8")
    (root / "script" / "share").mkdir()
    (root / "script" / "share" / "bore_dialogs_nl.lua").write_text(SHARED_SCRIPT, encoding="utf-8")
    (root / "script" / "share" / "stddialogs.lua").write_text('dialogLoad("script/share/bore_", "sound/share/borejokes/")\n')
    _ogg(root / "sound" / "airplane" / "nl" / "let-m-divna.ogg", "Wat is dit voor raar schip?")
    _ogg(root / "sound" / "airplane" / "nl" / "let-v-oko.ogg", "Zie je dat oog?")
    _ogg(root / "sound" / "airplane" / "nl" / "let-x-stil.ogg", "stil")
    _ogg(root / "sound" / "airplane" / "nl" / "let-orphan.ogg", "wees")
    _ogg(root / "sound" / "share" / "borejokes" / "nl" / "bor-m-nuda.ogg", "Ik verveel me.")
    return root


def test_import_matches_lines_to_recordings_and_reports_the_rest(game_data, tmp_path):
    result = import_fillets(tmp_path / "manifests", game_data)
    corpus = Corpus.load(tmp_path / "manifests")
    corpus.validate(require_text=True)
    by_id = {segment.id: segment for segment in corpus.segments}
    assert set(by_id) == {"airplane-let-m-divna", "airplane-let-v-oko", "share-borejokes-bor-m-nuda"}
    assert by_id["share-borejokes-bor-m-nuda"].text == "Ik verveel me."
    assert by_id["airplane-let-v-oko"].speaker == "big_fish"
    assert {segment.language for segment in corpus.segments} == {"nld"}
    recording = corpus.recordings["airplane-let-m-divna"]
    assert (recording.sampling_rate, recording.channels) == (22050, 2)
    assert result.segments == 3
    assert result.lines_without_audio == ("script/airplane/dialogs_nl.lua:let-p-papousek",)
    assert result.lines_without_text == ("script/airplane/dialogs_nl.lua:let-x-stil",)
    assert set(result.audio_without_line) == {"sound/airplane/nl/let-orphan.ogg", "sound/airplane/nl/let-x-stil.ogg"}


def test_missing_game_data_says_which_packages_to_install(tmp_path):
    with pytest.raises(CorpusSourceError, match="fillets-ng-data-nl"):
        import_fillets(tmp_path / "out", tmp_path / "nothing")


@pytest.mark.slow
@pytest.mark.skipif(not (FILLETS_ROOT / "sound").is_dir(), reason="opt-in data: FIELDASR_REAL_SPEECH=1 bash tools/install_system_packages.sh")
def test_real_game_data_gives_over_an_hour_and_a_half_of_dutch(tmp_path):
    result = import_fillets(tmp_path, FILLETS_ROOT)
    assert result.segments > 1500 and result.hours > 1.5
    assert result.segments + len(result.unreadable_audio) + len(result.audio_without_line) == len(list(FILLETS_ROOT.glob("sound/**/nl/*.ogg")))
