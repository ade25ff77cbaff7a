"""The crosslingual benchmark's protocol at smoke size (`--quick`), so that the script cannot rot.

One quick run (espeak-ng speaks two seen languages and Polish) checks that every condition of the table is
trained and scored, that the report is written with its command and links the hand-written analysis beside it, and the
protocol's invariants: test texts never occur in training, the "10 min" set lies inside the "1 h" set, and
phone labels are the lexicon's pronunciations joined by word boundaries.
"""
from __future__ import annotations

import shutil

import pytest
import torch

from benchmarks import crosslingual
from benchmarks.crosslingual_protocol import label_words, split_by_text, subset
from fieldasr.data import Corpus
from fieldasr.text.vocabulary import WORD_BOUNDARY

torch.set_num_threads(1)
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is needed to synthesise the corpus")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crosslingual")
    report = folder / "crosslingual.md"
    report.write_text("old table\n", encoding="utf-8")
    (folder / "crosslingual.analysis.md").write_text("hand-written words\n", encoding="utf-8")
    rows, ssl_rows = crosslingual.main(["--quick", "--work-dir", str(folder / "work"), "--output", str(report)])
    return folder, report, rows, ssl_rows


def test_every_condition_is_trained_and_scored(quick_run):
    _, _, rows, ssl_rows = quick_run
    assert [(row.amount, row.condition) for row in rows] == [
        (amount, condition) for amount in ("small", "large") for condition in crosslingual.CONDITIONS
    ]
    for row in rows:
        assert row.steps == crosslingual.QUICK["finetune_steps"]
        assert row.scores.wer is not None and row.scores.wer >= 0
        assert (row.scores.per is None) == row.condition.startswith("subword")
        assert 0 <= row.scores.oov_rate <= 1
    assert rows[4].label_minutes > rows[0].label_minutes  # the "1 h" set is larger than the "10 min" one
    assert [row.condition for row in ssl_rows] == [
        "wav2vec2 scratch", "wav2vec2 SSL(seen) → FT", "wav2vec2 SSL(seen) + more SSL(seen) → FT", "wav2vec2 SSL(seen) + SSL(target) → FT"
    ]
    assert all(row.scores.per is not None for row in ssl_rows)


def test_report_has_command_table_machine_and_links_the_analysis(quick_run):
    folder, report, rows, _ = quick_run
    text = report.read_text(encoding="utf-8")
    assert "old table" not in text
    assert "PYTHONPATH=. python benchmarks/crosslingual.py --quick" in text
    assert "- cores: " in text and "- torch: " in text
    assert text.count("| Polish (synthetic) |") == 1 + len(rows) + 4  # its line in the Data table, the results, the sub-study
    assert "[crosslingual.analysis.md](crosslingual.analysis.md)" in text
    assert (folder / "crosslingual.analysis.md").read_text(encoding="utf-8") == "hand-written words\n"


def test_split_holds_out_test_texts_and_nests_label_sets(quick_run):
    folder, *_ = quick_run
    corpus = Corpus.load(folder / "work" / "unseen")
    labelled = label_words(subset(corpus, [s for s in corpus.segments if s.language == "pol"]), "pol")
    target = split_by_text(labelled, "pol", "Polish", test_texts=3, small_minutes=0.4, large_minutes=0.9, seed=0)
    test_texts = {segment.text for segment in target.test.segments}
    assert len(test_texts) == len(target.test.segments) == 3
    assert not test_texts & {segment.text for segment in target.large.segments}
    assert {s.id for s in target.small.segments} < {s.id for s in target.large.segments}
    for segment in target.large.segments:
        words = (segment.text or "").split()
        expected = [phone for index, word in enumerate(words) for phone in ([WORD_BOUNDARY] if index else []) + list(labelled.lexicon[word])]
        assert list(segment.phones) == expected
