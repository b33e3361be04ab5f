"""Guitar amplifier and pedal chains (Spotify's `pedalboard`), drawn at random, wide.

A distorted electric guitar is a clean string signal driven hard into clipping and then filtered by a
speaker cabinet that passes little above 3-5 kHz. A mild drive is not enough: in a probe on real recordings,
DI notes through a soft tanh read as saxophone, while a two-stage high-gain drive with steep low-passes
read as distorted guitar. So every chain here has 25-45 dB of drive (sometimes a second stage), a steep
cabinet low-pass between 2.5 and 5.5 kHz, a mid scoop or push, and now and then chorus, delay or a room.
"""

from __future__ import annotations

import numpy as np


def random_chain(rng: np.random.Generator):
    """A `pedalboard.Pedalboard` of randomly set stages (pedalboard is imported here, as only training needs it)."""
    import pedalboard as pb

    cab = float(rng.uniform(2500.0, 5500.0))
    stages = [pb.HighpassFilter(cutoff_frequency_hz=float(rng.uniform(60.0, 160.0)))]
    if rng.random() < 0.4:
        stages.append(pb.Compressor(threshold_db=float(rng.uniform(-30.0, -15.0)), ratio=float(rng.uniform(2, 8))))
    if rng.random() < 0.5:  # a tube-screamer-like mid push before the amp
        stages.append(pb.PeakFilter(cutoff_frequency_hz=float(rng.uniform(600.0, 1200.0)),
                                    gain_db=float(rng.uniform(3.0, 9.0)), q=0.7))
    stages.append(pb.Distortion(drive_db=float(rng.uniform(25.0, 45.0))))
    if rng.random() < 0.5:  # a second gain stage
        stages += [pb.LowpassFilter(cutoff_frequency_hz=float(rng.uniform(4000.0, 8000.0))),
                   pb.Distortion(drive_db=float(rng.uniform(10.0, 30.0)))]
    stages += [
        pb.PeakFilter(cutoff_frequency_hz=float(rng.uniform(350.0, 900.0)), gain_db=float(rng.uniform(-9.0, 3.0)),
                      q=float(rng.uniform(0.5, 1.5))),
        pb.PeakFilter(cutoff_frequency_hz=float(rng.uniform(1500.0, 3000.0)), gain_db=float(rng.uniform(0.0, 6.0)),
                      q=1.0),
        pb.LowpassFilter(cutoff_frequency_hz=cab),
        pb.LowpassFilter(cutoff_frequency_hz=cab * float(rng.uniform(1.0, 1.4))),
        pb.LowpassFilter(cutoff_frequency_hz=cab * float(rng.uniform(1.2, 1.8))),
    ]
    if rng.random() < 0.25:
        stages.append(pb.Chorus(rate_hz=float(rng.uniform(0.3, 2.0)), depth=float(rng.uniform(0.1, 0.4)), mix=0.3))
    if rng.random() < 0.25:
        stages.append(pb.Delay(delay_seconds=float(rng.uniform(0.12, 0.45)), feedback=float(rng.uniform(0.1, 0.4)),
                               mix=float(rng.uniform(0.1, 0.3))))
    if rng.random() < 0.4:
        stages.append(pb.Reverb(room_size=float(rng.uniform(0.1, 0.6)), wet_level=float(rng.uniform(0.05, 0.3)),
                                dry_level=1.0))
    return pb.Pedalboard(stages)


def amplify(audio: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """``audio`` through a random amplifier chain, peak-normalised (a clipped guitar is loud whatever went in)."""
    x = audio.astype(np.float32) / max(float(np.abs(audio).max()), 1e-6)
    y = random_chain(rng)(x, float(rate))
    return (y / max(float(np.abs(y).max()), 1e-6) * 0.9).astype(np.float32)
