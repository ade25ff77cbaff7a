"""The ASR half of benchmarks/lm_transfer.py: honest n-best lists to rescore with the transferred LM.

Target-language sentences (from the same text splits as the LM: acoustic training on the training split, weight
tuning on dev, WER on test) are spoken by espeak-ng voices; a tiny character CTC Conformer is trained on the
training speech for a few hundred steps, and lexicon-free CTC beam search gives n-best lists with score parts.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import jiwer
import numpy as np
import torch

from fieldasr.decode import BeamDecoder
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.transfer.rescore import Hypothesis, first_pass_score, rescore_nbest, tune_rescoring_weight
from fieldasr_examples.corpora.synth import Augmentation, PlannedUtterance, language_key, make_speakers, render_in_memory

WORD = re.compile(r"[^\W\d_]+")


def speakable(lines: list[str], count: int, seed: int, min_words: int = 3, max_words: int = 8) -> list[str]:
    """Lower-cased letter-only sentences of a few words (what a character model can spell), in a seeded order."""
    cleaned = [" ".join(WORD.findall(line.lower())) for line in lines]
    chosen = sorted({text for text in cleaned if min_words <= len(text.split()) <= max_words})
    order = np.random.default_rng(seed).permutation(len(chosen))
    return [chosen[index] for index in order[:count]]


def synthesise(texts: list[str], language: str, speakers: int, seed: int, split: str) -> list[np.ndarray]:
    voices = make_speakers(language, speakers, seed)
    plans = [PlannedUtterance(id=f"{split}-{index}", language=language, text=text, speaker=voices[index % len(voices)],
                              seed=(seed, language_key(language), len(split), index))
             for index, text in enumerate(texts)]
    return render_in_memory(plans, Augmentation())


def labels(text: str) -> list[str]:
    return list(WORD_BOUNDARY.join(text.split()))


def _batch(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(wave) for wave in waves])
    padded = torch.zeros(len(waves), int(lengths.max()))
    for row, wave in enumerate(waves):
        padded[row, :len(wave)] = torch.from_numpy(wave)
    return padded, lengths


def train_ctc(waves: list[np.ndarray], texts: list[str], vocabulary: Vocabulary, steps: int, batch_size: int,
              seed: int) -> ConformerCTC:
    torch.manual_seed(seed)
    model = ConformerCTC(TINY_CONFORMER, len(vocabulary)).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        chosen = rng.choice(len(waves), size=batch_size, replace=False)
        padded, lengths = _batch([waves[i] for i in chosen])
        targets = [torch.tensor(vocabulary.encode(labels(texts[i]))) for i in chosen]
        logits, frames = model(padded, lengths)
        log_probs = logits.log_softmax(-1).transpose(0, 1)
        loss = torch.nn.functional.ctc_loss(log_probs, torch.cat(targets), frames, torch.tensor([len(t) for t in targets]),
                                            blank=0, reduction="mean", zero_infinity=True)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
    return model.eval()


@torch.no_grad()
def nbest_lists(model: ConformerCTC, waves: list[np.ndarray], decoder: BeamDecoder) -> list[list[Hypothesis]]:
    lists = []
    for start in range(0, len(waves), 16):
        padded, lengths = _batch(waves[start:start + 16])
        logits, frames = model(padded, lengths)
        for hypotheses in decoder.decode(logits.log_softmax(-1), frames, score_parts=True):
            lists.append([Hypothesis(h.words, first_pass_score(h, decoder)) for h in hypotheses])
    return lists


@dataclass(frozen=True)
class SpeechData:
    train: tuple[list[np.ndarray], list[str]]
    dev: tuple[list[np.ndarray], list[str]]
    test: tuple[list[np.ndarray], list[str]]
    audio_seconds: float


def build_speech(splits: dict[str, list[str]], language: str, counts: dict[str, int], seed: int) -> SpeechData:
    parts = {}
    for name in ("train", "dev", "test"):
        texts = speakable(splits[name], counts[name], seed)
        parts[name] = (synthesise(texts, language, 4 if name == "train" else 2, seed + len(name), name), texts)
    seconds = sum(len(wave) for waves, _ in parts.values() for wave in waves) / 16000
    return SpeechData(parts["train"], parts["dev"], parts["test"], seconds)


def _wer_of_best(nbest: list[list[Hypothesis]], references: list[str], pick) -> float:
    return jiwer.wer(references, [" ".join(pick(hypotheses).words) if hypotheses else "" for hypotheses in nbest])


def asr_rescoring(speech: SpeechData, language_models: dict[str, tuple], steps: int, nbest: int, seed: int) -> dict:
    """First-pass, oracle and rescored test WER (weight tuned on dev) for each (model, tokenizer) in `language_models`."""
    start = time.process_time()
    vocabulary = Vocabulary.build(labels(text) for text in speech.train[1])
    model = train_ctc(*speech.train, vocabulary, steps, 8, seed)
    decoder = BeamDecoder(vocabulary, beam_size=max(20, nbest), nbest=nbest)
    dev_lists, test_lists = nbest_lists(model, speech.dev[0], decoder), nbest_lists(model, speech.test[0], decoder)
    dev_refs, test_refs = speech.dev[1], speech.test[1]
    result = {
        "ctc_steps": steps, "nbest": nbest, "dev_utterances": len(dev_refs), "test_utterances": len(test_refs),
        "train_utterances": len(speech.train[1]), "audio_seconds": speech.audio_seconds,
        "dev_first_pass_wer": _wer_of_best(dev_lists, dev_refs, lambda h: h[0]),
        "test_first_pass_wer": _wer_of_best(test_lists, test_refs, lambda h: h[0]),
        "test_first_pass_cer": jiwer.cer(test_refs, [" ".join(h[0].words) if h else "" for h in test_lists]),
        "testoracle_wer": oracle_wer(test_lists, test_refs),
        "mean_nbest": float(np.mean([len(h) for h in test_lists])), "lms": {},
    }
    for name, (lm, tokenizer) in language_models.items():
        tuning = tune_rescoring_weight(dev_lists, dev_refs, lm, tokenizer)
        rescored = [rescore_nbest(h, lm, tokenizer, tuning.best_weight)[0].text if h else "" for h in test_lists]
        result["lms"][name] = {"weight": tuning.best_weight, "dev_wer": tuning.word_error_rates[tuning.best_weight],
                               "test_wer": jiwer.wer(test_refs, rescored)}
    result["cpu_seconds"] = time.process_time() - start
    return result


def oracle_wer(nbest: list[list[Hypothesis]], references: list[str]) -> float:
    """The WER if the best hypothesis of each list were always picked: what rescoring could reach at most."""
    errors = words = 0
    for hypotheses, reference in zip(nbest, references):
        options = [" ".join(h.words) for h in hypotheses] or [""]
        best = min(options, key=lambda text: jiwer.process_words(reference, text).wer)
        output = jiwer.process_words(reference, best)
        errors += output.substitutions + output.deletions + output.insertions
        words += len(reference.split())
    return errors / words

