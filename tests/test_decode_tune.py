"""The grid search finds an LM weight that fixes the acoustically ambiguous words of a dev set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from decode_synthetic import LETTER_VOCABULARY, PEAK, letters, synthetic_emission

from fieldasr.cli.decode import tune as tune_command
from fieldasr.decode import BeamDecoder, DecodingError, arpa_words, build_arpa, spelling_lexicon, tune_decoder
from fieldasr.decode.tune import TunePoint, TuneResult, pad_emissions
from fieldasr.eval.report import evaluate

torch.set_num_threads(1)

LM_TEXT = ["the cat sat on the mat"] * 5 + ["the dog sat on the mat"] * 3 + ["a baby slept in the cot"]
REFERENCES = ["the cat sat", "the cat sat on the mat", "the dog sat", "the cat sat on the mat"]


def dev_emissions() -> list[torch.Tensor]:
    """Every "cat" has a vowel that sounds a bit more like "o"."""
    emissions = []
    for seed, reference in enumerate(REFERENCES):
        labels = letters(reference)
        ambiguous = {}
        if "cat" in reference.split():
            ambiguous[labels.index("c") + 1] = {"a": PEAK, "o": PEAK + 0.7}
        emissions.append(synthetic_emission(labels, LETTER_VOCABULARY, seed=seed, ambiguous=ambiguous).log_probs)
    return emissions


@pytest.fixture(scope="module")
def arpa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tune")
    (folder / "text.txt").write_text("\n".join(LM_TEXT) + "\n", encoding="utf-8")
    return build_arpa(folder / "text.txt", folder / "lm.arpa", order=3).path


def test_grid_search_reports_every_point_and_picks_the_lowest_wer(arpa: Path) -> None:
    lexicon = spelling_lexicon(arpa_words(arpa), LETTER_VOCABULARY)
    result = tune_decoder(
        dev_emissions(), REFERENCES, LETTER_VOCABULARY, lexicon, arpa,
        lm_weights=(0.0, 2.0), word_scores=(-1.0, 0.0), beam_size=20, batch_size=3, show_progress=False,
    )
    assert [(point.lm_weight, point.word_score) for point in result.grid] == [(0, -1), (0, 0), (2, -1), (2, 0)]
    reference_words = sum(len(reference.split()) for reference in REFERENCES)
    without_lm = result.grid[1]
    # Three "cat"s heard as "cot": three substitutions out of the reference words.
    assert (without_lm.substitutions, without_lm.deletions, without_lm.insertions) == (3, 0, 0)
    assert without_lm.wer == pytest.approx(3 / reference_words)
    assert result.best.lm_weight == 2.0 and result.best.wer == 0.0
    assert result.best.reference_words == reference_words
    assert "<- best" in result.table()


def test_tune_objective_is_the_wer_evaluate_reports(arpa: Path, tmp_path: Path) -> None:
    """References as typed (capitals, punctuation): every grid point's WER and counts are what `fieldasr evaluate`
    reports for that point's hypotheses. (jiwer on the raw text, used before, counted "The" vs "the" as an error.)"""
    typed = ["The cat sat.", "The cat sat on the mat!", "The dog, sat", "the CAT sat on the mat"]
    emissions = dev_emissions()
    lexicon = spelling_lexicon(arpa_words(arpa), LETTER_VOCABULARY)
    result = tune_decoder(emissions, typed, LETTER_VOCABULARY, lexicon, arpa, lm_weights=(0.0, 2.0), word_scores=(0.0,),
                          beam_size=20, show_progress=False)
    reference = tmp_path / "ref.txt"
    reference.write_text("".join(f"u{index}\t{text}\n" for index, text in enumerate(typed)), encoding="utf-8")
    decoder, (padded, lengths) = BeamDecoder(LETTER_VOCABULARY, lexicon=lexicon, lm_path=arpa, beam_size=20), pad_emissions(emissions)
    for number, point in enumerate(result.grid):
        hypotheses = decoder.with_weights(point.lm_weight, point.word_score).decode(padded, lengths)
        hypothesis = tmp_path / f"hyp{number}.txt"
        hypothesis.write_text("".join(f"u{index}\t{nbest[0].text}\n" for index, nbest in enumerate(hypotheses)), encoding="utf-8")
        reported = evaluate(reference, [hypothesis], units=("word",), resamples=10).systems[0].units["word"].result
        assert point.wer == reported.rate
        assert (point.substitutions, point.deletions, point.insertions) == (reported.substitutions, reported.deletions, reported.insertions)
        assert point.reference_words == reported.reference_length
    assert result.best.wer == 0.0  # capitals and punctuation are not errors, as in evaluate


