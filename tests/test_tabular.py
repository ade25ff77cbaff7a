"""Common Voice TSV, CSV and audio + .txt folders, with audio in several formats, rates and channel counts."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import speak
from fieldasr.audio import load_audio
from fieldasr.data.manifest import Corpus
from fieldasr.data.prepare import prepare_corpus
from fieldasr.data.tabular import read_common_voice, read_csv
from fieldasr.errors import AnnotationError

CV_HEADER = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment"


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return speak("one two three", tmp_path_factory.mktemp("speech") / "speech.wav", rate=48000)


def to_mp3(wav: Path, target: Path) -> Path:
    samples, rate = soundfile.read(str(wav), dtype="float32")
    soundfile.write(str(target), samples, rate, format="MP3")
    return target


@pytest.fixture()
def common_voice(tmp_path, speech) -> Path:
    folder = tmp_path / "cv-corpus" / "ain"
    (folder / "clips").mkdir(parents=True)
    to_mp3(speech, folder / "clips" / "common_voice_ain_1.mp3")
    to_mp3(speech, folder / "clips" / "common_voice_ain_2.mp3")
    rows = [
        "c0ffee\tcommon_voice_ain_1.mp3\ts1\tShe said \"irankarapte\" twice.\t\t2\t0\tthirties\tfemale\t\t\tain\t",
        "beef\tcommon_voice_ain_2.mp3\ts2\tkamuy ʔaynu\t\t2\t0\t\t\t\t\tain\t",
        "beef\tcommon_voice_ain_3.mp3\ts3\tmissing clip\t\t2\t0\t\t\t\t\tain\t",
    ]
    (folder / "validated.tsv").write_text("\n".join([CV_HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


def test_common_voice_rows_become_whole_clip_segments(tmp_path, common_voice):
    result = prepare_corpus(common_voice, "cv", "cv", out_dir=tmp_path / "out", progress=False)
    segments = {segment.id: segment for segment in result.corpus.segments}
    assert set(segments) == {"common_voice_ain_1", "common_voice_ain_2"}
    first = segments["common_voice_ain_1"]
    assert first.text == 'She said "irankarapte" twice.'  # quotes are text, not CSV quoting
    assert (first.speaker, first.language) == ("c0ffee", "ain")
    assert first.custom == {"sentence_id": "s1", "age": "thirties", "gender": "female"}
    recording = result.corpus.recordings["common_voice_ain_1"]
    assert recording.sampling_rate == 48000
    assert first.start == 0.0 and first.duration == pytest.approx(recording.duration)
    [skipped] = result.skipped
    assert skipped.kind == "unusable-audio" and "common_voice_ain_3.mp3" in skipped.reason
    Corpus.load(tmp_path / "out" / "cv").validate(require_text=True)


def test_common_voice_table_without_sentence_column(tmp_path):
    (tmp_path / "validated.tsv").write_text("client_id\tpath\ttext\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"validated\.tsv: missing column\(s\) sentence"):
        list(read_common_voice(tmp_path))


@pytest.fixture()
def csv_corpus(tmp_path, speech) -> Path:
    subprocess.run(["sox", str(speech), "-c", "2", str(tmp_path / "stereo48k.flac")], check=True)
    subprocess.run(["sox", str(speech), "-r", "8000", str(tmp_path / "phone8k.wav")], check=True)
    table = tmp_path / "corpus.csv"
    table.write_text(
        "path,text,start,end,speaker,language,note\n"
        "stereo48k.flac,one two three,,,A,ain,clean\n"
        "phone8k.wav,one,0.05,0.5,B,,\n"
        "phone8k.wav,two,0.5,,B,,\n"
        "phone8k.wav,three,x,1.0,B,,\n",
        encoding="utf-8",
    )
    return table


def test_csv_rows_with_and_without_times(tmp_path, csv_corpus):
    result = prepare_corpus(csv_corpus, "csv", "csv", out_dir=tmp_path / "out", language="und", progress=False)
    by_text = {segment.text: segment for segment in result.corpus.segments}
    assert set(by_text) == {"one two three", "one"}
    assert (by_text["one two three"].speaker, by_text["one two three"].language) == ("A", "ain")
    assert by_text["one two three"].custom == {"note": "clean"}
    assert (by_text["one"].start, by_text["one"].duration, by_text["one"].language) == (0.05, 0.45, "und")
    assert [(item.item, item.kind) for item in result.skipped] == [("line 4", "bad-row"), ("line 5", "bad-row")]
    recordings = {Path(r.path).name: (r.sampling_rate, r.channels) for r in result.corpus.recordings.values()}
    assert recordings == {"stereo48k.flac": (48000, 2), "phone8k.wav": (8000, 1)}


def test_segments_load_as_16k_mono_whatever_the_file(tmp_path, csv_corpus):
    corpus = prepare_corpus(csv_corpus, "csv", "csv", out_dir=tmp_path / "out", progress=False).corpus
    for segment in corpus.segments:
        recording = corpus.recordings[segment.recording_id]
        samples = load_audio(recording.path, segment.start, segment.duration)
        assert samples.ndim == 1 and samples.dtype == np.float32
        assert len(samples) == pytest.approx(segment.duration * 16000, abs=2)
        assert np.abs(samples).max() > 0.01  # espeak's speech survived downmixing and resampling


def test_audio_folder_with_text_files(tmp_path, speech):
    folder = tmp_path / "recordings"
    (folder / "day2").mkdir(parents=True)
    subprocess.run(["sox", str(speech), str(folder / "a.wav")], check=True)
    (folder / "a.txt").write_text("\ufeffone two\nthree\n", encoding="utf-8")
    subprocess.run(["sox", str(speech), "-r", "22050", str(folder / "day2" / "a.ogg")], check=True)
    (folder / "day2" / "a.txt").write_text("one two three", encoding="utf-8")
    subprocess.run(["sox", str(speech), str(folder / "untranscribed.wav")], check=True)
    (folder / "orphan.txt").write_text("no audio", encoding="utf-8")
    subprocess.run(["sox", str(speech), str(folder / "latin.wav")], check=True)
    (folder / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))

    result = prepare_corpus(folder, "folder", "folder", out_dir=tmp_path / "out", language="en", progress=False)
    assert {segment.id: segment.text for segment in result.corpus.segments} == {"a": "one two three", "day2__a": "one two three"}
    assert result.corpus.recordings["day2__a"].sampling_rate == 22050
    assert sorted((Path(item.source).name, item.kind) for item in result.skipped) == [
        ("latin.txt", "bad-encoding"), ("orphan.txt", "no-audio"), ("untranscribed.wav", "no-transcription")]


def test_csv_in_a_legacy_encoding_is_refused_with_the_fix(tmp_path):
    table = tmp_path / "corpus.csv"
    table.write_bytes("path,text\na.wav,caf\xe9\n".encode("latin-1"))
    with pytest.raises(AnnotationError, match=r"corpus\.csv: not UTF-8.*iconv"):
        list(read_csv(table))
