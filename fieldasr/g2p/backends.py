"""G2P backends: each turns a batch of normalised words into IPA strings, one per word.

A backend returns `None` for a word it has no entry for (only the lexicon does), so a chain such as
lexicon -> rules hands the word to the next backend.
"""
from __future__ import annotations

import ctypes.util
import difflib
import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from tqdm import tqdm

from fieldasr.g2p.errors import G2PError, SpecError, UnknownVoiceError
from fieldasr.g2p.rules import WordTranscription, load_rules
from fieldasr.g2p.spec import G2PSpec

ESPEAK_CHUNK = 2000  # words per phonemizer call: large enough for its job pool, small enough for progress
ESPEAK_PARALLEL_FROM = 4000  # below this many words, starting worker processes costs more than it saves


class WordBackend(Protocol):
    name: str

    def transcribe(self, words: Sequence[str]) -> list[WordTranscription | None]: ...


def _load_espeak_library() -> None:
    """Make sure phonemizer finds libespeak-ng; set PHONEMIZER_ESPEAK_LIBRARY when it cannot on its own."""
    from phonemizer.backend import EspeakBackend
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    if EspeakBackend.is_available():
        return
    library = os.environ.get("PHONEMIZER_ESPEAK_LIBRARY") or ctypes.util.find_library("espeak-ng")
    if library:
        EspeakWrapper.set_library(library)
        os.environ["PHONEMIZER_ESPEAK_LIBRARY"] = library
    if not EspeakBackend.is_available():
        raise G2PError(
            "phonemizer cannot find libespeak-ng. Install espeak-ng (`apt-get install espeak-ng`, or run "
            "tools/install_system_packages.sh) or set PHONEMIZER_ESPEAK_LIBRARY to the path of libespeak-ng.so."
        )


@lru_cache(maxsize=1)
def espeak_voices() -> dict[str, str]:
    """espeak-ng voices phonemizer can use: code -> language name."""
    from phonemizer.backend import EspeakBackend

    _load_espeak_library()
    return dict(EspeakBackend.supported_languages())


def check_voice(voice: str, where: str = "G2P spec") -> None:
    voices = espeak_voices()
    if voice in voices:
        return
    by_name = {name.lower(): code for code, name in voices.items()}
    close = difflib.get_close_matches(voice, list(voices), n=5, cutoff=0.5)
    close += [by_name[name] for name in difflib.get_close_matches(voice.lower(), list(by_name), n=3, cutoff=0.6)]
    suggestions = ", ".join(f"{code} ({voices[code]})" for code in dict.fromkeys(close)) or "none"
    raise UnknownVoiceError(
        f"{where}: espeak-ng has no voice {voice!r}. Close ones: {suggestions}. `espeak-ng --voices` lists all {len(voices)}."
    )


class EspeakWords:
    """espeak-ng through phonemizer, in batches, with tie bars on multi-letter phonemes (t͡ʃ, a͡ɪ)."""

    name = "espeak"

    def __init__(self, voice: str, jobs: int | None = None, where: str = "G2P spec") -> None:
        from phonemizer.backend import EspeakBackend

        check_voice(voice, where)
        self.voice = voice
        self.jobs = jobs or max(1, min(4, os.cpu_count() or 1))
        # Its "words count mismatch" warnings are expected here: espeak may read one token as several words ("42").
        quiet = logging.getLogger("fieldasr.g2p.phonemizer")
        quiet.setLevel(logging.ERROR)
        self._backend = EspeakBackend(
            voice, with_stress=True, tie=True, language_switch="remove-flags", words_mismatch="ignore", logger=quiet
        )

    def transcribe(self, words: Sequence[str]) -> list[WordTranscription | None]:
        from phonemizer.separator import Separator

        separator = Separator(phone=None, word=" ", syllable=None)
        jobs = self.jobs if len(words) >= ESPEAK_PARALLEL_FROM else 1
        output: list[str] = []
        chunks = range(0, len(words), ESPEAK_CHUNK)
        for start in tqdm(chunks, desc=f"espeak {self.voice}", unit="chunk", disable=len(chunks) < 3):
            batch = list(words[start : start + ESPEAK_CHUNK])
            output.extend(self._backend.phonemize(batch, separator=separator, strip=True, njobs=jobs))
        if len(output) != len(words):
            raise G2PError(f"espeak-ng returned {len(output)} transcriptions for {len(words)} words (voice {self.voice}).")
        return [WordTranscription(ipa=ipa, uncovered=()) for ipa in output]


class EpitranWords:
    name = "epitran"

    def __init__(self, code: str, where: str = "G2P spec") -> None:
        import epitran

        try:
            self._epitran = epitran.Epitran(code)
        except Exception as error:  # epitran raises several kinds for an unknown code or a missing map
            raise SpecError(f"{where}: epitran cannot load {code!r} ({error}). Use a code like 'swa-Latn' or 'tur-Latn'.") from error
        self.code = code

    def transcribe(self, words: Sequence[str]) -> list[WordTranscription | None]:
        return [WordTranscription(ipa=self._epitran.transliterate(word), uncovered=()) for word in words]


class RuleWords:
    name = "rules"

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.rules = load_rules(path)

    def transcribe(self, words: Sequence[str]) -> list[WordTranscription | None]:
        return [self.rules.transcribe(word) for word in words]


class LexiconWords:
    name = "lexicon"

    def __init__(self, path: os.PathLike[str] | str) -> None:
        from fieldasr.g2p.lexicon import read_lexicon

        self.entries = read_lexicon(path)

    def transcribe(self, words: Sequence[str]) -> list[WordTranscription | None]:
        found = (self.entries.get(word) for word in words)
        return [None if phones is None else WordTranscription(ipa="".join(phones), uncovered=()) for phones in found]


def build_backends(spec: G2PSpec) -> tuple[WordBackend, ...]:
    where = str(spec.path or spec.name)
    built: list[WordBackend] = []
    for kind in spec.backends:
        if kind == "espeak":
            built.append(EspeakWords(str(spec.voice), where=where))
        elif kind == "epitran":
            built.append(EpitranWords(str(spec.epitran_code), where=where))
        elif kind == "rules":
            built.append(RuleWords(spec.rules_path))  # type: ignore[arg-type]
        elif kind == "lexicon":
            built.append(LexiconWords(spec.lexicon_path))  # type: ignore[arg-type]
    return tuple(built)
