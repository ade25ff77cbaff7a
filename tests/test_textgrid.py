"""TextGrids written by Praat itself (long and short text formats, UTF-16) and written by us, read by Praat."""
from __future__ import annotations

import codecs
import subprocess
from pathlib import Path

import pytest

from conftest import require_program, speak
from fieldasr.data.prepare import prepare_corpus
from fieldasr.data.source import TierSelection
from fieldasr.data.textgrid import read_textgrid, write_textgrid
from fieldasr.errors import AnnotationError

# What the Praat script below creates; times and labels are the script's own numbers.
PRAAT_WORDS = [(0.5, 1.5, "kamuy ʔaynu"), (1.5, 2.25, "hello"), (2.25, 2.9, "   ")]
PRAAT_SCRIPT = """
Create TextGrid: 0, 3, "words bell", "bell"
Insert boundary: 1, 0.5
Insert boundary: 1, 1.5
Insert boundary: 1, 2.25
Insert boundary: 1, 2.9
Set interval text: 1, 2, "kamuy ʔaynu"
Set interval text: 1, 3, "hello"
Set interval text: 1, 4, "   "
Insert point: 2, 1.0, "click"
Save as text file: "{folder}/long.TextGrid"
Save as short text file: "{folder}/short.TextGrid"
Set interval text: 1, 2, "kamuy aynu"
Save as text file: "{folder}/ascii.TextGrid"
"""


