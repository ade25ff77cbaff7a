"""PER on phones made by espeak-ng, from manifests, checked against sclite on the written .trn files."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import require_program
from fieldasr.data import Segment, write_manifest
from fieldasr.eval.output import write_trn
from fieldasr.eval.report import evaluate

SENTENCES = {
    "fox": ("the quick brown fox", "the quick brown box"),
    "dog": ("over the lazy dog", "over a lazy dog"),
    "cat": ("a black cat", "black cats"),
}


def _phones(text: str) -> tuple[str, ...]:
    require_program("espeak-ng")
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", "en", text], capture_output=True, text=True, check=True)
    return tuple(phone for word in ipa.stdout.split() for phone in word.split("_") if phone)


def _manifest(path: Path, side: int) -> Path:
    segments = [Segment(key, "rec", index * 2.0, 1.5, text=texts[side], speaker="espeak", phones=_phones(texts[side]))
                for index, (key, texts) in enumerate(SENTENCES.items())]
    write_manifest(path, segments)
    return path


def test_phone_error_rate_matches_sclite(tmp_path: Path) -> None:
    require_program("sctk")
    report = evaluate(_manifest(tmp_path / "ref.jsonl", 0), [_manifest(tmp_path / "hyp.jsonl", 1)], units=("phone",), resamples=100)
    result = report.systems[0].units["phone"].result
    ref_trn, hyp_trn = write_trn(result, tmp_path / "ref.trn", tmp_path / "hyp.trn")
    sclite = subprocess.run(["sctk", "sclite", "-r", str(ref_trn), "trn", "-h", str(hyp_trn), "trn", "-i", "rm", "-s",
                             "-e", "utf-8", "-o", "pralign", "stdout"], capture_output=True, text=True, check=True).stdout
    counts = {key: tuple(map(int, rest)) for key, *rest in
              re.findall(r"^id: \((\S+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)", sclite, flags=re.M)}
    for utterance in result.utterances:
        a = utterance.alignment
        assert (a.hits, a.substitutions, a.deletions, a.insertions) == counts[utterance.id]
    assert ("f", "b", 1) in report.systems[0].units["phone"].analysis.confusions  # fox -> box
    assert result.reference_length == sum(len(_phones(texts[0])) for texts in SENTENCES.values())
