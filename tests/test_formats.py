"""The ecosystem's formats (fieldasr.data.formats): fieldasr -> format -> fieldasr keeps every segment the format
can hold, to the millisecond, and counts the rest; files written by the tools themselves (Lhotse, Hugging Face
datasets, sclite) are read back or scored by them."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import speech_of_length
from fieldasr.data.formats import CtmWord, export_corpus, read_ctm, write_ctm
from fieldasr.data.formats.sclite import spread_words
from fieldasr.data.manifest import Corpus, Recording, Segment
from fieldasr.data.prepare import prepare_corpus
from fieldasr.errors import AnnotationError
from fieldasr.files import OutputExistsError


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats_audio")
    return {"north": speech_of_length("the river runs north", folder / "north.wav", 3),
            "south": speech_of_length("a boat on the water", folder / "south.wav", 2.5)}


@pytest.fixture(scope="module")
def corpus(audio) -> Corpus:
    """Two recordings; times not on 10 ms steps; two speakers overlapping, one segment without a speaker."""
    recordings = {name: Recording.from_audio(name, path) for name, path in audio.items()}
    segments = (
        Segment("north-a1", "north", 0.123, 0.9, "the river", speaker="ama", language="en"),
        Segment("north-b1", "north", 0.5, 0.777, "runs", speaker="bo", language="en"),  # overlaps north-a1
        Segment("north-a2", "north", 1.3, 1.2, "north 'quoted' & <odd>", speaker="ama", language="en"),
        Segment("south-x1", "south", 0.001, 2.499, "a boat on the water", language="en"),
    )
    return Corpus(recordings, segments)


def carried(corpus: Corpus, ids: bool = True) -> list[tuple]:
    """What every format carries (STM and Transcriber: but ids and language), times in whole milliseconds."""
    return sorted((segment.id if ids else "", segment.recording_id, round(segment.start * 1000), round(segment.end * 1000),
                   segment.text, segment.speaker, segment.language) for segment in corpus.segments)


WITHOUT_LANGUAGE = ("stm", "trs")  # given to prepare with --language instead


def round_trip(corpus: Corpus, format_name: str, tmp_path: Path, **prepare_options) -> tuple[Corpus, object]:
    corpus.save(tmp_path / "original")
    out = tmp_path / ("exported.stm" if format_name == "stm" else "exported")
    exported = export_corpus(tmp_path / "original", format_name, out)
    language = "en" if format_name in WITHOUT_LANGUAGE else None
    result = prepare_corpus(out, format_name, "back", out_dir=tmp_path / "manifests", progress=False, language=language, **prepare_options)
    return result, exported


@pytest.mark.parametrize("format_name", ["kaldi", "lhotse"])
def test_kaldi_and_lhotse_keep_ids_overlaps_and_times(format_name, corpus, tmp_path):
    result, exported = round_trip(corpus, format_name, tmp_path)
    assert carried(result.corpus) == carried(corpus)
    assert exported.skipped == () and result.skipped == ()
    assert result.counts["overlapping_pairs"] == 1
    assert {r.id: (r.num_samples, r.sampling_rate) for r in result.corpus.recordings.values()} == \
        {r.id: (r.num_samples, r.sampling_rate) for r in corpus.recordings.values()}


def test_kaldi_files_are_sorted_and_consistent(corpus, tmp_path):
    corpus.save(tmp_path / "original")
    export_corpus(tmp_path / "original", "kaldi", tmp_path / "data")
    lines = {name: (tmp_path / "data" / name).read_text(encoding="utf-8").splitlines()
             for name in ("wav.scp", "text", "segments", "utt2spk", "spk2utt")}
    for name, content in lines.items():
        assert content == sorted(content, key=lambda line: line.split()[0].encode()), name  # LC_ALL=C sort order
    assert "south-x1 south-x1" in lines["utt2spk"]  # no speaker: Kaldi's convention, the utterance itself
    assert "north-a2 north 1.3 2.5" in lines["segments"]  # exact decimal text, no float drift
    assert "ama north-a1 north-a2" in lines["spk2utt"]


def test_kaldi_piped_wav_scp_entries_are_counted_not_run(corpus, tmp_path):
    corpus.save(tmp_path / "original")
    data = tmp_path / "data"
    export_corpus(tmp_path / "original", "kaldi", data)
    scp = (data / "wav.scp").read_text(encoding="utf-8").splitlines()
    marker = tmp_path / "ran"
    scp[1] = f"south touch {marker} |"
    (data / "wav.scp").write_text("\n".join(scp) + "\n", encoding="utf-8")
    result = prepare_corpus(data, "kaldi", "piped", out_dir=tmp_path / "manifests", progress=False)
    assert not marker.exists()
    assert [item.kind for item in result.skipped] == ["piped-audio"]
    assert "1 utterance(s) not used" in result.skipped[0].reason and "fieldasr does not run" in result.skipped[0].reason
    assert {segment.recording_id for segment in result.corpus.segments} == {"north"}


def test_kaldi_without_segments_is_one_utterance_per_recording(audio, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text(f"north {audio['north']}\nsouth {audio['south']}\n", encoding="utf-8")
    (data / "text").write_text("north the river runs north\n", encoding="utf-8")
    (data / "reco2file_and_channel").write_text("north north-session A\nsouth south-session A\n", encoding="utf-8")
    result = prepare_corpus(data, "kaldi", "whole", out_dir=tmp_path / "manifests", progress=False)
    [segment] = result.corpus.segments
    assert (segment.id, segment.start, round(segment.end, 3)) == ("north", 0.0, 3.0)
    assert dict(segment.custom) == {"file": "north-session", "channel": "A"}
    assert [(item.item, item.kind) for item in result.skipped] == [("utterance south", "no-transcription")]


def test_lhotse_reads_and_writes_what_lhotse_does(corpus, tmp_path):
    lhotse = pytest.importorskip("lhotse")
    corpus.save(tmp_path / "original")
    export_corpus(tmp_path / "original", "lhotse", tmp_path / "ours")
    recordings = lhotse.load_manifest(tmp_path / "ours" / "recordings.jsonl.gz")
    supervisions = lhotse.load_manifest(tmp_path / "ours" / "supervisions.jsonl.gz")
    lhotse.validate_recordings_and_supervisions(recordings, supervisions)
    assert sorted(s.id for s in supervisions) == sorted(s.id for s in corpus.segments)
    assert supervisions["north-b1"].speaker == "bo" and supervisions["south-x1"].speaker is None
    assert recordings["north"].load_audio().shape[1] == corpus.recordings["north"].num_samples
    # Lhotse's own writer, with its own file names, read back by fieldasr.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    recordings.to_file(theirs / "demo_recordings_dev.jsonl.gz")
    supervisions.to_file(theirs / "demo_supervisions_dev.jsonl.gz")
    result = prepare_corpus(theirs, "lhotse", "theirs", out_dir=tmp_path / "manifests", progress=False)
    assert carried(result.corpus) == carried(corpus)


def test_lhotse_recording_from_a_command_is_skipped_and_counted(corpus, tmp_path):
    corpus.save(tmp_path / "original")
    export_corpus(tmp_path / "original", "lhotse", tmp_path / "ours")
    import gzip
    import json

    path = tmp_path / "ours" / "recordings.jsonl.gz"
    records = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    records[0]["sources"] = [{"type": "command", "channels": [0], "source": "sox north.wav -t wav -"}]
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(record) + "\n" for record in records)
    result = prepare_corpus(tmp_path / "ours", "lhotse", "piped", out_dir=tmp_path / "manifests", progress=False)
    assert [item.kind for item in result.skipped] == ["piped-audio"]
    assert "3 supervision(s) not used" in result.skipped[0].reason


def test_audiofolder_round_trip_one_file_per_segment(corpus, tmp_path):
    result, exported = round_trip(corpus, "hf-audiofolder", tmp_path)
    by_id = {segment.id: segment for segment in corpus.segments}
    assert len(result.corpus.segments) == 4
    for segment in result.corpus.segments:
        original = by_id[segment.id]
        assert (segment.recording_id, segment.start, segment.text, segment.speaker) == (original.id, 0.0, original.text, original.speaker)
        recording = result.corpus.recordings[segment.recording_id]
        assert recording.num_samples == round(original.end * 16000) - round(original.start * 16000)
        assert segment.custom["source_recording"] == original.recording_id


def test_audiofolder_loads_in_hugging_face_datasets(corpus, tmp_path):
    datasets = pytest.importorskip("datasets")
    corpus.save(tmp_path / "original")
    export_corpus(tmp_path / "original", "hf-audiofolder", tmp_path / "hf")
    loaded = datasets.load_dataset("audiofolder", data_dir=str(tmp_path / "hf"), split="train",
                                   cache_dir=str(tmp_path / "cache")).cast_column("audio", datasets.Audio(decode=False))
    rows = {Path(row["audio"]["path"]).stem: row for row in loaded}
    assert {name: (row["transcription"], row["speaker_id"] or None) for name, row in rows.items()} == \
        {segment.id: (segment.text, segment.speaker) for segment in corpus.segments}


def test_audiofolder_jsonl_with_splits_and_text_column(audio, tmp_path):
    folder = tmp_path / "hf"
    (folder / "train").mkdir(parents=True)
    shutil.copy(audio["north"], folder / "train" / "north.wav")
    (folder / "train" / "metadata.jsonl").write_text(
        '{"file_name": "north.wav", "text": "the river runs north", "speaker": "ama", "age": 40}\n'
        '{"file_name": "", "text": "no file"}\n', encoding="utf-8")
    result = prepare_corpus(folder, "hf-audiofolder", "splits", out_dir=tmp_path / "manifests", progress=False)
    [segment] = result.corpus.segments
    assert (segment.id, segment.text, segment.speaker, dict(segment.custom)) == ("train__north", "the river runs north", "ama", {"age": 40})
    assert [item.kind for item in result.skipped] == ["bad-row"]


def test_stm_round_trip_and_unscored_lines(corpus, audio, tmp_path):
    result, exported = round_trip(corpus, "stm", tmp_path, media_dir=Path(audio["north"]).parent)
    assert carried(result.corpus, ids=False) == carried(corpus, ids=False)
    stm = tmp_path / "exported.stm"
    stm.write_text(stm.read_text(encoding="utf-8") + "south 1 inter_segment_gap 2.499 2.5 ignore_time_segment_in_scoring\n"
                   "south 1 bo 2.5 2.5 oh\n", encoding="utf-8")
    again = prepare_corpus(stm, "stm", "again", out_dir=tmp_path / "manifests", progress=False, media_dir=Path(audio["north"]).parent)
    assert [item.kind for item in again.skipped] == ["not-scored", "zero-length"]
    assert len(again.corpus.segments) == len(corpus.segments)


def sclite(tmp_path: Path, reference: Path, hypothesis: Path) -> str:
    if shutil.which("sctk") is None:
        pytest.skip("sctk (sclite) is not installed")
    subprocess.run(["sctk", "sclite", "-r", str(reference), "stm", "-h", str(hypothesis), "ctm", "-o", "sum", "-O", str(tmp_path)],
                   check=True, capture_output=True, text=True)
    return (tmp_path / f"{hypothesis.name}.sys").read_text(encoding="utf-8")


def sum_row(report: str) -> list[str]:
    """The `Sum/Avg` row of sclite's .sys report: | Sum/Avg | #Snt #Wrd | Corr Sub Del Ins Err S.Err |."""
    [row] = [line for line in report.splitlines() if "Sum/Avg" in line]
    return row.replace("|", " ").split()[1:]


