"""Waveform summaries: min/max of the mono mix per bucket, at several resolutions (no Qt).

A 3-hour 48 kHz take has half a billion samples; a view a few thousand pixels wide needs at most two
values per pixel. Level 0 keeps the min and max of every ``base`` samples, each coarser level the
min/max of ``factor`` buckets of the level below (Sonic Visualiser keeps summaries the same way). A
view asks :meth:`PeakPyramid.select` for the coarsest level that still gives it enough buckets.

The pyramid is filled block by block while the file streams in (see :func:`build_peaks`), so a
window can draw the part summarised so far; readers on other threads only look below ``filled``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .reader import iter_blocks, probe

BASE = 256
FACTOR = 4
COARSEST = 2048  # levels stop once a level has at most this many buckets


class PeaksCancelled(Exception):
    """``build_peaks`` stopped because ``should_cancel`` answered True."""


@dataclass(frozen=True)
class PeakSlice:
    """Buckets of one level over a time range: bucket i spans [starts[i], starts[i] + bucket_seconds)."""

    starts: np.ndarray  # seconds
    mins: np.ndarray
    maxs: np.ndarray
    bucket_seconds: float


class PeakPyramid:
    def __init__(self, sample_rate: int, frames: int, base: int = BASE, factor: int = FACTOR) -> None:
        if sample_rate <= 0 or base < 1 or factor < 2:
            raise ValueError("sample_rate, base and factor must be positive (factor >= 2)")
        self.sample_rate = sample_rate
        self.frames = max(0, int(frames))
        self.base = base
        self.factor = factor
        self.sizes: list[int] = []  # samples per bucket at each level
        self.mins: list[np.ndarray] = []
        self.maxs: list[np.ndarray] = []
        spb = base
        while True:
            n = max(1, math.ceil(self.frames / spb))
            self.sizes.append(spb)
            self.mins.append(np.zeros(n, np.float32))
            self.maxs.append(np.zeros(n, np.float32))
            if n <= COARSEST:
                break
            spb *= factor
        self.counts = [0] * len(self.sizes)  # complete buckets per level
        self._carry = np.zeros(0, np.float32)
        self.complete = False

    @property
    def filled_seconds(self) -> float:
        """How far from the start the finest level is known."""
        if self.complete:
            return self.frames / self.sample_rate
        return self.counts[0] * self.base / self.sample_rate

    @property
    def levels(self) -> int:
        return len(self.sizes)

    def push(self, block: np.ndarray) -> None:
        """Add the next samples of the mono mix, in file order."""
        data = np.concatenate([self._carry, np.asarray(block, np.float32)]) if len(self._carry) else block
        whole = len(data) // self.base
        if whole:
            self._write0(data[: whole * self.base].reshape(whole, self.base))
        self._carry = np.array(data[whole * self.base :], np.float32)

    def finish(self) -> None:
        """Summarise the last partial bucket of every level; the pyramid is then complete."""
        if len(self._carry):
            self._write0(self._carry.reshape(1, -1))
            self._carry = np.zeros(0, np.float32)
        self._update_coarse(final=True)
        self.complete = True

    def _write0(self, buckets: np.ndarray) -> None:
        i = self.counts[0]
        n = min(len(buckets), len(self.mins[0]) - i)  # a file longer than its header said is clipped
        if n <= 0:
            return
        self.mins[0][i : i + n] = buckets[:n].min(axis=1)
        self.maxs[0][i : i + n] = buckets[:n].max(axis=1)
        self.counts[0] = i + n
        self._update_coarse(final=False)

    def _update_coarse(self, final: bool) -> None:
        f = self.factor
        for level in range(1, self.levels):
            below = self.counts[level - 1]
            first = self.counts[level]
            last = min(len(self.mins[level]), math.ceil(below / f) if final else below // f)
            if last <= first:
                continue
            lo, hi = first * f, min(below, last * f)
            pad = last * f - hi  # the final group may be short
            mins = self.mins[level - 1][lo:hi]
            maxs = self.maxs[level - 1][lo:hi]
            if pad:
                mins = np.concatenate([mins, np.repeat(mins[-1:], pad)])
                maxs = np.concatenate([maxs, np.repeat(maxs[-1:], pad)])
            self.mins[level][first:last] = mins.reshape(-1, f).min(axis=1)
            self.maxs[level][first:last] = maxs.reshape(-1, f).max(axis=1)
            self.counts[level] = last

    def select(self, t0: float, t1: float, max_buckets: int) -> PeakSlice:
        """The finest level with at most ``max_buckets`` buckets in [t0, t1], restricted to what is filled.

        Returns an empty slice when nothing in the range is summarised yet.
        """
        span = max(t1 - t0, 1e-9) * self.sample_rate
        level = self.levels - 1
        for i, spb in enumerate(self.sizes):
            if span / spb <= max_buckets:
                level = i
                break
        spb = self.sizes[level]
        first = max(0, int(t0 * self.sample_rate // spb))
        last = min(self.counts[level], int(math.ceil(t1 * self.sample_rate / spb)) + 1)
        idx = np.arange(first, max(first, last))
        return PeakSlice(idx * (spb / self.sample_rate), self.mins[level][first:last],
                         self.maxs[level][first:last], spb / self.sample_rate)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The finest level and its geometry, enough to rebuild the pyramid (for session caches)."""
        n = self.counts[0]
        return {"peaks_min": self.mins[0][:n].copy(), "peaks_max": self.maxs[0][:n].copy(),
                "peaks_geometry": np.array([self.sample_rate, self.frames, self.base, self.factor], np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PeakPyramid:
        rate, frames, base, factor = (int(x) for x in arrays["peaks_geometry"])
        pyramid = cls(rate, frames, base, factor)
        mins, maxs = np.asarray(arrays["peaks_min"], np.float32), np.asarray(arrays["peaks_max"], np.float32)
        if mins.shape != pyramid.mins[0].shape or maxs.shape != mins.shape:
            raise ValueError("cached peaks do not match the recording's length")
        pyramid.mins[0][:] = mins
        pyramid.maxs[0][:] = maxs
        pyramid.counts[0] = len(mins)
        pyramid._update_coarse(final=True)
        pyramid.complete = True
        return pyramid


def build_peaks(
    path: str | os.PathLike, *, block_seconds: float = 10.0,
    on_block: Callable[[PeakPyramid, np.ndarray], None] | None = None,
    should_cancel: Callable[[], bool] | None = None, into: PeakPyramid | None = None,
) -> PeakPyramid:
    """Stream the file at its own rate into a pyramid. ``on_block(pyramid, block)`` runs after each block
    (progress, or another summary fed from the same decode); raises PeaksCancelled when asked to stop.

    ``into``: an empty pyramid made for this file (so that a view can draw it while it fills).
    """
    info = probe(path)
    pyramid = into if into is not None else PeakPyramid(info.sample_rate, info.frames)
    if (pyramid.sample_rate, pyramid.frames) != (info.sample_rate, info.frames) or pyramid.counts[0]:
        raise ValueError("build_peaks: 'into' must be an empty pyramid of this file's length and rate")
    for block in iter_blocks(info.path, None, block_seconds):
        if should_cancel is not None and should_cancel():
            raise PeaksCancelled(f"summary of {info.path} cancelled")
        pyramid.push(block)
        if on_block is not None:
            on_block(pyramid, block)
    pyramid.finish()
    return pyramid
