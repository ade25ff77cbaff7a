"""The Kneser-Ney estimator's ARPA files, read by KenLM, give the model's own probabilities, and they sum to 1."""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import kenlm
import pytest
from click.testing import CliRunner

from fieldasr.cli.decode import lm as lm_command
from fieldasr.decode import LanguageModelError, NgramModel, build_arpa

SUBJECTS = ["the cat", "a dog", "the old woman", "my brother", "the bird", "a child"]
VERBS = ["sat on", "saw", "walked to", "slept near", "ate", "found"]
OBJECTS = ["the mat", "the river", "a fish", "the house", "the old tree", "my brother"]


def grammar_sentences(count: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    return [
        " ".join((generator.choice(SUBJECTS), generator.choice(VERBS), generator.choice(OBJECTS)))
        + (" today" if generator.random() < 0.3 else "")
        for _ in range(count)
    ]


HELD_OUT = [
    "the cat sat on the mat",
    "a zebra walked to the river",  # an out-of-vocabulary word
    "mat the on sat cat the",  # unseen n-grams everywhere
    "my brother found my brother today",
    "today",
]


@pytest.fixture(scope="module")
def training_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lm") / "text.txt"
    path.write_text("\n".join(grammar_sentences(300, seed=0)) + "\n\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_kenlm_scores_the_arpa_as_the_model_does(training_text: Path, tmp_path: Path, order: int) -> None:
    summary = build_arpa(training_text, tmp_path / "lm.arpa", order=order)
    model = NgramModel(training_text.read_text(encoding="utf-8").splitlines(), order=order)
    kenlm_model = kenlm.Model(str(summary.path))
    assert kenlm_model.order == order == summary.order
    assert summary.sentences == 300 and summary.skipped_empty_lines == 1
    for sentence in HELD_OUT:
        assert kenlm_model.score(sentence, bos=True, eos=True) == pytest.approx(
            model.sentence_log10_probability(sentence), abs=1e-4
        )


@pytest.mark.parametrize("context", [[], ["the"], ["the", "old"], ["sat", "on", "the"], ["zebra"], ["today"]])
def test_probabilities_after_a_context_sum_to_one(training_text: Path, tmp_path: Path, context: list[str]) -> None:
    path = build_arpa(training_text, tmp_path / "lm.arpa", order=4).path
    kenlm_model = kenlm.Model(str(path))
    state, next_state = kenlm.State(), kenlm.State()
    kenlm_model.BeginSentenceWrite(state)
    for word in context:
        kenlm_model.BaseScore(state, word, next_state)
        state, next_state = next_state, state
    words = {word for sentence in grammar_sentences(300, seed=0) for word in sentence.split()} | {"</s>", "<unk>"}
    total = sum(10 ** kenlm_model.BaseScore(state, word, kenlm.State()) for word in words)
    assert total == pytest.approx(1.0, abs=1e-4)


def test_discounts_follow_chen_and_goodman(tmp_path: Path) -> None:
    generator = random.Random(1)
    words = [f"w{rank}" for rank in range(300)]
    zipf_weights = [1 / (rank + 1) for rank in range(300)]
    sentences = [" ".join(generator.choices(words, zipf_weights, k=generator.randint(3, 10))) for _ in range(400)]
    text = tmp_path / "zipf.txt"
    text.write_text("\n".join(sentences), encoding="utf-8")
    summary = build_arpa(text, tmp_path / "lm.arpa", order=3)
    assert summary.fallback_orders == ()
    # The top order uses raw trigram counts: D_k = k - (k+1) Y n_{k+1} / n_k with Y = n1 / (n1 + 2 n2).
    trigrams = Counter()
    for sentence in sentences:
        padded = ["<s>", *sentence.split(), "</s>"]
        trigrams.update(zip(padded, padded[1:], padded[2:]))
    n = Counter(trigrams.values())
    y = n[1] / (n[1] + 2 * n[2])
    expected = [k - (k + 1) * y * n[k + 1] / n[k] for k in (1, 2, 3)]
    assert summary.discounts[2] == pytest.approx(expected)


def test_tiny_text_falls_back_to_fixed_discounts_and_lowers_the_order(tmp_path: Path) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("hello\nhello world\n", encoding="utf-8")
    summary = build_arpa(text, tmp_path / "tiny.arpa", order=5)
    assert summary.order == 4  # "<s> hello world </s>" is the longest sentence: 4 tokens
    assert summary.fallback_orders == (1, 2, 3, 4)
    model = NgramModel(["hello", "hello world"], order=5)
    assert kenlm.Model(str(summary.path)).score("hello world") == pytest.approx(
        model.sentence_log10_probability("hello world"), abs=1e-4
    )


def test_bad_inputs_are_explained(tmp_path: Path) -> None:
    with pytest.raises(LanguageModelError, match="order 1"):
        NgramModel(["a b"], order=1)
    with pytest.raises(LanguageModelError, match="no words"):
        NgramModel(["", "  "], order=3)
    with pytest.raises(LanguageModelError, match="sentence 2"):
        NgramModel(["a b", "a <s> b"], order=3)
    with pytest.raises(LanguageModelError, match="not found"):
        build_arpa(tmp_path / "missing.txt", tmp_path / "lm.arpa")


def test_lm_command_writes_an_arpa_kenlm_reads(training_text: Path, tmp_path: Path) -> None:
    output = tmp_path / "models" / "lm.arpa"
    result = CliRunner().invoke(lm_command, [str(training_text), "-o", str(output), "--order", "3"])
    assert result.exit_code == 0, result.output
    assert "300 sentences" in result.output and "Skipped 1 empty lines" in result.output
    assert kenlm.Model(str(output)).order == 3
    assert not [path for path in output.parent.iterdir() if path.name != "lm.arpa"]  # no temporary left behind
