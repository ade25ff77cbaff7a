"""pocketsphinx-testdata importer: Sphinx transcripts parsed, real LibriVox and card utterances in manifests."""
from __future__ import annotations

import pytest
import soundfile

from fieldasr.data import Corpus
from fieldasr_examples.corpora.debian import POCKETSPHINX_TEST_DATA
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.pocketsphinx import import_pocketsphinx, parse_sphinx_transcription


def test_sphinx_transcription_lines_give_ids_and_words():
    text = "<s> ten of clubs  </s> (001)\n\n<s> he was not an ill disposed young man </s> (sense-0880)\n"
    assert parse_sphinx_transcription(text) == {"001": "ten of clubs", "sense-0880": "he was not an ill disposed young man"}


def test_a_line_without_an_utterance_id_is_reported_with_its_number():
    with pytest.raises(CorpusSourceError, match="transcription line 2"):
        parse_sphinx_transcription("<s> a </s> (1)\n<s> no id </s>\n")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if not POCKETSPHINX_TEST_DATA.is_dir():
        pytest.fail("pocketsphinx-testdata is not installed; `make test` installs it (tools/install_system_packages.sh).")
    folder = tmp_path_factory.mktemp("pocketsphinx")
    return import_pocketsphinx(folder, POCKETSPHINX_TEST_DATA), Corpus.load(folder)


def test_every_packaged_utterance_is_imported_with_its_transcript(imported):
    result, corpus = imported
    corpus.validate(require_text=True)
    assert result.segments == {"librivox": 5, "cards": 5}
    assert result.transcripts_without_audio == () and result.audio_without_transcript == ()
    texts = {segment.id: segment.text for segment in corpus.segments}
    assert texts["librivox-sense_and_sensibility_01_austen_64kb-0880"] == "he was not an ill disposed young man"
    assert texts["cards-001"] == "ten of clubs"
    assert {segment.language for segment in corpus.segments} == {"eng"}


def test_recordings_match_the_audio_files(imported):
    _, corpus = imported
    for recording in corpus.recordings.values():
        info = soundfile.info(recording.path)
        assert (recording.sampling_rate, recording.num_samples, recording.channels) == (info.samplerate, info.frames, info.channels)
    assert all(recording.sampling_rate == 16000 for recording in corpus.recordings.values())


def test_missing_package_says_what_to_install(tmp_path):
    with pytest.raises(CorpusSourceError, match="pocketsphinx-testdata"):
        import_pocketsphinx(tmp_path / "out", tmp_path / "absent")