def run_praat(script: str, folder: Path) -> str:
    require_program("praat")
    path = folder / "script.praat"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(["praat", "--run", str(path)], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def praat_folder(tmp_path_factory) -> Path:
    """Praat's own TextGrids, each with same-name audio of a different format and rate."""
    folder = tmp_path_factory.mktemp("praat")
    run_praat(PRAAT_SCRIPT.format(folder=folder), folder)
    speech = speak("kamuy aynu hello there", folder / "speech.wav", rate=48000)
    subprocess.run(["sox", str(speech), str(folder / "long.wav"), "pad", "0", "3", "trim", "0", "3"], check=True)
    subprocess.run(["sox", str(speech), "-r", "8000", str(folder / "short.flac"), "pad", "0", "3", "trim", "0", "3"], check=True)
    subprocess.run(["sox", str(speech), "-c", "2", str(folder / "ascii.ogg"), "pad", "0", "3", "trim", "0", "3"], check=True)
    speech.unlink()
    return folder


def spans(source_file):
    return [(round(a.start, 4), round(a.end, 4), a.text) for a in source_file.annotations]


def test_praat_saves_non_ascii_labels_as_utf16(praat_folder):
    for name in ("long", "short"):
        assert (praat_folder / f"{name}.TextGrid").read_bytes()[:2] in (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)
    (praat_folder / "ascii.TextGrid").read_bytes().decode("ascii")


@pytest.mark.parametrize("name, media", [("long", "long.wav"), ("short", "short.flac"), ("ascii", "ascii.ogg")])
def test_reads_praat_textgrids_in_both_text_formats(praat_folder, name, media):
    source = read_textgrid(praat_folder / f"{name}.TextGrid", language="ain")
    expected = [(start, end, text) for start, end, text in PRAAT_WORDS if text.strip()]
    if name == "ascii":
        expected[0] = (0.5, 1.5, "kamuy aynu")
    # The only interval tier is chosen; empty and blank labels are Praat's gaps, not annotations.
    assert spans(source) == expected
    assert source.media == praat_folder / media
    assert {a.language for a in source.annotations} == {"ain"}


def test_point_tier_and_unknown_tier_are_explained(praat_folder):
    with pytest.raises(AnnotationError, match="point tier"):
        read_textgrid(praat_folder / "long.TextGrid", TierSelection(names=("bell",)))
    with pytest.raises(AnnotationError, match=r"long\.TextGrid: no tier named 'phones'.*'words' \(interval tier\).*'bell' \(point tier\)"):
        read_textgrid(praat_folder / "long.TextGrid", TierSelection(names=("phones",)))
    with pytest.raises(AnnotationError, match="--tier"):
        read_textgrid(praat_folder / "long.TextGrid", TierSelection(participant="A"))


def test_legacy_encoding_is_refused_with_the_fix(tmp_path, praat_folder):
    text = (praat_folder / "ascii.TextGrid").read_text(encoding="ascii").replace("kamuy aynu", "café crème")
    latin1 = tmp_path / "latin1.TextGrid"
    latin1.write_bytes(text.encode("latin-1"))
    with pytest.raises(AnnotationError, match=r"latin1\.TextGrid: not UTF-8 or UTF-16.*iconv"):
        read_textgrid(latin1)


def test_truncated_textgrid_is_an_error_naming_the_file(tmp_path, praat_folder):
    broken = tmp_path / "broken.TextGrid"
    broken.write_bytes((praat_folder / "ascii.TextGrid").read_bytes()[:300])
    with pytest.raises(AnnotationError, match=r"broken\.TextGrid"):
        read_textgrid(broken)


PRAAT_DUMP = """
tg = Read from file: "{path}"
tiers = Get number of tiers
for tier to tiers
    name$ = Get tier name: tier
    n = Get number of intervals: tier
    for i to n
        label$ = Get label of interval: tier, i
        if label$ <> ""
            start = Get start time of interval: tier, i
            end = Get end time of interval: tier, i
            appendInfoLine: name$, tab$, fixed$(start, 4), tab$, fixed$(end, 4), tab$, label$
        endif
    endfor
endfor
"""


@pytest.mark.parametrize("short", [False, True])
def test_written_textgrid_is_read_back_by_praat_and_by_us(tmp_path, short):
    tiers = {"asr": [(0.1, 0.75, "kamuy ʔaynu"), (1.2, 2.0, 'say "hi"')], "speaker B": [(0.5, 1.0, "hunna")]}
    path = write_textgrid(tmp_path / "out.TextGrid", 2.5, tiers, short=short)
    rows = [line.split("\t") for line in run_praat(PRAAT_DUMP.format(path=path), tmp_path).strip().splitlines()]
    assert [(name, float(start), float(end), label) for name, start, end, label in rows] == [
        (name, start, end, text) for name, annotations in tiers.items() for start, end, text in annotations
    ]
    (tmp_path / "out.wav").write_bytes(b"")  # read_textgrid wants the audio beside it; not opened here
    for name, annotations in tiers.items():
        assert spans(read_textgrid(path, TierSelection(names=(name,)))) == annotations


def test_write_refuses_overlaps_and_intervals_past_the_end(tmp_path):
    with pytest.raises(AnnotationError, match="overlap"):
        write_textgrid(tmp_path / "x.TextGrid", 3.0, {"t": [(0.0, 1.0, "a"), (0.5, 1.5, "b")]})
    with pytest.raises(AnnotationError, match="after the duration"):
        write_textgrid(tmp_path / "x.TextGrid", 1.0, {"t": [(0.5, 1.5, "b")]})
    assert not list(tmp_path.iterdir())


def test_prepare_textgrid_folder(tmp_path, praat_folder):
    result = prepare_corpus(praat_folder, "textgrid", "praat", out_dir=tmp_path, selection=TierSelection(names=("words",)),
                            language="ain", progress=False)
    assert result.counts["recordings"] == 3
    assert result.counts["segments"] == 6  # two labelled intervals in each of the three TextGrids
    assert result.counts["skipped"] == 0
    rates = {Path(r.path).suffix: (r.sampling_rate, r.channels) for r in result.corpus.recordings.values()}
    assert rates == {".wav": (48000, 1), ".flac": (8000, 1), ".ogg": (48000, 2)}


def test_prepare_textgrids_whose_audio_is_in_a_media_folder(tmp_path, praat_folder):
    import shutil

    (tmp_path / "grids").mkdir()
    for path in praat_folder.iterdir():
        if path.suffix == ".TextGrid":
            shutil.copy(path, tmp_path / "grids" / path.name)
        elif path.suffix in (".wav", ".flac", ".ogg"):
            (tmp_path / "media" / "day1").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, tmp_path / "media" / "day1" / path.name)
    with pytest.raises(AnnotationError, match=r"long\.TextGrid: audio not found.*--media-dir"):
        prepare_corpus(tmp_path / "grids" / "long.TextGrid", "textgrid", "praat", out_dir=tmp_path / "out",
                       selection=TierSelection(names=("words",)), strict=True, progress=False)
    result = prepare_corpus(tmp_path / "grids", "textgrid", "praat", out_dir=tmp_path / "out", selection=TierSelection(names=("words",)),
                            media_dir=tmp_path / "media", progress=False)
    assert result.counts["segments"] == 6 and result.counts["skipped"] == 0
    assert sorted(Path(item.used).name for item in result.substitutions) == ["ascii.ogg", "long.wav", "short.flac"]
    assert {item.how for item in result.substitutions} == {"annotation file's name under --media-dir"}
