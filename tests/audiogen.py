"""Test signals made on the fly."""

from __future__ import annotations

import numpy as np


def tone_burst(duration: float, rate: int, start: float, stop: float, channels: int = 1,
               freq: float = 1000.0, noise: float = 0.002, seed: int = 0) -> np.ndarray:
    """Faint noise with a 1 kHz tone between start and stop (seconds); shape (frames, channels)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    x = noise * rng.standard_normal(n)
    on = (t >= start) & (t < stop)
    x[on] += 0.5 * np.sin(2 * np.pi * freq * t[on])
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)
