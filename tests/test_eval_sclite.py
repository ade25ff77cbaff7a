"""WER/CER and S/D/I counts agree exactly with NIST sclite on the same .trn files."""
from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from conftest import require_program
from fieldasr.eval import score
from fieldasr.eval.inputs import read_transcripts

# A small vocabulary makes ties between alignments frequent, which is where aligners disagree.
VOCABULARY = ["a", "b", "c", "ŋa", "ɛbɔ", "naïve", "kʼa", "dog", "the", "ʃi"]


def _random_utterances(seed: int, count: int) -> tuple[list[str], list[str]]:
    generator = random.Random(seed)
    references, hypotheses = [], []
    for index in range(count):
        reference = generator.choices(VOCABULARY, k=generator.choice([0, 1, 2, 3, 5, 8]))
        hypothesis = list(reference)
        for _ in range(generator.randint(0, 4)):
            action = generator.choice(["sub", "del", "ins"])
            position = generator.randint(0, len(hypothesis))
            if action == "ins" or not hypothesis:
                hypothesis.insert(position, generator.choice(VOCABULARY))
            elif action == "del":
                hypothesis.pop(min(position, len(hypothesis) - 1))
            else:
                hypothesis[min(position, len(hypothesis) - 1)] = generator.choice(VOCABULARY)
        if index % 17 == 0:
            hypothesis = []  # empty hypotheses
        references.append(" ".join(reference))
        hypotheses.append(" ".join(hypothesis))
    return references, hypotheses


def _write_trn(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(f"{text} (spk{index % 3}_utt{index:04d})\n" for index, text in enumerate(texts)), encoding="utf-8")
    return path


def _sclite_counts(ref: Path, hyp: Path, *character_options: str) -> dict[str, tuple[int, int, int, int]]:
    """Per-utterance (correct, substitutions, deletions, insertions) from `sclite -o pralign`."""
    require_program("sctk")
    command = ["sctk", "sclite", "-r", str(ref), "trn", "-h", str(hyp), "trn", "-i", "spu_id", "-e", "utf-8",
               *character_options, "-o", "pralign", "stdout"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found = re.findall(r"^id: \((\S+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)", output, flags=re.M)
    return {key: tuple(map(int, counts)) for key, *counts in found}


def _sclite_total_error_percent(ref: Path, hyp: Path, *character_options: str) -> float:
    command = ["sctk", "sclite", "-r", str(ref), "trn", "-h", str(hyp), "trn", "-i", "spu_id", "-e", "utf-8",
               *character_options, "-o", "sum", "stdout"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    row = next(line for line in output.splitlines() if "Sum/Avg" in line)
    return float(row.split("|")[3].split()[4])  # Corr Sub Del Ins Err S.Err


@pytest.mark.parametrize("unit, options", [("word", ()), ("char", ("-c",))])
def test_counts_and_rate_match_sclite(tmp_path: Path, unit: str, options: tuple[str, ...]) -> None:
    references, hypotheses = _random_utterances(seed=7, count=400)
    ref_path = _write_trn(tmp_path / "ref.trn", references)
    hyp_path = _write_trn(tmp_path / "hyp.trn", hypotheses)
    expected = _sclite_counts(ref_path, hyp_path, *options)
    result = score(read_transcripts(ref_path).texts(), read_transcripts(hyp_path).texts(), unit=unit, normaliser="none")

    assert len(expected) == len(result.utterances) == 400
    for utterance in result.utterances:
        alignment = utterance.alignment
        counts = (alignment.hits, alignment.substitutions, alignment.deletions, alignment.insertions)
        assert counts == expected[utterance.id], (utterance.id, utterance.reference, utterance.hypothesis)
    sclite_percent = _sclite_total_error_percent(ref_path, hyp_path, *options)
    assert round(100 * result.rate, 1) == pytest.approx(sclite_percent, abs=1e-9)


def test_characters_match_sclite_noascii_dh_on_text_without_ascii(tmp_path: Path) -> None:
    # `-c NOASCII DH` keeps ASCII words whole and deletes hyphens; on text with neither it splits every
    # character and drops spaces, exactly like our `char` unit (see fieldasr.eval.metrics).
    generator = random.Random(11)
    letters = "ŋɛɔʃʒθðæøœ"
    references = [" ".join("".join(generator.choices(letters, k=generator.randint(1, 4))) for _ in range(generator.randint(0, 4)))
                  for _ in range(150)]
    hypotheses = ["".join(generator.choice(letters) if generator.random() < 0.15 else c for c in text if generator.random() > 0.1)
                  for text in references]
    ref_path = _write_trn(tmp_path / "ref.trn", references)
    hyp_path = _write_trn(tmp_path / "hyp.trn", hypotheses)
    expected = _sclite_counts(ref_path, hyp_path, "-c", "NOASCII", "DH")
    result = score(read_transcripts(ref_path).texts(), read_transcripts(hyp_path).texts(), unit="char", normaliser="none")
    for utterance in result.utterances:
        alignment = utterance.alignment
        assert (alignment.hits, alignment.substitutions, alignment.deletions, alignment.insertions) == expected[utterance.id]


def test_empty_reference_and_hypothesis_edge_cases_match_sclite(tmp_path: Path) -> None:
    references = ["", "", "ŋa ɛbɔ", "the dog", "naïve"]
    hypotheses = ["", "kʼa ʃi", "", "the dog", "naive"]
    ref_path = _write_trn(tmp_path / "ref.trn", references)
    hyp_path = _write_trn(tmp_path / "hyp.trn", hypotheses)
    expected = _sclite_counts(ref_path, hyp_path)
    result = score(read_transcripts(ref_path).texts(), read_transcripts(hyp_path).texts(), normaliser="none")
    for utterance in result.utterances:
        alignment = utterance.alignment
        assert (alignment.hits, alignment.substitutions, alignment.deletions, alignment.insertions) == expected[utterance.id]
    assert result.empty_reference_insertions == 2
    assert result.utterances[0].rate is None and result.utterances[1].rate is None
    assert result.rate == pytest.approx(5 / 5)  # 2 deletions + 1 substitution + 2 insertions over 5 words
