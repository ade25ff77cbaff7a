"""Beam search over CTC emissions with a lexicon and a KenLM n-gram model (torchaudio's flashlight decoder).

The lexicon restricts the output to known words, spelled in the model's labels: letters for a character
model, phones for a phone model (Whistle's phone -> word path, with pronunciations from the G2P module).
Without a lexicon the search is over label sequences and words are read off at the word boundaries `|`.
"""
from __future__ import annotations

import copy
import itertools
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from fieldasr.decode.checks import DecodingError, check_emissions
from fieldasr.decode.greedy import words_from_tokens
from fieldasr.decode.lexicon import Lexicon, LexiconInput, build_lexicon
from fieldasr.decode.ngram import UNKNOWN_WORD
from fieldasr.text.vocabulary import BLANK, WORD_BOUNDARY, Vocabulary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hypothesis:
    """One decoding of an utterance.

    `score` is the decoder's total (best alignment's acoustic log-probability + lm_weight * LM log10
    probability + word_score per word). With `score_parts=True`, the parts needed to rescore an n-best
    list are filled in: the CTC log-likelihood of `tokens` over all alignments (natural log), and the
    n-gram LM's log10 probability of `words` including the end of sentence.
    """

    words: tuple[str, ...]
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    score: float
    timesteps: tuple[int, ...]
    acoustic_log_likelihood: float | None = None
    lm_log10_probability: float | None = None

    @property
    def text(self) -> str:
        return " ".join(self.words)


