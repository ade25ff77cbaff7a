"""The HTML report is self-contained and renders its plots in headless Chromium without console errors."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from fieldasr.data import Segment, write_manifest
from fieldasr.eval.html import write_html
from fieldasr.eval.report import EvaluationReport, evaluate

PHONES = ["a", "e", "i", "o", "u", "p", "t", "k", "ŋ", "ʃ", "ɛ", "ɔ"]


def _manifest(path: Path, corrupt_every: int) -> Path:
    generator = np.random.default_rng(corrupt_every)
    segments = []
    for index in range(60):
        phones = [PHONES[(index * 7 + step * 3) % len(PHONES)] for step in range(6)]
        if corrupt_every and index % corrupt_every == 0:
            phones[generator.integers(0, 6)] = PHONES[generator.integers(0, len(PHONES))]
            del phones[generator.integers(0, 5)]
        words = ["".join(phones[:3]), "".join(phones[3:])]
        segments.append(Segment(
            id=f"utt{index:03d}", recording_id=f"rec{index % 4}", start=index * 2.0, duration=1.5,
            text=" ".join(words), speaker=f"speaker{index % 3}", language=["nru", "sjw"][index % 2], phones=tuple(phones),
        ))
    write_manifest(path, segments)
    return path


@pytest.fixture(scope="module")
def page(report: EvaluationReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html(report, tmp_path_factory.mktemp("page") / "report.html")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> EvaluationReport:
    folder = tmp_path_factory.mktemp("html")
    log = folder / "train_log.csv"
    log.write_text("step,epoch,train_loss,valid_loss,valid_per,lr\n"
                   + "".join(f"{s},{s // 5},{3 / (s + 1):.3f},{3.5 / (s + 1) + 0.2:.3f},{0.9 / (1 + s / 5):.3f},0.001\n" for s in range(20)))
    return evaluate(
        _manifest(folder / "ref.jsonl", 0), [_manifest(folder / "good.jsonl", 3), _manifest(folder / "bad.jsonl", 1)],
        units=("word", "char", "phone"), resamples=200, training_log=log,
    )


def _chromium_screenshot(page: Path, screenshot: Path, profile: Path, height: int = 3000) -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("SKIPPED: chromium is not installed and could not be installed here (tools/install_system_packages.sh).")
        pytest.skip("chromium is not installed here; `make test` installs it via tools/install_system_packages.sh")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", f"--screenshot={screenshot}", f"--window-size=1200,{height}",
               page.resolve().as_uri()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stderr


def _console_messages(chromium_log: str) -> list[str]:
    return [line for line in chromium_log.splitlines() if ":CONSOLE" in line]


def test_report_has_no_external_urls(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert "http" not in without_images.lower() and "//" not in without_images
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", text)
    # Per unit: speaker, language and recording bars plus a histogram; two phone heat maps; training curves.
    assert text.count("data:image/png;base64,") == 3 * 4 + 2 + 1


def test_report_renders_plots_in_chromium_without_console_errors(page: Path, tmp_path: Path) -> None:
    log = _chromium_screenshot(page, tmp_path / "shot.png", tmp_path / "profile")
    assert _console_messages(log) == []
    pixels = matplotlib.image.imread(tmp_path / "shot.png")[..., :3]
    channels = (pixels.reshape(-1, 3) * 255).round().astype(np.int32)
    colours = np.unique(channels[:, 0] << 16 | channels[:, 1] << 8 | channels[:, 2])
    assert len(colours) > 200, f"screenshot looks blank: {len(colours)} distinct colours"


def test_console_error_detection_catches_a_broken_page(tmp_path: Path) -> None:
    # Guards the check above: a page that does log an error must be caught.
    page = tmp_path / "broken.html"
    page.write_text('<html><body><script>console.error("broken");</script></body></html>', encoding="utf-8")
    log = _chromium_screenshot(page, tmp_path / "shot.png", tmp_path / "profile", height=300)
    assert any("broken" in line for line in _console_messages(log))
