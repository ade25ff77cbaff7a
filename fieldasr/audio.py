"""Reading audio: any soundfile format (wav, flac, ogg, mp3), mono, 16 kHz, and slices of long files.

Reading a slice seeks in the file, so a segment of a multi-hour recording costs only its own length.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fieldasr.errors import AudioError

TARGET_SAMPLING_RATE = 16_000
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff")
AUDIO_PROBLEMS = ("missing", "empty", "truncated", "not audio", "unreadable")


class AudioFileError(AudioError):
    """An audio file that cannot be used, and which of AUDIO_PROBLEMS it has (for counts in `validate`)."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class AudioInfo:
    sampling_rate: int
    num_samples: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sampling_rate


def _soundfile():
    """soundfile, imported when audio is read or written: the models and the GPU check run without it."""
    try:
        import soundfile
    except ImportError as error:
        raise AudioError(f"reading and writing audio needs the soundfile package ({error}): pip install soundfile") from error
    return soundfile


# The first bytes of each format soundfile reads; a file starting otherwise is not audio at all.
_SIGNATURES = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"FORM")


def _wav_shortfall(path: Path, size: int) -> int:
    """Bytes of audio a WAV header promises beyond the end of the file (0: complete, or not a plain RIFF WAV)."""
    with open(path, "rb") as stream:
        head = stream.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            stream.seek(offset)
            chunk = stream.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return max(0, offset + 8 + length - size)
            offset += 8 + length + (length & 1)
    return 0


def _unreadable(path: Path, error: Exception) -> AudioError:
    with open(path, "rb") as stream:
        head = stream.read(4)
    if not head.startswith(_SIGNATURES) and not head[:2].startswith((b"\xff",)):
        return AudioFileError(f"{path}: not audio (renamed?): the file does not start like any audio format; it may be "
                          "a text or other document given an audio name. Check the file, or convert real audio to WAV.", "not audio")
    return AudioFileError(
        f"{path}: cannot read this audio file: it starts like audio but is truncated or corrupt ({error}). Copy it again "
        f"from the recorder or a backup, or convert it to WAV or FLAC (e.g. `sox in.xxx -r 16000 out.wav`).", "unreadable"
    )


def audio_info(path: str | Path) -> AudioInfo:
    """Header facts of an audio file, without decoding it; raises AudioError saying "not found", "empty",
    "truncated" or "not audio (renamed?)" when that is what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: audio file not found. Check the path (relative paths are taken from the annotation file's folder).", "missing")
    size = path.stat().st_size
    if size == 0:
        raise AudioFileError(f"{path}: the audio file is empty (0 bytes), e.g. from an interrupted copy. Copy it again from the recorder or a backup.", "empty")
    soundfile = _soundfile()
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise _unreadable(path, error) from error
    if info.frames <= 0:
        raise AudioFileError(f"{path}: the audio file is empty: it holds no samples (or is truncated before the first one). "
                             "Copy it again from the recorder or a backup.", "empty")
    missing = _wav_shortfall(path, size)
    if missing:
        bytes_per_second = max(1, size - 44) / max(info.frames / info.samplerate, 1e-9)
        raise AudioFileError(f"{path}: truncated: the WAV header promises about {missing / bytes_per_second:.1f} s more audio than the file "
                             f"holds (it ends after {info.frames / info.samplerate:.1f} s), e.g. after an interrupted copy. "
                             "Copy it again from the recorder or a backup.", "truncated")
    return AudioInfo(sampling_rate=int(info.samplerate), num_samples=int(info.frames), channels=int(info.channels))


def check_audio_end(path: str | Path, info: AudioInfo) -> None:
    """Read the last few samples: a compressed file (FLAC, Ogg) cut short still has a header promising the full length."""
    path, soundfile = Path(path), _soundfile()
    try:
        with soundfile.SoundFile(str(path)) as stream:
            stream.seek(max(0, info.num_samples - 16))
            read = len(stream.read(16))
    except (RuntimeError, soundfile.LibsndfileError):
        read = 0
    if read == 0:
        raise AudioFileError(f"{path}: truncated: its header promises {info.duration:.1f} s of audio but the end of it cannot be read, "
                             "e.g. after an interrupted copy. Copy it again from the recorder or a backup.", "truncated")


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
    soundfile = _soundfile()
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
    _soundfile().write(str(path), np.asarray(samples, dtype=np.float32), sampling_rate, subtype="PCM_16")
