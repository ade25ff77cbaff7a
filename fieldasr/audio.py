"""Reading audio: any soundfile format (wav, flac, ogg, mp3), mono, 16 kHz, and slices of long files.

Reading a slice seeks in the file, so a segment of a multi-hour recording costs only its own length.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from fieldasr.errors import AudioError

TARGET_SAMPLING_RATE = 16_000
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff")


@dataclass(frozen=True)
class AudioInfo:
    sampling_rate: int
    num_samples: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sampling_rate


def audio_info(path: str | Path) -> AudioInfo:
    """Header facts of an audio file, without decoding it."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found. Check the path (relative paths are taken from the annotation file's folder).")
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(
            f"{path}: cannot read this audio file ({error}). It may be corrupt, truncated or in an "
            f"unsupported format; convert it to WAV or FLAC (e.g. `sox in.xxx -r 16000 out.wav`)."
        ) from error
    if info.frames <= 0:
        raise AudioError(f"{path}: the audio file holds no samples (empty or truncated). Re-export it from the recorder's original.")
    return AudioInfo(sampling_rate=int(info.samplerate), num_samples=int(info.frames), channels=int(info.channels))


def load_audio(
    path: str | Path,
    start: float = 0.0,
    duration: float | None = None,
    sampling_rate: int = TARGET_SAMPLING_RATE,
) -> np.ndarray:
    """Mono float32 samples of `path` from `start` seconds for `duration` seconds, at `sampling_rate`.

    Only the requested frames are decoded; stereo is averaged; other rates are resampled.
    """
    path = Path(path)
    info = audio_info(path)
    first = int(round(start * info.sampling_rate))
    frames = -1 if duration is None else int(round(duration * info.sampling_rate))
    if first < 0 or first >= info.num_samples:
        raise AudioError(f"{path}: start {start:.3f} s lies outside the audio (length {info.duration:.3f} s).")
    try:
        samples, file_rate = soundfile.read(str(path), start=first, frames=frames, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(f"{path}: decoding failed at {start:.3f} s ({error}); the file may be truncated or corrupt.") from error
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return resample(mono, file_rate, sampling_rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling through torchaudio (sinc interpolation)."""
    if from_rate == to_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import torch
    import torchaudio.functional

    tensor = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    return torchaudio.functional.resample(tensor, from_rate, to_rate).numpy()


def write_audio(path: str | Path, samples: np.ndarray, sampling_rate: int = TARGET_SAMPLING_RATE) -> None:
    """Write mono float samples as 16-bit PCM (format from the extension)."""
    soundfile.write(str(path), np.asarray(samples, dtype=np.float32), sampling_rate, subtype="PCM_16")
