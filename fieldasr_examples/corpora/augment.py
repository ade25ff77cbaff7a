"""Acoustic variation for synthetic speech: additive noise at a given SNR and a simple room reverb."""
from __future__ import annotations

import numpy as np
import scipy.signal


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`samples` plus white Gaussian noise whose power is `snr_db` below the signal's mean power."""
    signal_power = float(np.mean(np.square(samples, dtype=np.float64)))
    if signal_power == 0.0:
        return samples.astype(np.float32)
    noise_power = signal_power / (10.0 ** (snr_db / 10.0))
    noise = rng.normal(0.0, np.sqrt(noise_power), size=samples.shape)
    return (samples + noise).astype(np.float32)


def room_impulse_response(sampling_rate: int, rng: np.random.Generator, reverberation_time: float = 0.3) -> np.ndarray:
    """A direct path followed by exponentially decaying noise: the energy falls by 60 dB after `reverberation_time` s."""
    length = int(reverberation_time * sampling_rate)
    times = np.arange(length) / sampling_rate
    # Amplitude decays by 10^(-3) (= -60 dB) at t = reverberation_time: exp(-6.9078 t / T).
    tail = rng.normal(0.0, 1.0, size=length) * np.exp(-np.log(1000.0) * times / reverberation_time)
    response = 0.3 * tail / np.sqrt(np.sum(tail**2))
    response[0] = 1.0
    return response


def add_reverb(samples: np.ndarray, sampling_rate: int, rng: np.random.Generator, reverberation_time: float = 0.3) -> np.ndarray:
    """Convolve with a synthetic room response; the result keeps the input length and peak level."""
    response = room_impulse_response(sampling_rate, rng, reverberation_time)
    wet = scipy.signal.fftconvolve(samples, response)[: len(samples)]
    peak_in, peak_out = float(np.max(np.abs(samples))), float(np.max(np.abs(wet)))
    if peak_out > 0:
        wet *= peak_in / peak_out
    return wet.astype(np.float32)
