"""Lexicon + n-gram beam search resolves acoustically ambiguous words to in-lexicon, LM-preferred ones."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import kenlm
import pytest
import torch
from decode_synthetic import LETTER_VOCABULARY, PEAK, letters, synthetic_emission
from phonemizer import phonemize
from phonemizer.separator import Separator

from fieldasr.decode import (
    BeamDecoder,
    DecodingError,
    arpa_words,
    build_arpa,
    build_lexicon,
    ctc_log_likelihoods,
    greedy_decode,
    spelling_lexicon,
)
from fieldasr.text.vocabulary import Vocabulary

torch.set_num_threads(1)

LM_TEXT = ["the cat sat on the mat"] * 5 + ["the dog sat on the mat"] * 3 + ["a baby slept in the cot"]
# "c?t": the vowel's frames favour "o" a little, so acoustics alone say "cot".
A_OR_O = {"a": PEAK, "o": PEAK + 0.7}


@pytest.fixture(scope="module")
def arpa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("beam")
    (folder / "text.txt").write_text("\n".join(LM_TEXT) + "\n", encoding="utf-8")
    return build_arpa(folder / "text.txt", folder / "lm.arpa", order=3).path


def ambiguous_cat(sentence: str = "the cat sat") -> torch.Tensor:
    labels = letters(sentence)
    vowel = labels.index("c") + 1
    return synthetic_emission(labels, LETTER_VOCABULARY, seed=1, ambiguous={vowel: A_OR_O}).log_probs.unsqueeze(0)


def test_lexicon_forces_the_in_lexicon_word() -> None:
    emission = ambiguous_cat()
    assert greedy_decode(emission, LETTER_VOCABULARY)[0].text == "the cot sat"
    lexicon = spelling_lexicon(["the", "cat", "sat", "dog"], LETTER_VOCABULARY)  # no "cot"
    (best,) = BeamDecoder(LETTER_VOCABULARY, lexicon, beam_size=20).decode(emission)[0]
    assert best.words == ("the", "cat", "sat")
    assert best.tokens == tuple(letters("the cat sat"))


def test_language_model_picks_the_likely_word_among_lexicon_words(arpa: Path) -> None:
    lexicon = spelling_lexicon(arpa_words(arpa), LETTER_VOCABULARY)
    assert {"cat", "cot"} <= set(lexicon.words)
    without_lm = BeamDecoder(LETTER_VOCABULARY, lexicon, arpa, lm_weight=0.0, beam_size=20)
    assert without_lm.decode(ambiguous_cat())[0][0].text == "the cot sat"
    with_lm = without_lm.with_weights(lm_weight=2.0, word_score=0.0)
    assert with_lm.decode(ambiguous_cat())[0][0].text == "the cat sat"


def test_nbest_lists_alternatives_best_first_with_rescoring_parts(arpa: Path) -> None:
    lexicon = spelling_lexicon(arpa_words(arpa), LETTER_VOCABULARY)
    decoder = BeamDecoder(LETTER_VOCABULARY, lexicon, arpa, lm_weight=0.5, beam_size=20, nbest=5)
    emission = ambiguous_cat()
    hypotheses = decoder.decode(emission, score_parts=True)[0]
    texts = [hypothesis.text for hypothesis in hypotheses]
    assert {"the cat sat", "the cot sat"} <= set(texts) and len(set(texts)) == len(texts)
    scores = [hypothesis.score for hypothesis in hypotheses]
    assert scores == sorted(scores, reverse=True)
    reference_lm = kenlm.Model(str(arpa))
    for hypothesis in hypotheses:
        assert hypothesis.lm_log10_probability == pytest.approx(reference_lm.score(hypothesis.text), abs=1e-4)
        expected = ctc_log_likelihoods(emission[0], [hypothesis.token_ids])[0]
        assert hypothesis.acoustic_log_likelihood == pytest.approx(expected)
    by_text = {hypothesis.text: hypothesis for hypothesis in hypotheses}
    # Acoustics favour "cot" and the LM favours "cat": the parts must say so separately.
    assert by_text["the cot sat"].acoustic_log_likelihood > by_text["the cat sat"].acoustic_log_likelihood
    assert by_text["the cat sat"].lm_log10_probability > by_text["the cot sat"].lm_log10_probability


def test_ctc_log_likelihood_equals_brute_force_sum_over_alignments() -> None:
    generator = torch.Generator().manual_seed(0)
    emission = torch.randn(5, 3, generator=generator).log_softmax(dim=-1)  # labels: blank, a, b
    for target in [(1,), (1, 2), (1, 1), (2, 1, 2), ()]:
        total = 0.0
        for path in itertools.product(range(3), repeat=5):
            collapsed = [
                label for index, label in enumerate(path) if label != 0 and (index == 0 or path[index - 1] != label)
            ]
            if tuple(collapsed) == target:
                total += math.exp(sum(float(emission[frame, label]) for frame, label in enumerate(path)))
        assert ctc_log_likelihoods(emission, [target])[0] == pytest.approx(math.log(total), abs=1e-4)


def espeak_lexicon(words: list[str]) -> dict[str, tuple[str, ...]]:
    """Pronunciations from espeak-ng, as the G2P module would give them: word -> phones."""
    separator = Separator(phone=" ", word=None, syllable=None)
    phones = phonemize(words, language="en-us", backend="espeak", separator=separator, strip=True)
    return {word: tuple(pronunciation.split()) for word, pronunciation in zip(words, phones)}


def test_phone_model_decodes_to_words_through_the_lexicon(arpa: Path) -> None:
    words = arpa_words(arpa)
    pronunciations = espeak_lexicon(words)
    vocabulary = Vocabulary.build([[*phones, "|"] for phones in pronunciations.values()])
    assert pronunciations["cat"] != pronunciations["cot"]
    sentence = [phone for word in ["the", "cat", "sat"] for phone in (*pronunciations[word], "|")][:-1]
    vowel = 1 + sentence.index(pronunciations["cat"][0], sentence.index("|"))
    ambiguity = {pronunciations["cat"][1]: PEAK, pronunciations["cot"][1]: PEAK + 0.7}
    emission = synthetic_emission(sentence, vocabulary, seed=2, ambiguous={vowel: ambiguity}).log_probs.unsqueeze(0)
    decoder = BeamDecoder(vocabulary, pronunciations, arpa, lm_weight=0.0, beam_size=20)
    assert decoder.decode(emission)[0][0].words == ("the", "cot", "sat")
    assert decoder.with_weights(2.0, 0.0).decode(emission)[0][0].words == ("the", "cat", "sat")


def test_several_pronunciations_per_word() -> None:
    vocabulary = Vocabulary(tokens=("<blank>", "ð", "ə", "i", "k", "æ", "t", "|"))
    lexicon = {"the": [("ð", "ə"), ("ð", "i")], "cat": ("k", "æ", "t")}
    for variant in (["ð", "ə"], ["ð", "i"]):
        emission = synthetic_emission([*variant, "|", "k", "æ", "t"], vocabulary, seed=4).log_probs.unsqueeze(0)
        assert BeamDecoder(vocabulary, lexicon, beam_size=10).decode(emission)[0][0].words == ("the", "cat")


def test_lexicon_file_is_read_by_the_g2p_reader(tmp_path: Path) -> None:
    """The decoder reads lexicon files as `fieldasr.g2p.lexicon` does: `;;` comments skipped, a trailing `|` removed
    (the old decoder reader took the comment for a word and refused `t |`), every pronunciation of a word kept."""
    from fieldasr.decode.lexicon import read_lexicon
    from fieldasr.g2p.lexicon import read_pronunciations

    path = tmp_path / "lexicon.txt"
    path.write_text(";; made by hand\nthe\tð ə\nthe\tð i |\ncat\tk æ t |\n", encoding="utf-8")
    assert read_lexicon is read_pronunciations
    assert read_pronunciations(path) == {"the": (("ð", "ə"), ("ð", "i")), "cat": (("k", "æ", "t"),)}
    vocabulary = Vocabulary(tokens=("<blank>", "ð", "ə", "i", "k", "æ", "t", "|"))
    assert build_lexicon(read_pronunciations(path), vocabulary).entries == (
        ("the", ("ð", "ə")), ("the", ("ð", "i")), ("cat", ("k", "æ", "t")))
    assert build_lexicon({"cat": ("k", "æ", "t", "|")}, vocabulary).entries == (("cat", ("k", "æ", "t")),)
    emission = synthetic_emission(["ð", "i", "|", "k", "æ", "t"], vocabulary, seed=4).log_probs.unsqueeze(0)
    assert BeamDecoder(vocabulary, read_pronunciations(path), beam_size=10).decode(emission)[0][0].words == ("the", "cat")


def test_lexicon_free_search_without_lm_agrees_with_greedy_on_clear_emissions() -> None:
    emissions = torch.stack(
        [synthetic_emission(letters("a dog ran off"), LETTER_VOCABULARY, seed=seed).log_probs for seed in (5, 6)]
    )
    hypotheses = BeamDecoder(LETTER_VOCABULARY, beam_size=10).decode(emissions)
    greedy_texts = [result.text for result in greedy_decode(emissions, LETTER_VOCABULARY)]
    assert [nbest[0].text for nbest in hypotheses] == greedy_texts
    assert hypotheses[0][0].text == "a dog ran off"


def test_unusable_lexicon_entries_are_listed_not_dropped_silently(caplog: pytest.LogCaptureFixture) -> None:
    entries = {"cat": ("c", "a", "t"), "café": ("c", "a", "f", "é"), "<unk>": ("u",), "catdog": ("c", "a", "t", "|", "d", "o", "g")}
    lexicon = build_lexicon(entries, LETTER_VOCABULARY)
    assert lexicon.words == ("cat",)
    assert dict(lexicon.skipped) == {
        "café": "labels not in the model's vocabulary: é",
        "<unk>": "reserved language-model symbol",
        # the real problem, not "| is not in the vocabulary" (it is: the decoder puts it between words)
        "catdog": "the word boundary | inside the pronunciation; put each word on its own line",
    }
    assert [word for word, _ in spelling_lexicon(["cat", "naïve"], LETTER_VOCABULARY).skipped] == ["naïve"]
    with pytest.raises(DecodingError, match="none of the 1 lexicon entries"):
        build_lexicon({"x": ("ʃ",)}, LETTER_VOCABULARY)
    with caplog.at_level("WARNING", logger="fieldasr.decode.beam"):
        BeamDecoder(LETTER_VOCABULARY, entries)
    assert "3 lexicon entries left out" in caplog.text


def test_misconfigurations_are_explained(arpa: Path, tmp_path: Path) -> None:
    with pytest.raises(DecodingError, match="needs a lexicon"):
        BeamDecoder(LETTER_VOCABULARY, lm_path=arpa)
    with pytest.raises(DecodingError, match="word boundary"):
        BeamDecoder(Vocabulary(tokens=("<blank>", "a")))
    with pytest.raises(DecodingError, match="not found"):
        BeamDecoder(LETTER_VOCABULARY, {"a": ("a",)}, lm_path=tmp_path / "missing.arpa")


def test_with_a_lexicon_the_labels_spell_exactly_the_words() -> None:
    """A word the search had not finished when the audio ended is not among its words, so not among its labels either;
    of two pronunciations, the labels are the one the search spelled."""
    lexicon = {"the": [tuple("the"), tuple("thee")], "cat": tuple("cat"), "sitting": tuple("sitting")}
    decoder = BeamDecoder(LETTER_VOCABULARY, lexicon, beam_size=20)
    cut_off = synthetic_emission(letters("thee cat sitt"), LETTER_VOCABULARY).log_probs
    best = decoder.decode(cut_off.unsqueeze(0))[0][0]
    assert best.words == ("the", "cat")
    assert best.tokens == (*"thee", "|", *"cat") and len(best.timesteps) == len(best.tokens)
    assert list(best.timesteps) == sorted(best.timesteps)