class BeamDecoder:
    """Lexicon + n-gram LM beam search; `lm_weight` and `word_score` are the knobs `tune_decoder` searches."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        lexicon: LexiconInput | Lexicon | None = None,
        lm_path: str | Path | None = None,
        lm_weight: float = 2.0,
        word_score: float = 0.0,
        beam_size: int = 50,
        nbest: int = 1,
        beam_threshold: float = 25.0,
        unk_score: float = float("-inf"),
    ) -> None:
        if WORD_BOUNDARY not in vocabulary:
            raise DecodingError(
                f"the vocabulary has no word boundary {WORD_BOUNDARY!r}; beam search needs it between words. "
                "Rebuild the vocabulary from label sequences that mark word boundaries."
            )
        if nbest > beam_size:
            raise DecodingError(f"nbest ({nbest}) cannot exceed beam_size ({beam_size}).")
        self.vocabulary = vocabulary
        if lexicon is not None and not isinstance(lexicon, Lexicon):
            lexicon = build_lexicon(lexicon, vocabulary)
        self.lexicon = lexicon
        self._spellings: dict[str, tuple[tuple[int, ...], ...]] = {}
        for word, labels in lexicon.entries if lexicon is not None else ():
            self._spellings[word] = (*self._spellings.get(word, ()), tuple(vocabulary.encode(labels)))
        self.lm_path = Path(lm_path) if lm_path is not None else None
        self.lm_weight, self.word_score = lm_weight, word_score
        self.beam_size, self.nbest, self.beam_threshold, self.unk_score = beam_size, nbest, beam_threshold, unk_score
        if self.lexicon is not None and self.lexicon.skipped:
            word, reason = self.lexicon.skipped[0]
            logger.warning("%d lexicon entries left out (e.g. %r: %s)", len(self.lexicon.skipped), word, reason)
        self._language_model, self._word_dict = self._load_language_model()
        self._decoder = self._build_decoder()

    @contextmanager
    def _lexicon_file(self) -> Iterator[str | None]:
        """The lexicon as the flashlight file format, for as long as the decoder is being built."""
        if self.lexicon is None:
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="fieldasr-decoder-") as folder:
            path = Path(folder) / "lexicon.txt"
            path.write_text("\n".join(self.lexicon.decoder_lines()) + "\n", encoding="utf-8")
            yield str(path)

    def _load_language_model(self):  # -> (flashlight KenLM | None, flashlight Dictionary | None)
        if self.lm_path is None:
            return None, None
        if self.lexicon is None:
            raise DecodingError(
                f"{self.lm_path}: a word language model needs a lexicon; for a character model pass "
                "spelling_lexicon(arpa_words(lm_path), vocabulary)."
            )
        if not self.lm_path.is_file():
            raise DecodingError(f"{self.lm_path}: language model not found; build one with `fieldasr lm`.")
        # Imported here, not at the top: greedy decoding (and the GPU check) runs where flashlight-text is not installed.
        from flashlight.lib.text.dictionary import create_word_dict, load_words
        try:
            from flashlight.lib.text.decoder.kenlm import KenLM
        except ImportError:  # flashlight-text wheels built without KenLM
            raise DecodingError("flashlight-text was built without KenLM; reinstall it with `pip install kenlm`.") from None
        # The same word dictionary torchaudio derives from the lexicon file, so LM indices line up.
        with self._lexicon_file() as lexicon_file:
            word_dict = create_word_dict(load_words(lexicon_file))
        try:
            return KenLM(str(self.lm_path), word_dict), word_dict
        except RuntimeError as error:
            raise DecodingError(f"{self.lm_path}: KenLM cannot read this language model ({error}).") from error

    def _build_decoder(self):
        from torchaudio.models.decoder import ctc_decoder  # needs flashlight-text (see _load_language_model)

        with self._lexicon_file() as lexicon_file:
            return ctc_decoder(
                lexicon=lexicon_file,
                tokens=list(self.vocabulary.tokens),
                lm=self._language_model,
                nbest=self.nbest,
                beam_size=self.beam_size,
                beam_threshold=self.beam_threshold,
                lm_weight=self.lm_weight,
                word_score=self.word_score,
                unk_score=self.unk_score,
                sil_score=0.0,
                blank_token=BLANK,
                sil_token=WORD_BOUNDARY,
                unk_word=UNKNOWN_WORD,
            )

    def with_weights(self, lm_weight: float, word_score: float) -> "BeamDecoder":
        """A decoder with other LM weight and word score that shares this one's lexicon and loaded LM."""
        return self._variant(lm_weight=lm_weight, word_score=word_score)

    def with_nbest(self, nbest: int) -> "BeamDecoder":
        """A decoder returning `nbest` hypotheses per utterance; shares this one's lexicon and loaded LM."""
        if nbest > self.beam_size:
            raise DecodingError(f"an n-best list of {nbest} needs a beam of at least {nbest}, not {self.beam_size}; "
                                "raise the beam size or lower the n-best size.")
        return self._variant(nbest=nbest)

    def _variant(self, **settings: float) -> "BeamDecoder":
        other = copy.copy(self)
        for name, value in settings.items():
            setattr(other, name, value)
        other._decoder = other._build_decoder()
        return other

    def decode(
        self, emissions: torch.Tensor, lengths: torch.Tensor | None = None, score_parts: bool = False
    ) -> list[list[Hypothesis]]:
        """Decode `(batch, frames, labels)` log-probabilities; the n-best list of each utterance, best first."""
        lengths = check_emissions(emissions, self.vocabulary, lengths)
        emissions = emissions.detach().to("cpu", torch.float32).contiguous()
        results = self._decoder(emissions, lengths.to(torch.int32))
        decoded = []
        for emission, length, hypotheses in zip(emissions, lengths.tolist(), results):
            converted = [self._convert(hypothesis) for hypothesis in hypotheses]
            if score_parts:
                converted = self._with_score_parts(emission[:length], converted)
            decoded.append(converted)
        return decoded

    def _convert(self, hypothesis) -> Hypothesis:
        # The search may put word boundaries in silent stretches; keep one between words and none at the ends.
        boundary = self.vocabulary.index(WORD_BOUNDARY)
        kept: list[tuple[int, int]] = []
        for index, frame in zip(hypothesis.tokens.tolist(), hypothesis.timesteps.tolist()):
            if index == boundary and (not kept or kept[-1][0] == boundary):
                continue
            kept.append((index, frame))
        if self.lexicon is not None:
            # The search's labels may hold a word it had not finished when the audio ended, which is not among its
            # words; the labels given out spell exactly the words, so word timings and phones agree with them.
            kept = self._spelled(tuple(hypothesis.words), kept)
        if kept and kept[-1][0] == boundary:
            kept.pop()
        token_ids = tuple(index for index, _ in kept)
        tokens = tuple(self.vocabulary.decode(token_ids))
        words = tuple(hypothesis.words) if self.lexicon is not None else words_from_tokens(tokens)
        return Hypothesis(
            words=words,
            tokens=tokens,
            token_ids=token_ids,
            score=float(hypothesis.score),
            timesteps=tuple(frame for _, frame in kept),
        )

    def _spelled(self, words: tuple[str, ...], searched: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """(label, frame) of `words` as the lexicon spells them, `|` between them. A word's pronunciation is the one the
        search spelled (else the first); each label gets the frame where the search had it (else its predecessor's)."""
        boundary = self.vocabulary.index(WORD_BOUNDARY)
        spelled: list[tuple[int, int]] = []
        position = 0

        def take(label: int) -> None:
            nonlocal position
            found = next((p for p in range(position, len(searched)) if searched[p][0] == label), None)
            spelled.append((label, searched[found][1] if found is not None else spelled[-1][1] if spelled else 0))
            position = position if found is None else found + 1

        for number, word in enumerate(words):
            if number:
                take(boundary)
            run = tuple(itertools.takewhile(lambda label: label != boundary, (label for label, _ in searched[position:])))
            variants = self._spellings.get(word, ((),))
            for label in next((variant for variant in variants if variant == run), variants[0]):
                take(label)
        return spelled

    def _with_score_parts(self, emission: torch.Tensor, hypotheses: list[Hypothesis]) -> list[Hypothesis]:
        if not hypotheses:
            return hypotheses
        acoustic = ctc_log_likelihoods(emission, [hypothesis.token_ids for hypothesis in hypotheses])
        return [
            replace(
                hypothesis,
                acoustic_log_likelihood=score,
                lm_log10_probability=self.lm_log10_probability(hypothesis.words) if self._language_model else None,
            )
            for hypothesis, score in zip(hypotheses, acoustic)
        ]

    def lm_log10_probability(self, words: Sequence[str]) -> float:
        """log10 P(words, </s> | <s>) under the decoder's n-gram model, as the decoder scores it."""
        if self._language_model is None:
            raise DecodingError("this decoder has no language model; pass lm_path to score words.")
        state = self._language_model.start(False)
        total = 0.0
        for word in words:
            state, score = self._language_model.score(state, self._word_dict.get_index(word))
            total += score
        _, score = self._language_model.finish(state)
        return total + score


def ctc_log_likelihoods(emission: torch.Tensor, token_id_sequences: Sequence[Sequence[int]]) -> list[float]:
    """ln P(tokens | emission) summed over all CTC alignments, for several token sequences of one utterance."""
    log_probs = emission.float().log_softmax(dim=-1)  # a no-op on log-probabilities; normalises logits
    count = len(token_id_sequences)
    targets = torch.tensor([index for sequence in token_id_sequences for index in sequence], dtype=torch.long)
    target_lengths = torch.tensor([len(sequence) for sequence in token_id_sequences], dtype=torch.long)
    input_lengths = torch.full((count,), log_probs.shape[0], dtype=torch.long)
    losses = torch.nn.functional.ctc_loss(
        log_probs.unsqueeze(1).expand(-1, count, -1), targets, input_lengths, target_lengths,
        blank=0, reduction="none", zero_infinity=False,
    )
    return (-losses).tolist()
