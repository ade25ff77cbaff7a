"""prepare --text-only: annotations without audio, for language models, lexicons and G2P; refused by training."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.data.manifest import TEXT_ONLY_MARKER, Corpus, read_segments
from fieldasr.data.prepare import prepare_corpus
from fieldasr.data.source import TierSelection
from fieldasr.errors import AnnotationError, ManifestError

FIXTURES = Path(__file__).parent / "fixtures"
UTTERANCES = TierSelection(linguistic_type="utterance")


@pytest.fixture()
def text_only(tmp_path) -> Path:
    """The ELAN 6 fixture with no audio anywhere, prepared with --text-only."""
    (tmp_path / "eaf").mkdir()
    shutil.copy(FIXTURES / "elan6_session.eaf", tmp_path / "eaf" / "session.eaf")
    result = prepare_corpus(tmp_path / "eaf", "eaf", "ainu-text", out_dir=tmp_path / "out", selection=UTTERANCES,
                            language="ain", text_only=True, progress=False)
    # 5 utterances, one empty: the one past the end of the (absent) audio is kept, nothing knows the audio's length.
    assert result.text_only and result.counts["segments"] == 4 and result.counts["skipped_empty-text"] == 1
    assert result.counts["recordings"] == 1
    return result.output


def test_text_only_corpus_has_segments_and_a_marker_but_no_recordings(text_only):
    assert sorted(path.name for path in text_only.iterdir()) == ["segments.jsonl.gz", "skipped.tsv", TEXT_ONLY_MARKER]
    assert json.loads((text_only / TEXT_ONLY_MARKER).read_text(encoding="utf-8"))["text_only"] is True
    segments = list(read_segments(text_only / "segments.jsonl.gz"))
    assert [(s.recording_id, s.start, s.text) for s in segments][:2] == [("session", 0.2, "irankarapte"), ("session", 1.0, "hunna & ene")]
    assert segments[-1].end == pytest.approx(4.8)  # times straight from the .eaf
    with pytest.raises(ManifestError, match=r"ainu-text: this corpus was prepared with --text-only.*without --text-only"):
        Corpus.load(text_only)
    corpus = Corpus.load(text_only, text_only_ok=True)
    assert corpus.text_only and corpus.recordings == {}
    corpus.validate(require_text=True)


def test_validate_accepts_it_and_says_it_is_text_only(text_only):
    result = CliRunner().invoke(cli, ["validate", str(text_only), "--require-text"])
    assert result.exit_code == 0, result.output
    assert "text-only corpus" in result.output and "valid (text only" in result.output


def test_g2p_fills_phones_of_a_text_only_manifest_in_place(text_only):
    manifest = text_only / "segments.jsonl.gz"
    result = CliRunner().invoke(cli, ["g2p", "--spec", "ain", "--manifest", str(manifest), "--out", str(manifest)])
    assert result.exit_code == 0, result.output
    assert all(segment.phones for segment in read_segments(manifest))
    assert Corpus.load(text_only, text_only_ok=True).text_only  # still marked


def test_training_refuses_it_before_writing_anything(text_only, tmp_path):
    from fieldasr.train.recipe import run_ctc_recipe
    from fieldasr.train.config import ConfigError

    with pytest.raises(ConfigError, match=r"data.train: .*prepared with --text-only.*fieldasr prepare"):
        run_ctc_recipe({"experiment_dir": str(tmp_path / "exp"), "data": {"train": str(text_only)}})
    assert not (tmp_path / "exp").exists()


def test_text_only_refuses_formats_without_times_and_media_dir(tmp_path):
    (tmp_path / "a.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(AnnotationError, match="--text-only works with eaf, textgrid, csv"):
        prepare_corpus(tmp_path, "folder", "c", out_dir=tmp_path / "out", text_only=True, progress=False)
    with pytest.raises(AnnotationError, match="--media-dir and --text-only exclude each other"):
        prepare_corpus(tmp_path, "eaf", "c", out_dir=tmp_path / "out", text_only=True, media_dir=tmp_path, progress=False)


def test_csv_rows_without_times_are_counted_not_dropped(tmp_path):
    (tmp_path / "list.csv").write_text("path,text,start,end\nmissing.wav,one,0,1.5\nmissing.wav,whole file,,\n", encoding="utf-8")
    result = prepare_corpus(tmp_path / "list.csv", "csv", "c", out_dir=tmp_path / "out", text_only=True, progress=False)
    assert [segment.text for segment in result.corpus.segments] == ["one"]
    assert result.counts["skipped_needs-audio"] == 1
    assert not any(path.suffix == ".wav" for path in tmp_path.iterdir())  # nothing looked for or made
