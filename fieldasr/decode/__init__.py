"""Decoding CTC emissions: greedy, lexicon + n-gram LM beam search, word timestamps, n-gram LM building."""
from fieldasr.decode.align import TokenTiming, WordTiming, align_tokens, align_words
from fieldasr.decode.beam import BeamDecoder, Hypothesis, ctc_log_likelihoods
from fieldasr.decode.checks import DecodingError
from fieldasr.decode.confidence import hypothesis_confidence
from fieldasr.decode.greedy import GreedyResult, greedy_decode, words_from_tokens
from fieldasr.decode.lexicon import Lexicon, arpa_words, build_lexicon, read_lexicon, spelling_lexicon
from fieldasr.decode.ngram import ArpaSummary, LanguageModelError, NgramModel, build_arpa
from fieldasr.decode.tune import TunePoint, TuneResult, tune_decoder

__all__ = [
    "ArpaSummary",
    "BeamDecoder",
    "DecodingError",
    "GreedyResult",
    "Hypothesis",
    "LanguageModelError",
    "Lexicon",
    "NgramModel",
    "TokenTiming",
    "TunePoint",
    "TuneResult",
    "WordTiming",
    "align_tokens",
    "align_words",
    "arpa_words",
    "build_arpa",
    "build_lexicon",
    "ctc_log_likelihoods",
    "greedy_decode",
    "hypothesis_confidence",
    "read_lexicon",
    "spelling_lexicon",
    "tune_decoder",
    "words_from_tokens",
]
