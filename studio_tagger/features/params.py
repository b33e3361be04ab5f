"""The log-mel's parameters, its mel filters and the frame arithmetic that follows from them, without
torch (the app's window, its spectrogram and the command line's early checks need them before torch has
loaded)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureParams:
    sample_rate: int = 16000
    frame_length: int = 400
    frame_shift: int = 160
    n_fft: int = 512
    n_mels: int = 128
    f_min: float = 20.0
    preemphasis: float = 0.97
    floor: float = 1.192092955078125e-07
    mean: float = -4.2677393
    std: float = 4.5689974

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureParams:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def frames_in(self, n_samples: int) -> int:
        """Frames Kaldi produces for ``n_samples`` (snip_edges: no partial frames)."""
        if n_samples < self.frame_length:
            return 0
        return 1 + (n_samples - self.frame_length) // self.frame_shift

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.frame_shift


def _kaldi_mel(f: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log(1.0 + f / 700.0)


def mel_filters(params: FeatureParams) -> np.ndarray:
    """(n_fft//2 + 1, n_mels) triangles, flat-topped at 1, spaced evenly on Kaldi's mel scale."""
    n_bins = params.n_fft // 2 + 1
    bin_mel = _kaldi_mel(np.arange(n_bins) * params.sample_rate / params.n_fft)
    edges = np.linspace(_kaldi_mel(params.f_min), _kaldi_mel(params.sample_rate / 2), params.n_mels + 2)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - left) / (centre - left)
    falling = (right - bin_mel[:, None]) / (right - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def window_frames(seconds: float, params: FeatureParams | None = None) -> int:
    """Frames of one analysis window: what Kaldi gives for ``seconds`` of audio."""
    p = params or FeatureParams()
    return p.frames_in(int(round(seconds * p.sample_rate)))


def seconds_to_frames(seconds: float, params: FeatureParams | None = None) -> int:
    p = params or FeatureParams()
    return int(math.floor(seconds * p.frame_rate + 1e-6))
