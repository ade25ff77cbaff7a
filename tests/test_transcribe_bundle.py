"""The fieldworker's commands with a real (tiny, random) bundle: transcribe into ELAN at every precision, and
tune the beam decoder on a dev manifest."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from fieldasr.bundle import export_bundle
from fieldasr.cli import cli
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.audio import audio_info
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary
from test_elan import FIXTURE, canonical_parts, pympi_tier
from test_transcribe import recording_with_pauses

torch.set_num_threads(1)
LETTERS = Vocabulary(tuple("<blank> <unk> | a e i o u k m n r s t".split()))


@pytest.fixture(scope="module")
def bundle_and_audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    torch.manual_seed(0)
    model = ConformerCTC(TINY_CONFORMER, len(LETTERS)).eval()
    (folder / "lexicon.txt").write_text("kamuy k a m u\nsinot s i n o t\n", encoding="utf-8")
    (folder / "text.txt").write_text("kamuy sinot\nsinot kamuy kamuy\n", encoding="utf-8")
    from fieldasr.decode import build_arpa

    build_arpa(folder / "text.txt", folder / "lm.arpa", order=2)
    bundle = export_bundle(folder / "bundle", model, LETTERS, label_unit="characters",
                           lexicon=folder / "lexicon.txt", language_model=folder / "lm.arpa")
    audio = recording_with_pauses(folder, "session", ["kamuy sinot", "sinot kamuy"])
    return bundle, audio


def two_phrases(audio: Path) -> Corpus:
    """A manifest of the two spoken phrases of the fixture recording."""
    recording = Recording.from_audio("session", audio)
    segments = (Segment(id="s1", recording_id="session", start=0.3, duration=1.5, text="kamuy sinot"),
                Segment(id="s2", recording_id="session", start=2.0, duration=1.5, text="sinot kamuy"))
    return Corpus({"session": recording}, segments)


def run_fieldasr(monkeypatch, capsys, *argv) -> tuple[int, str]:
    """The `fieldasr` command as a user runs it (exit code 2 for a refused run), with its printed output."""
    from fieldasr.cli import main

    monkeypatch.setattr(sys, "argv", ["fieldasr", *map(str, argv)])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = 0 if exit_.code is None else int(exit_.code)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def run(*arguments: str):
    result = CliRunner().invoke(cli, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_transcribe_cli_writes_an_elan_file_at_each_precision(bundle_and_audio, tmp_path, precision):
    bundle, audio = bundle_and_audio
    output = run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path), "--precision", precision)
    assert "1 written" in output
    eaf = tmp_path / "session.eaf"
    segments = pympi_tier(eaf, "fieldasr")
    assert len(segments) == 2  # one per spoken phrase, found by VAD
    assert all(0 <= start < end <= audio_info(audio).duration * 1000 for start, end, _ in segments)
    again = run("transcribe", str(bundle), str(audio), "--out-dir", str(tmp_path))
    assert "0 written, 1 already done" in again


def test_transcribe_cli_beam_into_existing_eaf(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    shutil.copy(audio, tmp_path / "session.wav")
    run("transcribe", str(bundle), str(tmp_path / "session.wav"), "--into", str(eaf), "--tier", "asr", "--decoder", "beam")
    before, after = canonical_parts(tmp_path / "session.eaf.bak"), canonical_parts(eaf)
    assert after["TIER"][: len(before["TIER"])] == before["TIER"]
    words = {text for _, _, text in pympi_tier(eaf, "asr-words")}
    assert words <= {"kamuy", "sinot"}  # the lexicon constrains beam search to its words


def test_read_only_eaf_is_reported_and_left_untouched(bundle_and_audio, tmp_path, monkeypatch, capsys):
    bundle, audio = bundle_and_audio
    eaf = Path(shutil.copy(FIXTURE, tmp_path / "session.eaf"))
    shutil.copy(audio, tmp_path / "session.wav")
    eaf.chmod(0o444)
    original = eaf.read_bytes()
    code, output = run_fieldasr(monkeypatch, capsys, "transcribe", bundle, tmp_path / "session.wav", "--into", eaf)
    assert code == 2 and "session.eaf: the file is read-only" in output and "chmod u+w" in output
    assert eaf.read_bytes() == original and sorted(p.name for p in tmp_path.iterdir()) == ["session.eaf", "session.wav"]


def test_tune_on_a_dev_manifest_with_the_bundle(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    two_phrases(audio).save(tmp_path / "dev")
    output = run("tune", "--bundle", str(bundle), "--dev", str(tmp_path / "dev"), "--lm-weights", "0,1",
                 "--word-scores", "0", "--beam-size", "8", "-o", str(tmp_path / "grid.json"))
    grid = json.loads((tmp_path / "grid.json").read_text())
    assert len(grid["grid"]) == 2 and "Best on 2 utterances" in output


def test_decode_a_manifest_then_evaluate_it(bundle_and_audio, tmp_path):
    bundle, audio = bundle_and_audio
    two_phrases(audio).save(tmp_path / "test")
    run("decode", str(bundle), str(tmp_path / "test"), "--out", str(tmp_path / "hyp"), "--decoder", "beam")
    hypotheses = Corpus.load(tmp_path / "hyp")
    assert [s.id for s in hypotheses.segments] == ["s1", "s2"]
    assert all(set((s.text or "").split()) <= {"kamuy", "sinot"} for s in hypotheses.segments)
    output = run("evaluate", "--ref", str(tmp_path / "test"), "--hyp", str(tmp_path / "hyp"), "--out", str(tmp_path / "report"))
    assert (tmp_path / "report" / "report.html").is_file() and "WER" in output


def test_acceptance_a_hand_transcription_is_never_lost(bundle_and_audio, tmp_path, monkeypatch, capsys):
    """Issue #12: `--into rec.eaf --tier <hand tier>` is refused (twice, nothing written, no model loaded); with
    --replace-tier the hand tier survives in the backup; a rerun is skipped; --overwrite keeps the first backup."""
    import fieldasr.bundle

    bundle, audio = bundle_and_audio
    eaf, wav = Path(shutil.copy(FIXTURE, tmp_path / "rec.eaf")), Path(shutil.copy(audio, tmp_path / "rec.wav"))
    original, load_bundle = eaf.read_bytes(), fieldasr.bundle.load_bundle
    command = ["transcribe", bundle, wav, "--into", eaf, "--tier", "tx@B"]

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded although there was nothing to transcribe")

    monkeypatch.setattr(fieldasr.bundle, "load_bundle", no_model)
    for _ in range(2):
        code, output = run_fieldasr(monkeypatch, capsys, *command)
        assert code == 2 and "Traceback" not in output
        assert "rec.eaf: tier 'tx@B' (1 annotation, not written by fieldasr)" in output and "--replace-tier tx@B" in output
        assert eaf.read_bytes() == original and sorted(p.name for p in tmp_path.iterdir()) == ["rec.eaf", "rec.wav"]

    monkeypatch.setattr(fieldasr.bundle, "load_bundle", load_bundle)
    code, output = run_fieldasr(monkeypatch, capsys, *command, "--replace-tier", "tx@B")
    assert code == 0 and "1 written" in output, output
    first_backup = tmp_path / "rec.eaf.bak"
    assert first_backup.read_bytes() == original
    assert pympi_tier(first_backup, "tx@B") == [(1000, 2000, "hunna & ene")]  # the hand transcription, byte for byte above
    assert pympi_tier(eaf, "tx@B") != pympi_tier(first_backup, "tx@B")
    before, after = canonical_parts(first_backup), canonical_parts(eaf)
    assert [p for p in after["TIER"] if 'TIER_ID="tx@B' not in p] == [p for p in before["TIER"] if 'TIER_ID="tx@B"' not in p]

    monkeypatch.setattr(fieldasr.bundle, "load_bundle", no_model)
    written = eaf.read_bytes()
    for extra in (["--replace-tier", "tx@B"], []):
        code, output = run_fieldasr(monkeypatch, capsys, *command, *extra)
        assert code == 0 and "0 written, 1 already done (skipped)" in output, output
        assert eaf.read_bytes() == written and not (tmp_path / "rec.eaf.bak2").exists()

    monkeypatch.setattr(fieldasr.bundle, "load_bundle", load_bundle)
    code, output = run_fieldasr(monkeypatch, capsys, *command, "--overwrite")
    assert code == 0 and "1 written" in output, output
    assert first_backup.read_bytes() == original and (tmp_path / "rec.eaf.bak2").read_bytes() == written
    code, output = run_fieldasr(monkeypatch, capsys, "tiers", eaf)
    assert [line.split()[-2:] for line in output.splitlines() if line.startswith("tx@")] == [["0.200-4.800", "no"], ["yes,", "unedited"],
                                                                                            ["yes,", "unedited"]]


def test_bundle_normaliser_reaches_lm_text_and_lexicon_words(tmp_path):
    """A bundle records its labels' normaliser; `fieldasr lm --bundle` and beam decoding apply it where text enters."""
    from fieldasr.bundle import load_bundle
    from fieldasr.transcribe.bundle_model import beam_decoder_for
    from fieldasr.transcribe.engine import TranscribeOptions

    torch.manual_seed(0)
    (tmp_path / "lexicon.txt").write_text(";; by hand\nKamuy\tk a m u\nSINOT\ts i n o t |\n", encoding="utf-8")
    bundle_dir = export_bundle(tmp_path / "bundle", ConformerCTC(TINY_CONFORMER, len(LETTERS)), LETTERS,
                               label_unit="characters", normaliser="default", lexicon=tmp_path / "lexicon.txt")
    (tmp_path / "text.txt").write_text("Kamuy, sinot!\nSINOT kamuy kamuy.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lm", str(tmp_path / "text.txt"), "-o", str(tmp_path / "lm.arpa"), "--bundle", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    arpa = (tmp_path / "lm.arpa").read_text(encoding="utf-8")
    assert "\tkamuy" in arpa and "\tsinot" in arpa and "Kamuy" not in arpa and "sinot!" not in arpa
    decoder = beam_decoder_for(load_bundle(bundle_dir), TranscribeOptions(decoder="beam"), 1.0, 0.0, 10)
    assert decoder.lexicon.words == ("kamuy", "sinot")


PHONES = Vocabulary(tuple("<blank> <unk> | a i k m n o s t u".split()))


class ScriptedPhoneModel:
    """Emits a fixed phone script over each segment: two words, then a word cut off by the segment's end."""

    vocabulary, unit = PHONES, "phones"
    script = "k a m u | s i n o t | s i".split()

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor):
        frames = lengths // 320
        logits = torch.full((len(waveforms), int(frames.max()), len(PHONES)), -10.0)
        logits[..., 0] = 0.0
        for row, count in enumerate(frames.tolist()):
            step = count // len(self.script)
            for position, phone in enumerate(self.script):
                logits[row, position * step: position * step + step - 1, PHONES.index(phone)] = 10.0  # then a blank
        return logits.log_softmax(-1), frames


