"""Noise and reverb: the SNR and the reverberation time are what was asked, measured independently."""
from __future__ import annotations

import numpy as np
import pytest

from fieldasr_examples.corpora.augment import add_noise, add_reverb, room_impulse_response

RATE = 16000


def tone(seconds: float = 2.0) -> np.ndarray:
    times = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * times)).astype(np.float32)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
def test_noise_is_added_at_the_requested_snr(snr_db):
    clean = tone()
    noisy = add_noise(clean, snr_db, np.random.default_rng(0))
    noise = noisy - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert measured == pytest.approx(snr_db, abs=0.2)


def test_noise_is_reproducible_from_the_seed():
    clean = tone(0.5)
    first = add_noise(clean, 10.0, np.random.default_rng(5))
    assert np.array_equal(first, add_noise(clean, 10.0, np.random.default_rng(5)))
    assert not np.array_equal(first, add_noise(clean, 10.0, np.random.default_rng(6)))


@pytest.mark.parametrize("reverberation_time", [0.2, 0.5])
def test_room_response_decays_60_db_in_the_reverberation_time(reverberation_time):
    response = room_impulse_response(RATE, np.random.default_rng(1), reverberation_time)[1:]  # the tail only
    # Schroeder backward integration, the standard RT60 measurement: fit the -5..-25 dB decay, extrapolate to -60 dB.
    energy = np.cumsum(response[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    fit = (decay_db <= -5) & (decay_db >= -25)
    slope = np.polyfit(np.arange(len(decay_db))[fit] / RATE, decay_db[fit], 1)[0]
    assert -60 / slope == pytest.approx(reverberation_time, rel=0.1)


def test_reverb_keeps_length_and_peak_and_smears_a_click():
    click = np.zeros(RATE, dtype=np.float32)
    click[100] = 0.5
    wet = add_reverb(click, RATE, np.random.default_rng(2), reverberation_time=0.3)
    assert len(wet) == len(click)
    assert np.max(np.abs(wet)) == pytest.approx(0.5, rel=1e-5)
    assert np.sum(np.abs(wet[200:4000]) > 1e-4) > 1000