def test_mismatched_dev_set_is_explained(arpa: Path) -> None:
    with pytest.raises(DecodingError, match="one per utterance"):
        tune_decoder(dev_emissions(), REFERENCES[:2], LETTER_VOCABULARY, {"cat": tuple("cat")}, arpa)


def test_tune_command_reads_saved_emissions_and_writes_the_grid(arpa: Path, tmp_path: Path) -> None:
    emissions = {f"utt{index}": emission for index, emission in enumerate(dev_emissions())}
    torch.save(dict(list(emissions.items())[:2]), tmp_path / "part1.pt")
    torch.save({**dict(list(emissions.items())[2:]), "no_reference": emissions["utt0"]}, tmp_path / "part2.pt")
    (tmp_path / "refs.tsv").write_text(
        "".join(f"utt{index}\t{reference}\n" for index, reference in enumerate(REFERENCES)), encoding="utf-8"
    )
    LETTER_VOCABULARY.save(tmp_path / "tokens.txt")
    arguments = [
        "--emissions", str(tmp_path / "part1.pt"), "--emissions", str(tmp_path / "part2.pt"),
        "--references", str(tmp_path / "refs.tsv"), "--vocabulary", str(tmp_path / "tokens.txt"),
        "--lm", str(arpa), "--lm-weights", "0,2", "--word-scores", "0", "--beam-size", "20",
        "-o", str(tmp_path / "grid.json"),
    ]
    result = CliRunner().invoke(tune_command, arguments)
    assert result.exit_code == 0, result.output
    assert "Skipped 1 utterances without a reference" in result.output
    assert "--lm-weight 2 --word-score 0 (WER 0.0000)" in result.output
    report = json.loads((tmp_path / "grid.json").read_text(encoding="utf-8"))
    assert len(report["grid"]) == 2 and report["best"]["lm_weight"] == 2.0
    # 2 is the largest weight tried; one word score tried says nothing about its edges.
    assert "the best LM weight, 2, is the largest tried" in result.output and "--lm-weights 0,2,4,6" in result.output
    assert "word score" not in result.output.split("(WER 0.0000).")[1]


def grid_of(wers: dict[tuple[float, float], float]) -> TuneResult:
    points = tuple(TunePoint(weight, score, wer, 0, 0, 0, 10) for (weight, score), wer in wers.items())
    return TuneResult(best=min(points, key=lambda point: point.wer), grid=points)


def test_a_best_point_on_the_edge_of_the_grid_is_warned_about() -> None:
    inside = grid_of({(w, s): abs(w - 1) + abs(s) for w in (0.0, 1.0, 2.0) for s in (-1.0, 0.0, 1.0)})
    assert inside.best.lm_weight == 1.0 and inside.edge_warnings() == ()
    low_score = grid_of({(w, s): abs(w - 1) + s for w in (0.0, 1.0, 2.0) for s in (-1.0, 0.0, 1.0)})
    (warning,) = low_score.edge_warnings()
    assert "word score, -1, is the smallest tried" in warning and "--word-scores -3,-2,-1,0" in warning
    no_lm = grid_of({(w, s): w + abs(s) for w in (0.0, 1.0, 2.0) for s in (-1.0, 0.0, 1.0)})
    assert no_lm.best.lm_weight == 0.0 and no_lm.edge_warnings() == ()  # below 0 is no LM weight at all
    low_weight = grid_of({(w, s): w + abs(s) for w in (0.5, 1.0, 2.0) for s in (-1.0, 0.0, 1.0)})
    assert "--lm-weights 0,0.5,1" in low_weight.edge_warnings()[0]