def test_beam_words_tier_holds_the_beam_words_spelled_by_their_phones(tmp_path):
    """The ELAN words tier of `--decoder beam` names the beam's words (not their phones), one per word of the
    segment tier, and each word's phones are its lexicon pronunciation: the tiers agree."""
    from fieldasr.bundle import load_bundle
    from fieldasr.decode import build_arpa
    from fieldasr.transcribe import Transcriber, TranscribeOptions, transcribe_paths
    from fieldasr.transcribe.bundle_model import beam_decoder_for

    (tmp_path / "lexicon.txt").write_text("kamuy\tk a m u\nsinot\ts i n o t\nsinna\ts i n n a\n", encoding="utf-8")
    (tmp_path / "text.txt").write_text("kamuy sinot\nsinot kamuy sinna\n", encoding="utf-8")
    build_arpa(tmp_path / "text.txt", tmp_path / "lm.arpa", order=2)
    bundle = load_bundle(export_bundle(tmp_path / "bundle", ConformerCTC(TINY_CONFORMER, len(PHONES)), PHONES,
                                       lexicon=tmp_path / "lexicon.txt", language_model=tmp_path / "lm.arpa"))
    audio = recording_with_pauses(tmp_path, "session", ["kamuy sinot", "sinot kamuy"])
    options = TranscribeOptions(decoder="beam")
    transcriber = Transcriber(ScriptedPhoneModel(), options, beam_decoder_for(bundle, options, 1.0, 0.0, 20))
    transcript = transcriber.transcribe(audio)
    assert transcript.segments and all(segment.text == "kamuy sinot" for segment in transcript.segments)
    pronunciation = {"kamuy": "k a m u", "sinot": "s i n o t"}
    for segment in transcript.segments:
        assert [word.word for word in segment.words] == ["kamuy", "sinot"]
        assert [" ".join(token.token for token in word.tokens) for word in segment.words] == ["k a m u", "s i n o t"]
    transcribe_paths([audio], transcriber, "eaf", out_dir=tmp_path / "out", show_progress=False)
    segments = pympi_tier(tmp_path / "out/session.eaf", "fieldasr")
    words = pympi_tier(tmp_path / "out/session.eaf", "fieldasr-words")
    assert [text for *_, text in words] == [word for *_, text in segments for word in text.split()]
    assert all(any(start <= word_start and word_end <= end for start, end, _ in segments) for word_start, word_end, _ in words)
    assert set(pronunciation) == {text for *_, text in words}
