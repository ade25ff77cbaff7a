"""N-best rescoring of ASR hypotheses with a (transferred) language model.

score = acoustic score + weight × LM log-probability (+ length bonus × words). A causal LM gives the sum
of token log-probabilities; a masked LM gives the pseudo-log-likelihood (each token masked in turn,
Salazar et al. 2020). The weight is tuned on dev n-best lists by word error rate.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import torch
from tqdm import tqdm

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
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
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
        rates[float(weight)] = jiwer.wer(list(references), best)
    best_weight = min(rates, key=lambda w: (rates[w], w))
    return WeightTuning(best_weight, rates, len(references))