def test_sclite_scores_our_stm_against_our_ctm(corpus, tmp_path):
    """sclite places CTM words by time, which overlapping speakers in one channel defeat: the export says so, and
    without the overlap every word is scored in its own segment."""
    reference = Corpus(corpus.recordings, tuple(s for s in corpus.segments if s.id != "north-b1"))
    reference.save(tmp_path / "reference")
    Corpus(corpus.recordings, tuple(s.with_(text="the ocean") if s.id == "north-a1" else s for s in reference.segments)).save(tmp_path / "hypothesis")
    export_corpus(tmp_path / "reference", "stm", tmp_path / "ref.stm")
    result = export_corpus(tmp_path / "hypothesis", "ctm", tmp_path / "hyp.ctm")
    assert len(result.notes) == 1 and "spread evenly" in result.notes[0]
    snt, words, correct, substituted, deleted, inserted = sum_row(sclite(tmp_path, tmp_path / "ref.stm", tmp_path / "hyp.ctm"))[:6]
    reference_words = sum(len((s.text or "").split()) for s in reference.segments)
    assert (int(snt), int(words)) == (3, reference_words)
    assert (float(substituted), float(deleted), float(inserted)) == pytest.approx((100 / reference_words, 0, 0), abs=0.05)
    corpus.save(tmp_path / "overlapping")
    assert "overlap" in export_corpus(tmp_path / "overlapping", "stm", tmp_path / "overlapping.stm").notes[-1]


