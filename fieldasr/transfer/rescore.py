"""N-best rescoring of ASR hypotheses with a (transferred) language model.

score = acoustic score + weight × LM log-probability (+ length bonus × words). A causal LM gives the sum
of token log-probabilities; a masked LM gives the pseudo-log-likelihood (each token masked in turn,
Salazar et al. 2020). The weight is tuned on dev n-best lists by the word error rate `fieldasr evaluate` reports
(`fieldasr.eval.score`: sclite's alignment, `default` normalisation).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from fieldasr.eval.metrics import score_pairs
from fieldasr.transfer.errors import TransferError

DEFAULT_WEIGHTS = tuple(round(0.1 * step, 2) for step in range(0, 21))


@dataclass(frozen=True)
class Hypothesis:
    words: tuple[str, ...]
    acoustic_score: float  # log-domain, higher is better (e.g. CTC beam-search score)


def hypotheses_from_beam(results) -> list[Hypothesis]:
    """Hypotheses from CTC beam-search results with `.words` and `.score` (torchaudio/flashlight CTCHypothesis).

    If the beam search already used an n-gram LM, its score is part of `.score`; the transferred LM is then added on top.
    """
    return [Hypothesis(tuple(result.words), float(result.score)) for result in results]


@dataclass(frozen=True)
class RescoredHypothesis:
    words: tuple[str, ...]
    acoustic_score: float
    lm_score: float
    total_score: float

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class WeightTuning:
    best_weight: float
    word_error_rates: dict[float, float]  # weight → dev WER
    utterances: int


def _is_masked_lm(lm) -> bool:
    return not getattr(lm.config, "is_decoder", False) and "MaskedLM" in type(lm).__name__


@torch.no_grad()
def _causal_log_probability(lm, tokenizer, text: str) -> float:
    from fieldasr.transfer.lm_task import causal_start_id

    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    start = causal_start_id(tokenizer)
    if start is not None and (not ids or ids[0] != start):
        ids = [start] + ids  # so the first word is predicted too
    if len(ids) < 2:
        return 0.0
    logits = lm(input_ids=torch.tensor([ids])).logits[0, :-1].float()
    targets = torch.tensor(ids[1:])
    return float(torch.log_softmax(logits, -1).gather(1, targets[:, None]).sum())


@torch.no_grad()
def _pseudo_log_likelihood(lm, tokenizer, text: str) -> float:
    ids = torch.tensor(tokenizer(text, add_special_tokens=True)["input_ids"])
    positions = [i for i, token in enumerate(ids.tolist()) if token not in tokenizer.all_special_ids]
    if not positions:
        return 0.0
    batch = ids.repeat(len(positions), 1)
    batch[torch.arange(len(positions)), positions] = tokenizer.mask_token_id
    log_probs = torch.log_softmax(lm(input_ids=batch).logits.float(), -1)
    return float(sum(log_probs[row, position, ids[position]] for row, position in enumerate(positions)))


def lm_log_probability(lm, tokenizer, texts: Sequence[str]) -> list[float]:
    """Natural-log probability (causal) or pseudo-log-likelihood (masked) of each text."""
    lm.eval()
    score = _pseudo_log_likelihood if _is_masked_lm(lm) else _causal_log_probability
    if _is_masked_lm(lm) and tokenizer.mask_token_id is None:
        raise TransferError("a masked LM needs a tokenizer with a mask token to score hypotheses")
    return [score(lm, tokenizer, text) for text in texts]


def _combine(hypotheses: Sequence[Hypothesis], lm_scores: Sequence[float], weight: float,
             length_bonus: float) -> list[RescoredHypothesis]:
    rescored = [RescoredHypothesis(h.words, h.acoustic_score, lm,
                                   h.acoustic_score + weight * lm + length_bonus * len(h.words))
                for h, lm in zip(hypotheses, lm_scores)]
    return sorted(rescored, key=lambda item: -item.total_score)


def rescore_nbest(hypotheses: Sequence[Hypothesis], lm, tokenizer, weight: float,
                  length_bonus: float = 0.0) -> list[RescoredHypothesis]:
    """The hypotheses of one utterance, best first by acoustic + weight × LM score."""
    if not hypotheses:
        return []
    return _combine(hypotheses, lm_log_probability(lm, tokenizer, [" ".join(h.words) for h in hypotheses]),
                    weight, length_bonus)


def tune_rescoring_weight(nbest_lists: Sequence[Sequence[Hypothesis]], references: Sequence[str], lm, tokenizer,
                          weights: Sequence[float] = DEFAULT_WEIGHTS, length_bonus: float = 0.0) -> WeightTuning:
    """The LM weight with the lowest dev WER (ties go to the smaller weight); LM scores are computed once."""
    if len(nbest_lists) != len(references) or not references:
        raise TransferError(f"need one reference per n-best list; got {len(nbest_lists)} lists, "
                            f"{len(references)} references")
    lm_scores = [lm_log_probability(lm, tokenizer, [" ".join(h.words) for h in nbest])
                 for nbest in tqdm(nbest_lists, desc="LM scores", leave=False)]
    rates = {}
    for weight in weights:
        best = [_combine(nbest, scores, weight, length_bonus)[0].text if nbest else ""
                for nbest, scores in zip(nbest_lists, lm_scores)]
        rate = score_pairs(references, best, unit="word").rate
        if rate is None:
            raise TransferError("the dev references have no words after normalisation; give references with text")
        rates[float(weight)] = rate
    best_weight = min(rates, key=lambda w: (rates[w], w))
    return WeightTuning(best_weight, rates, len(references))


def first_pass_score(hypothesis, decoder) -> float:
    """A beam hypothesis's first-pass score from its parts (`decode(..., score_parts=True)`), on the decoder's scale.

    The CTC log-likelihood over all alignments replaces the best alignment's, so hypotheses that differ only in
    how the search happened to align them are compared fairly; the n-gram LM and word score count as in the search.
    """
    if hypothesis.acoustic_log_likelihood is None:
        return float(hypothesis.score)
    ngram = decoder.lm_weight * hypothesis.lm_log10_probability if hypothesis.lm_log10_probability is not None else 0.0
    return hypothesis.acoustic_log_likelihood + ngram + decoder.word_score * len(hypothesis.words)


class NbestRescorer:
    """Picks the best of a beam decoder's n-best list by first-pass score + `weight` × LM log-probability.

    `lm_dir` is a local Hugging Face folder with its tokenizer (e.g. from `fieldasr transfer pretrain`); a causal
    LM gives log P(text), a masked LM the pseudo-log-likelihood. Used by `Transcriber(..., rescorer=...)`.
    """

    def __init__(self, lm_dir: str | Path, weight: float, nbest: int = 10, length_bonus: float = 0.0) -> None:
        from transformers import AutoConfig, AutoTokenizer

        from fieldasr.transfer.lm_task import load_language_model

        if nbest < 2:
            raise TransferError(f"rescoring needs an n-best list of 2 or more hypotheses, not {nbest}")
        lm_dir = Path(lm_dir)
        if not (lm_dir / "config.json").is_file():
            raise TransferError(f"{lm_dir} is not a language-model folder (no config.json); give the output folder "
                                f"of `fieldasr transfer pretrain` or `fieldasr transfer init`")
        config = AutoConfig.from_pretrained(lm_dir, local_files_only=True)
        kind = "causal" if any("CausalLM" in name or "LMHead" in name for name in config.architectures or ()) else "masked"
        self.lm = load_language_model(lm_dir, kind).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(lm_dir, local_files_only=True)
        self.weight, self.nbest, self.length_bonus = weight, nbest, length_bonus

    def nbest_decoder(self, decoder):
        """`decoder` returning this rescorer's n-best list; shares its lexicon and loaded n-gram model."""
        if decoder.nbest >= self.nbest:
            return decoder
        return decoder.with_nbest(self.nbest)

    def best(self, hypotheses: Sequence, decoder):
        """The hypothesis (of `decoder.decode`, best first) with the highest rescored total."""
        if len(hypotheses) < 2:
            return hypotheses[0]
        lm_scores = lm_log_probability(self.lm, self.tokenizer, [" ".join(h.words) for h in hypotheses])
        totals = [first_pass_score(h, decoder) + self.weight * lm + self.length_bonus * len(h.words)
                  for h, lm in zip(hypotheses, lm_scores)]
        return hypotheses[max(range(len(hypotheses)), key=lambda index: (totals[index], -index))]
