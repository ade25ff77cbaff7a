"""Speech from libespeak-ng through ctypes: many utterances from one process, no process per utterance.

The command-line `espeak-ng` costs a process start per utterance; the library synthesises in the
caller's process at several hundred times real time. libespeak-ng keeps global state (voice, rate,
pitch), so one process should hold one `EspeakSynthesizer`; the corpus builder runs it in worker
processes, which also keeps it apart from phonemizer's own copy of the library.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from fieldasr_examples.corpora.errors import CorpusSourceError

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POSITION_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAMETER_RATE = 1
_PARAMETER_PITCH = 3
_PARAMETER_RANGE = 4
_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _load_library() -> ctypes.CDLL:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        return ctypes.cdll.LoadLibrary(name)
    except OSError as error:
        raise CorpusSourceError(
            f"cannot load the espeak-ng library ({error}). Install it with `apt-get install libespeak-ng1 espeak-ng` "
            "(tools/install_system_packages.sh does this)."
        ) from error


class EspeakSynthesizer:
    """16-bit mono speech at `sample_rate` (22050 Hz for espeak-ng's own voices)."""

    def __init__(self) -> None:
        self._library = _load_library()
        self.sample_rate = int(self._library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0))
        if self.sample_rate <= 0:
            raise CorpusSourceError("espeak-ng failed to initialise: its data folder (espeak-ng-data) is missing. Reinstall espeak-ng-data.")
        self._chunks: list[np.ndarray] = []
        # The callback object must outlive every synthesis call, so it is kept on the instance.
        self._callback = _SynthCallback(self._collect)
        self._library.espeak_SetSynthCallback(self._callback)
        self._library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._library.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]

    def _collect(self, samples: ctypes.POINTER(ctypes.c_short), count: int, events: int) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def set_voice(self, voice: str, pitch: int = 50, rate: int = 175, pitch_range: int = 50) -> None:
        """`voice` is an espeak-ng voice with optional variant ("nl+f2"); pitch and range 0-100, rate in words/minute."""
        if self._library.espeak_SetVoiceByName(voice.encode()) != _OK:
            raise CorpusSourceError(f"espeak-ng has no voice {voice!r}. List the voices with `espeak-ng --voices` and `--voices=variant`.")
        for parameter, value in ((_PARAMETER_RATE, rate), (_PARAMETER_PITCH, pitch), (_PARAMETER_RANGE, pitch_range)):
            self._library.espeak_SetParameter(parameter, int(value), 0)

    def synthesize(self, text: str) -> np.ndarray:
        """int16 samples of `text` spoken with the current voice."""
        self._chunks = []
        encoded = text.encode("utf-8")
        status = self._library.espeak_Synth(encoded, len(encoded) + 1, 0, _POSITION_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._library.espeak_Synchronize()
        if status != _OK or not self._chunks:
            raise CorpusSourceError(f"espeak-ng produced no audio for {text[:60]!r} (status {status}).")
        return np.concatenate(self._chunks)
