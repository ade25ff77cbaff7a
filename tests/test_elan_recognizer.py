"""fieldasr as an ELAN recognizer, end to end without ELAN: the folder `fieldasr elan-recognizer` writes is run
as ELAN runs it (`./run.sh` in the folder, empty environment, the PARAM XML on standard input exactly as ELAN's
LocalRecognizer writes it), with paths holding spaces, '&' and non-ASCII letters."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import torch
from click.testing import CliRunner

from fieldasr.bundle import export_bundle
from fieldasr.cli import cli
from fieldasr.elan_recognizer.folder import recognizer_identifier, write_recognizer_folder
from fieldasr.elan_recognizer.protocol import RecognizerError, parse_call, read_tier
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.vad import detect_speech
from test_transcribe import recording_with_pauses
from test_transcribe_bundle import LETTERS

CMD = "{http://www.clarin.eu/cmd/}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny bundle (with lexicon and LM), its recognizer folder written by the CLI under a path like ELAN's,
    and a recording of three phrases in a folder whose name needs escaping."""
    root = tmp_path_factory.mktemp("recognizer")
    torch.manual_seed(0)
    (root / "lexicon.txt").write_text("kamuy k a m u\nsinot s i n o t\n", encoding="utf-8")
    from fieldasr.decode import build_arpa

    (root / "text.txt").write_text("kamuy sinot\nsinot kamuy kamuy\n", encoding="utf-8")
    build_arpa(root / "text.txt", root / "lm.arpa", order=2)
    bundle = export_bundle(root / "ainu bundle", ConformerCTC(TINY_CONFORMER, len(LETTERS)).eval(), LETTERS,
                           label_unit="characters", lexicon=root / "lexicon.txt", language_model=root / "lm.arpa")
    folder = root / "ELAN_6-8" / "app" / "extensions" / "fieldasr Ainu é"
    result = CliRunner().invoke(cli, ["elan-recognizer", str(bundle), "--out", str(folder), "--name", "Ainu (tiny)"])
    assert result.exit_code == 0, result.output
    recordings = root / "Aufnahmen für Ainu & Co"
    recordings.mkdir()
    audio = recording_with_pauses(root, "phrases", ["kamuy sinot", "sinot kamuy", "kamuy kamuy"])
    return bundle, folder, Path(shutil.copy(audio, recordings / "Sitzung ä 1.wav"))


