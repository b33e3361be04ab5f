"""A coarse mel spectrogram of a whole recording, built from the same decode as the waveform peaks (no Qt).

The image has at most ``max_columns`` columns whatever the length of the file: each column averages
the power of a few FFT frames spread over its stretch of time, so a 3-hour take costs a few thousand
FFTs, not millions. Columns fill in file order while the blocks stream past.
"""

from __future__ import annotations

import math

import numpy as np

from ..features import FeatureParams, mel_filters

FLOOR_DB = -100.0
F_MIN = 40.0


def _mel(f: float) -> float:
    return 1127.0 * math.log(1.0 + f / 700.0)  # the scale of features.mel_filters


class SpectrogramBuilder:
    def __init__(self, sample_rate: int, frames: int, max_columns: int = 4096, n_fft: int = 1024,
                 bands: int = 96, frames_per_column: int = 4) -> None:
        self.sample_rate = sample_rate
        self.frames = max(1, frames)
        self.n_fft = n_fft
        span = max(n_fft // 2, math.ceil(self.frames / max_columns))
        self.columns = max(1, math.ceil(self.frames / span))
        self.column_seconds = span / sample_rate
        k = frames_per_column if span >= n_fft * frames_per_column else 1
        self.per_column = k
        offsets = (np.arange(k) + 0.5) * span / k - n_fft / 2
        starts = np.arange(self.columns)[:, None] * span + offsets[None, :]
        self._starts = np.clip(starts.ravel().astype(np.int64), 0, max(0, self.frames - n_fft))
        self._window = np.hanning(n_fft).astype(np.float32)
        params = FeatureParams(sample_rate=sample_rate, n_fft=n_fft, n_mels=bands, f_min=F_MIN)
        self._filters = mel_filters(params).astype(np.float32)  # (n_fft//2 + 1, bands)
        self._power = np.zeros((len(self._starts), bands), np.float32)
        self._done = 0  # frames computed
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # sample index of _buffer[0]
        self.image = np.full((self.columns, bands), FLOOR_DB, np.float32)
        self.filled = 0  # columns complete

    @property
    def bands(self) -> int:
        return self.image.shape[1]

    def push(self, block: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, np.asarray(block, np.float32)])
        self._compute(self._buffer_start + len(self._buffer))
        keep = min(len(self._buffer), self.n_fft)  # any frame still to do starts in the last n_fft samples
        self._buffer_start += len(self._buffer) - keep
        self._buffer = self._buffer[len(self._buffer) - keep :]

    def finish(self) -> None:
        """Frames reaching past the end (a file shorter than its header said) see silence."""
        end = self._buffer_start + len(self._buffer)
        self._buffer = np.concatenate([self._buffer, np.zeros(self.n_fft, np.float32)])
        self._compute(max(end, int(self._starts[-1]) + self.n_fft) if len(self._starts) else end)
        self.filled = self.columns

    def _compute(self, available: int) -> None:
        ready = int(np.searchsorted(self._starts[self._done :] + self.n_fft, available, side="right"))
        if ready == 0:
            return
        starts = self._starts[self._done : self._done + ready] - self._buffer_start
        starts = np.clip(starts, 0, max(0, len(self._buffer) - self.n_fft))
        frames = self._buffer[starts[:, None] + np.arange(self.n_fft)[None, :]]
        spectrum = np.abs(np.fft.rfft(frames * self._window, axis=1)) ** 2
        self._power[self._done : self._done + ready] = spectrum.astype(np.float32) @ self._filters
        self._done += ready
        first, last = self.filled, self._done // self.per_column
        if last > first:
            power = self._power[first * self.per_column : last * self.per_column]
            power = power.reshape(last - first, self.per_column, -1).mean(axis=1)
            self.image[first:last] = np.maximum(10 * np.log10(power + 1e-12), FLOOR_DB)
            self.filled = last

    def band_position(self, freq: float) -> float:
        """Where ``freq`` (Hz) falls on the image's vertical axis, in bands (band i spans [i, i+1))."""
        lo, hi = _mel(F_MIN), _mel(self.sample_rate / 2)
        return (_mel(freq) - lo) / (hi - lo) * (self.bands + 1) - 0.5

    def levels(self) -> tuple[float, float]:
        """A display range: the loudest band so far and 70 dB below it."""
        top = float(self.image[: self.filled].max()) if self.filled else 0.0
        return top - 70.0, top

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"spec_image": self.image.copy(),
                "spec_geometry": np.array([self.sample_rate, self.frames, self.columns], np.int64)}

    def restore(self, arrays: dict[str, np.ndarray]) -> bool:
        """Take a cached image when its geometry matches; True when taken."""
        geometry = arrays.get("spec_geometry")
        image = arrays.get("spec_image")
        if geometry is None or image is None or [int(x) for x in geometry] != [
                self.sample_rate, self.frames, self.columns] or image.shape != self.image.shape:
            return False
        self.image[:] = image
        self.filled = self.columns
        self._done = len(self._starts)
        return True