def test_ctm_round_trip_keeps_milliseconds(tmp_path):
    words = [CtmWord("north", "1", 0.1 + 0.2, 0.07, "river", 0.5), CtmWord("north", "1", 1.001, 0.333, "runs")]
    write_ctm(tmp_path / "words.ctm", words)
    back = read_ctm(tmp_path / "words.ctm")
    assert [(w.file, round(w.start * 1000), round(w.duration * 1000), w.word, w.confidence) for w in back] == \
        [("north", 300, 70, "river", 0.5), ("north", 1001, 333, "runs", None)]
    assert [round(w.start * 1000) for w in spread_words("f", 0.123, 0.9, "a b c")] == [123, 382, 641]


def test_trs_round_trip_skips_and_counts_overlaps(corpus, audio, tmp_path):
    result, exported = round_trip(corpus, "trs", tmp_path, media_dir=Path(audio["north"]).parent)
    assert [(item.item, item.kind) for item in exported.skipped] == [("north-b1", "overlapping")]
    kept = Corpus(corpus.recordings, tuple(s for s in corpus.segments if s.id != "north-b1"))
    assert carried(result.corpus, ids=False) == carried(kept, ids=False)
    assert result.skipped == ()


def test_trs_written_by_transcriber_with_overlapping_speakers(audio, tmp_path):
    """A file as Transcriber 1.5 saves it: ISO-8859-1, its DTD, a two-speaker turn with Who marks, an Event."""
    shutil.copy(audio["north"], tmp_path / "north.wav")
    (tmp_path / "interview.trs").write_bytes("""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE Trans SYSTEM "trans-14.dtd">
<Trans scribe="anon" audio_filename="north" version="2" version_date="080101">
<Speakers>
<Speaker id="spk1" name="Am\xe9lie" check="no" dialect="native" accent="" scope="local"/>
<Speaker id="spk2" name="Bo" check="no" dialect="native" accent="" scope="local"/>
</Speakers>
<Episode>
<Section type="report" startTime="0" endTime="3">
<Turn speaker="spk1" startTime="0" endTime="1.5">
<Sync time="0"/>
<Sync time="0.25"/>
the river <Event desc="breath" type="noise" extent="instantaneous"/> runs
<Sync time="1.1"/>
north
</Turn>
<Turn speaker="spk1 spk2" startTime="1.5" endTime="3">
<Sync time="1.5"/>
<Who nb="1"/>
yes
<Who nb="2"/>
no
</Turn>
</Section>
</Episode>
</Trans>
""".encode("latin-1"))
    result = prepare_corpus(tmp_path / "interview.trs", "trs", "t", out_dir=tmp_path / "manifests", progress=False)
    assert carried(result.corpus, ids=False) == [
        ("", "interview", 250, 1100, "the river runs", "Amélie", None), ("", "interview", 1100, 1500, "north", "Amélie", None),
        ("", "interview", 1500, 3000, "no", "Bo", None), ("", "interview", 1500, 3000, "yes", "Amélie", None)]
    assert result.counts["overlapping_pairs"] == 1