def elan_call(source: Path, **params: Path | str | None) -> bytes:
    """The PARAM XML as ELAN's LocalRecognizer writes it: one line per parameter, file paths XML-escaped, an
    empty element for an optional input left out."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<PARAM xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="file:avatech-call.xsd">',
             '<param name="InvocationContext">fieldasr_Ainu_tiny 2026-12-02 10:15:00+0100</param>',
             f'<param name="source">{escape(str(source))}</param>']
    lines += [f'<param name="{name}">{"" if value is None else escape(str(value))}</param>' for name, value in params.items()]
    return ("\n".join(lines + ["</PARAM>"]) + "\n").encode("utf-8")


def run_like_elan(folder: Path, call: bytes) -> tuple[int, list[str]]:
    completed = subprocess.run(["env", "-i", "./run.sh"], cwd=folder, input=call, capture_output=True, timeout=300)
    return completed.returncode, completed.stdout.decode("utf-8").splitlines()


def progress_values(lines: list[str]) -> list[float]:
    return [float(line.split()[1]) for line in lines if line.startswith("PROGRESS:")]


def tier_file(path: Path, spans: list[tuple[float, float, str]]) -> Path:
    body = "".join(f'<span start="{start:.3f}" end="{end:.3f}"><v>{escape(text)}</v></span>\n' for start, end, text in spans)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<TIER xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                    f'xsi:noNamespaceSchemaLocation="file:avatech-tier.xsd" columns="Phrase">\n{body}</TIER>\n', encoding="utf-8")
    return path


def test_the_cmdi_describes_a_local_recognizer_as_elan_reads_it(setup):
    _, folder, _ = setup
    [cmdi] = folder.glob("*.cmdi")
    root = ET.parse(cmdi).getroot()
    assert root.tag == f"{CMD}CMD" and root.get("CMDVersion") == "1.1"
    recognizer = root.find(f"{CMD}Components/{CMD}RECOGNIZER")
    element = recognizer.find(f"{CMD}recognizer")
    assert element.get("recognizerType") == "local" and element.get("runLinux") == "./run.sh" and element.get("runMac") == "./run.sh"
    assert element.get("runWin") == "cmd.exe /c run.bat" and element.text == "fieldasr_Ainu_tiny" == cmdi.stem
    assert element.get("info") == "fieldasr: Ainu (tiny)" and recognizer_identifier("Māori demo") == "fieldasr_Maori_demo"
    assert recognizer.findtext(f"{CMD}documentation") == "help.html" and (folder / "help.html").is_file()
    inputs = {e.text: e.attrib for e in recognizer.findall(f"{CMD}input")}
    assert inputs["source"]["type"] == "audio" and inputs["source"]["optional"] == "false"
    assert {inputs[name]["type"] for name in ("segmentation", "transcriptions")} == {"tier"}
    params = {e.text: e.get("convoc").split() for e in recognizer.findall(f"{CMD}textparam")}
    assert params == {"decoder": ["greedy", "beam"], "units": ["phones", "words", "both"]}  # the bundle has a lexicon and LM
    assert [e.text for e in recognizer.findall(f"{CMD}output")] == ["phone_tier", "word_tier", "confidence_tier"]
    assert (folder / "run.bat").read_bytes().count(b"\r\n") > 10 and (folder / "bundle" / "bundle.json").is_file()


def test_segmentation_tier_gives_one_span_per_segment_with_speech(setup, tmp_path):
    _, folder, audio = setup
    first, second, third = detect_speech(audio)
    segments = [(first.start, first.end), (first.end + 0.3, second.start - 0.3), (second.start, second.end), (third.start, third.end)]
    segmentation = tier_file(tmp_path / "Phrase ä.xml", [(start, end, "") for start, end in segments])
    done = tier_file(tmp_path / "transcribed.xml", [(third.start + 0.1, third.end - 0.1, "kamuy kamuy")])
    done_before = done.read_bytes()
    out = tmp_path / "ELAN tmp ü"
    out.mkdir()
    code, lines = run_like_elan(folder, elan_call(audio, segmentation=segmentation, transcriptions=done, decoder="beam", units="both",
                                                  phone_tier=out / "phones.xml", word_tier=out / "words.xml",
                                                  confidence_tier=out / "confidence.xml"))
    assert code == 0 and lines[-1] == "RESULT: DONE.", "\n".join(lines)
    values = progress_values(lines)
    assert len(values) >= 5 and values == sorted(values) and len(set(values)) == len(values) and values[-1] < 1.0
    assert len([line for line in lines if line.startswith("PROGRESS:") and line.endswith("transcribing")]) >= 2  # after VAD, after decoding
    for name in ("phones.xml", "words.xml", "confidence.xml"):
        root = ET.parse(out / name).getroot()
        assert root.tag == "TIER" and root.get("columns")
        spans = [(float(span.get("start")), float(span.get("end"))) for span in root.iter("span")]
        # the silent segment gets nothing, the transcribed one is skipped: the two others, with exactly their times
        assert spans == [(round(start, 3), round(end, 3)) for start, end in (segments[0], segments[2])], name
    words = [span.findtext("v") for span in ET.parse(out / "words.xml").getroot().iter("span")]
    assert all(set(text.split()) <= {"kamuy", "sinot"} for text in words)  # beam search keeps to the lexicon
    confidences = [float(span.findtext("v")) for span in ET.parse(out / "confidence.xml").getroot().iter("span")]
    assert len(confidences) == 2 and all(0.0 <= value <= 1.0 for value in confidences)
    assert done.read_bytes() == done_before
    assert any("1 already transcribed, skipped" in line for line in lines), "\n".join(lines)


def test_without_segmentation_the_speech_is_found_and_only_the_word_tier_written(setup, tmp_path):
    _, folder, audio = setup
    regions = detect_speech(audio)
    done = tier_file(tmp_path / "transcribed.xml", [(regions[1].start + 0.1, regions[1].end - 0.1, "sinot kamuy")])
    code, lines = run_like_elan(folder, elan_call(audio, segmentation=None, transcriptions=done, decoder="greedy", units="words",
                                                  phone_tier=tmp_path / "phones.xml", word_tier=tmp_path / "words.xml"))
    assert code == 0 and lines[-1] == "RESULT: DONE.", "\n".join(lines)
    assert not (tmp_path / "phones.xml").exists()
    spans = read_tier(tmp_path / "words.xml")
    assert len(regions) == 3 and len(spans) == 2  # the speech already transcribed is left out
    for (start, end, _), region in zip(spans, (regions[0], regions[2])):
        assert region.start - 0.001 <= start < end <= region.end + 0.001
    assert any("1 overlapping existing transcriptions left out" in line for line in lines), "\n".join(lines)
    values = progress_values(lines)
    assert values == sorted(values) and values[-1] < 1.0


def test_a_corrupted_bundle_fails_with_a_readable_message(setup, tmp_path):
    bundle, _, audio = setup
    folder = write_recognizer_folder(bundle, tmp_path / "broken recognizer").path
    weights = folder / "bundle" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    code, lines = run_like_elan(folder, elan_call(audio, phone_tier=tmp_path / "phones.xml"))
    assert code == 1 and lines[-1] == "RESULT: FAILED.", "\n".join(lines)
    assert "model.safetensors is truncated" in lines[-2] and lines[-2].startswith("fieldasr: "), "\n".join(lines)
    assert "Traceback" not in "\n".join(lines) and not (tmp_path / "phones.xml").exists()


def test_no_python_with_fieldasr_fails_saying_what_to_do(setup, tmp_path):
    bundle, _, audio = setup
    fake = tmp_path / "python-without-fieldasr"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    folder = write_recognizer_folder(bundle, tmp_path / "recognizer", python=fake, fallback_pythons=()).path
    code, lines = run_like_elan(folder, elan_call(audio, phone_tier=tmp_path / "phones.xml"))
    assert code == 1 and lines[-1] == "RESULT: FAILED.", "\n".join(lines)
    assert "no Python with fieldasr installed was found" in lines[-2] and str(fake) in lines[-2]
    assert lines[-2].endswith("fieldasr elan-recognizer BUNDLE --out FOLDER --overwrite")  # the fix, echoed as written


@pytest.mark.parametrize("params, message", [
    ({"phone_tier": None, "word_tier": None}, "no output file was given"),
    ({"units": "syllables", "word_tier": "w.xml"}, "units 'syllables'"),
    ({"word_tier": "w.xml", "units": "phones"}, "no output file was given for the phone tier"),
])
def test_calls_that_cannot_be_carried_out_are_explained(params, message):
    with pytest.raises(RecognizerError, match=message):
        parse_call(elan_call(Path("rec.wav"), **params))


def test_elan_tier_times_in_milliseconds_and_csv_are_read(tmp_path):
    (tmp_path / "ms.xml").write_text('<TIER columns="x"><span start="1250" end="2810"><v>a</v></span></TIER>', encoding="utf-8")
    (tmp_path / "tier.csv").write_text('"#starttime";"#endtime";"tier_1"\n"1.250";"2.810";"a b"\n', encoding="utf-8")
    assert read_tier(tmp_path / "ms.xml") == [(1.25, 2.81, "a")]
    assert read_tier(tmp_path / "tier.csv") == [(1.25, 2.81, "a b")]
