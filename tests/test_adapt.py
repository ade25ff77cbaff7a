"""`fieldasr adapt`: fine-tuning a bundle on a fieldworker's corrections in ELAN, from espeak-ng speech and a tiny model.

The corrections are the same few sentences spoken in three voices, one .eaf per recording; the held-out part
then holds sentences the model heard in another voice, which a tiny model can learn in a few dozen steps."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from conftest import speak

from fieldasr.audio import audio_info
from fieldasr.bundle import export_bundle, load_bundle
from fieldasr.data.corrections import UNCHANGED, read_corrections
from fieldasr.data.elan_write import write_new_eaf
from fieldasr.g2p import load_spec
from fieldasr.g2p.pipeline import get_g2p
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary
from fieldasr.train.adapt import AdaptOptions, adapt_bundle

torch.set_num_threads(1)
SENTENCES = ["the cat sat on the mat", "a big dog ran home", "ten men came in", "put it in the box"]
VOICES = ["en", "en-us", "en+m3"]
WORKER = Path(__file__).parent / "adapt_kill_worker.py"


def hand_made_eaf(path: Path, audio: Path, tier: str, annotations: list[tuple[float, float, str]]) -> Path:
    """An .eaf as pympi-ling writes it: a tier with no fieldasr mark (transcribed by hand)."""
    import pympi

    eaf = pympi.Elan.Eaf(author="fieldworker")
    eaf.add_linked_file(str(audio), relpath=audio.name, mimetype="audio/x-wav")
    eaf.add_tier(tier)
    for start, end, text in annotations:
        eaf.add_annotation(tier, round(start * 1000), round(end * 1000), text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pympi.Elan.to_eaf(str(path), eaf)
    return path


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode() + (path.read_bytes() if path.is_file() else b"/"))
    return digest.hexdigest()


@pytest.fixture(scope="module")
def corrected_session(tmp_path_factory) -> tuple[Path, list[Path]]:
    """A random tiny phone bundle with the English G2P spec, and one hand-transcribed .eaf per recording."""
    folder = tmp_path_factory.mktemp("adapt")
    phones = get_g2p("en").phonemize(SENTENCES, word_boundaries=True).phones
    vocabulary = Vocabulary.build(phones)
    torch.manual_seed(0)
    bundle = export_bundle(folder / "bundle", ConformerCTC(TINY_CONFORMER, len(vocabulary)), vocabulary, label_unit="phones",
                           language="en", g2p_spec=load_spec("en").path)
    eafs = []
    for voice in VOICES:
        for number, sentence in enumerate(SENTENCES):
            audio = speak(sentence, folder / f"{voice.replace('+', '-')}-{number}.wav", voice=voice)
            eafs.append(hand_made_eaf(audio.with_suffix(".eaf"), audio, "transcription", [(0.0, audio_info(audio).duration, sentence)]))
    return bundle, eafs


def test_adapt_lowers_the_error_rate_on_held_out_corrections_and_leaves_the_bundle_alone(corrected_session, tmp_path):
    bundle, eafs = corrected_session
    before = folder_digest(bundle)
    options = AdaptOptions(steps=60, lr=3e-3, held_out_fraction=0.25, max_batch_seconds=8.0, checkpoint_every_steps=30, progress_bar=False)
    result = adapt_bundle(bundle, eafs, "transcription", tmp_path / "adapted", options)
    assert result.trained_on + result.held_out == len(eafs) and result.held_out >= 1 and result.replayed == 0
    assert result.error_rate_after < 0.8 * result.error_rate_before, result.report()
    assert result.error_rate_after < 0.9
    assert "no replay" in result.report()
    assert folder_digest(bundle) == before
    adapted = load_bundle(tmp_path / "adapted")
    assert adapted.vocabulary == load_bundle(bundle).vocabulary and adapted.g2p_spec is not None


def test_unchanged_fieldasr_output_is_not_a_correction_and_an_edited_annotation_is(corrected_session, tmp_path):
    _, eafs = corrected_session
    audio = Path(str(eafs[0]).replace(".eaf", ".wav"))
    eaf = write_new_eaf(tmp_path / "asr.eaf", audio, {"asr": [(0.0, 0.4, "ðə kæt"), (0.5, 0.9, "sæt"), (1.0, 1.3, "")]})
    unchanged = read_corrections([eaf], "asr")
    assert unchanged.annotations == () and unchanged.skipped == {UNCHANGED: 3}
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">sæt<", ">sat on<"), encoding="utf-8")
    edited = read_corrections([eaf], "asr")
    assert [(a.start, a.end, a.text) for a in edited.annotations] == [(0.5, 0.9, "sat on")]
    assert edited.skipped == {UNCHANGED: 2}
    hand = read_corrections(eafs[:2], "transcription")
    assert [a.text for a in hand.annotations] == SENTENCES[:2] and hand.skipped == {}
    assert hand.annotations[0].audio == audio


def test_a_killed_adaptation_continues_from_its_checkpoint(corrected_session, tmp_path):
    bundle, eafs = corrected_session
    arguments = [str(bundle), *map(str, eafs), "--tier", "transcription", "--out", str(tmp_path / "adapted"),
                 "--steps", "24", "--lr", "0.003", "--batch-seconds", "8"]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "OMP_NUM_THREADS": "1"}
    log = tmp_path / "batches.log"
    process = subprocess.Popen([sys.executable, str(WORKER), str(log), *arguments], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = tmp_path / "adapted.work" / "checkpoints"
    deadline = time.time() + 600  # a loaded machine imports torch slowly
    while not any(checkpoints.glob("CKPT+*")) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    batches = len(log.read_text().splitlines()) if log.exists() else 0
    while log.exists() and len(log.read_text().splitlines()) <= batches and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)  # the next batch has begun: the checkpoint is written, and the worker pauses in the batch
    assert process.poll() is None, process.stderr.read().decode()[-2000:]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "adapted").exists()

    from click.testing import CliRunner

    from fieldasr.cli import cli

    rerun = CliRunner().invoke(cli, ["adapt", *arguments], catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    assert "24 steps (resumed at step" in rerun.output
    assert load_bundle(tmp_path / "adapted").vocabulary == load_bundle(bundle).vocabulary


def test_bad_speed_factors_are_refused_before_any_work(tmp_path):
    from click.testing import CliRunner

    from fieldasr.cli import cli

    result = CliRunner().invoke(cli, ["adapt", str(tmp_path), "session.eaf", "--tier", "asr", "--out", str(tmp_path / "adapted"),
                                      "--speed-factors", "0.9,fast"])
    assert result.exit_code == 2 and "--speed-factors" in result.output and "0.9,1.0,1.1" in result.output
    assert not (tmp_path / "adapted").exists() and "Traceback" not in result.output