def test_export_refuses_to_replace_an_existing_output(corpus, tmp_path):
    corpus.save(tmp_path / "original")
    (tmp_path / "ref.stm").write_text("mine\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export_corpus(tmp_path / "original", "stm", tmp_path / "ref.stm")
    assert (tmp_path / "ref.stm").read_text(encoding="utf-8") == "mine\n"
    export_corpus(tmp_path / "original", "stm", tmp_path / "ref.stm", overwrite=True)
    assert "north-a1" not in (tmp_path / "ref.stm").read_text(encoding="utf-8")  # STM holds no segment ids


def test_text_only_corpus_is_refused_where_audio_is_needed(corpus, tmp_path):
    Corpus({}, corpus.segments, text_only=True).save(tmp_path / "text")
    with pytest.raises(AnnotationError, match="text-only"):
        export_corpus(tmp_path / "text", "kaldi", tmp_path / "data")
    export_corpus(tmp_path / "text", "stm", tmp_path / "ref.stm")
    assert len((tmp_path / "ref.stm").read_text(encoding="utf-8").splitlines()) == 5


def test_transcribe_writes_ctm_and_stm_that_sclite_scores(corpus, audio, tmp_path):
    from fieldasr.cli.transcribe import transcribe
    from fieldasr.decode.align import WordTiming
    from fieldasr.transcribe.engine import TranscribedSegment, Transcript
    from fieldasr.transcribe.outputs import FORMATS, write_transcript

    [option] = [parameter for parameter in transcribe.params if parameter.name == "output_format"]
    assert list(option.type.choices) == list(FORMATS)  # the CLI offers every writer
    words = (WordTiming("the", 0.2, 0.4, 0.91, ()), WordTiming("river", 0.45, 0.9, 0.42, ()))
    transcript = Transcript(audio["north"], 3.0, (TranscribedSegment(0.123, 1.023, "the river", words),
                                                  TranscribedSegment(1.3, 2.5, "north 'quoted' & odd")))
    ctm = write_transcript(transcript, tmp_path / "north.ctm", "ctm")
    assert [(w.word, round(w.start * 1000), round(w.duration * 1000), w.confidence) for w in read_ctm(ctm)[:3]] == \
        [("the", 200, 200, 0.91), ("river", 450, 450, 0.42), ("north", 1300, 300, None)]  # no word times: spread evenly
    stm = write_transcript(transcript, tmp_path / "north.stm", "stm")
    assert stm.read_text(encoding="utf-8").splitlines()[1] == "north 1 unknown 0.123 1.023 the river"
    reference = Corpus(corpus.recordings, tuple(s for s in corpus.segments if s.recording_id == "north" and s.id != "north-b1"))
    reference.save(tmp_path / "reference")
    export_corpus(tmp_path / "reference", "stm", tmp_path / "ref.stm")
    snt, words_scored, correct, substituted, deleted, inserted = sum_row(sclite(tmp_path, tmp_path / "ref.stm", ctm))[:6]
    assert (int(snt), int(words_scored)) == (2, 6)
    assert (float(substituted), float(deleted), float(inserted)) == pytest.approx((100 / 6, 0, 0), abs=0.05)  # <odd> -> odd


def test_kaldi_directories_of_lhotse_read_and_written_both_ways(corpus, tmp_path):
    """Lhotse's Kaldi importer reads our data directory, and its exporter writes one fieldasr reads (with utt2lang)."""
    kaldi = pytest.importorskip("lhotse.kaldi")
    corpus.save(tmp_path / "original")
    export_corpus(tmp_path / "original", "kaldi", tmp_path / "ours")
    recordings, supervisions, _ = kaldi.load_kaldi_data_dir(tmp_path / "ours", sampling_rate=16000)
    assert sorted((s.id, round(s.start * 1000), round(s.end * 1000), s.text, s.language) for s in supervisions) == \
        sorted((s.id, round(s.start * 1000), round(s.end * 1000), s.text, s.language) for s in corpus.segments)
    kaldi.export_to_kaldi(recordings, supervisions, tmp_path / "theirs")
    result = prepare_corpus(tmp_path / "theirs", "kaldi", "theirs", out_dir=tmp_path / "manifests", progress=False)
    assert carried(result.corpus) == carried(corpus)


def test_stm_with_sphere_audio_says_how_to_convert(tmp_path):
    """TED-LIUM ships STM with .sph audio, which fieldasr does not read: the skip reason gives the sox command."""
    (tmp_path / "talk.sph").write_bytes(b"NIST_1A\n   1024\n")
    (tmp_path / "talk.stm").write_text("talk 1 speaker1 0.5 2.0 <o,f0,male> the river runs\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"no usable segment.*sox talk\.sph talk\.wav.*1 segment\(s\) not used"):
        prepare_corpus(tmp_path / "talk.stm", "stm", "ted", out_dir=tmp_path / "manifests", progress=False)


TRANSCRIBER_EXAMPLES = Path("/usr/share/doc/transcriber/examples")  # Debian package transcriber (tools/install_system_packages.sh)
TRANSCRIBER_DTD = Path("/etc/transcriber/trans-14.dtd")


def transcriber_installed() -> None:
    if not (TRANSCRIBER_EXAMPLES / "frint980428.trs").is_file() or not TRANSCRIBER_DTD.is_file():
        pytest.skip("Transcriber is not installed (Debian package transcriber; tools/install_system_packages.sh installs it)")


def test_trs_examples_shipped_with_transcriber(tmp_path):
    """Transcriber's own example files: ISO-8859-1, Topics, Events, Background, a two-speaker turn; SPHERE audio."""
    transcriber_installed()
    import gzip

    for name in ("frint980428.trs", "know.trs"):
        shutil.copy(TRANSCRIBER_EXAMPLES / name, tmp_path)
    for name in ("frint980428.wav", "know.sph"):
        (tmp_path / name).write_bytes(gzip.decompress((TRANSCRIBER_EXAMPLES / f"{name}.gz").read_bytes()))
    result = prepare_corpus(tmp_path, "trs", "examples", out_dir=tmp_path / "manifests", progress=False)
    assert [(item.source, item.kind) for item in result.skipped] == [(str(tmp_path / "know.trs"), "unusable-audio")]
    assert "sox know.sph know.wav" in result.skipped[0].reason
    segments = {(round(s.start * 1000), round(s.end * 1000), s.speaker): s.text for s in result.corpus.segments}
    assert segments[(0, 387, "Simon Tivolle")] == "ouais ." and segments[(0, 387, "Patricia Martin")] == "sûr ?"
    assert segments[(387, 3008, "Simon Tivolle")] == "ah bon ? non . blague , blague de Patricia ."
    assert segments[(18521, 20000, "Simon Tivolle")] == "pour tirer les enseignements du"
    assert result.counts["overlapping_pairs"] == 1
    assert result.corpus.recordings["frint980428"].sampling_rate == 8000


def test_trs_we_write_is_valid_by_transcribers_dtd(corpus, tmp_path):
    transcriber_installed()
    etree = pytest.importorskip("lxml.etree")
    corpus.save(tmp_path / "original")
    result = export_corpus(tmp_path / "original", "trs", tmp_path / "trs")
    dtd = etree.DTD(str(TRANSCRIBER_DTD))
    for path in result.files:
        assert dtd.validate(etree.parse(str(path))), (path, dtd.error_log.filter_from_errors())
