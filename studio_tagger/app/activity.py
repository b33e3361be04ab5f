"""Instrument activity on a regular time grid, filled chunk by chunk while views show it (no Qt)."""

from __future__ import annotations

import math

import numpy as np

from ..analysis.regions import Region, RegionParams, find_regions


class ActivityModel:
    """``activity[i]`` holds the scores of bin i (centre ``times[i]``); bins below ``filled`` are known."""

    def __init__(self, labels: tuple[str, ...], hop: float, duration: float, model: str = "") -> None:
        self.labels = tuple(labels)
        self.hop = float(hop)
        self.duration = float(duration)
        self.model = model
        n = max(1, math.ceil(round(self.duration / self.hop, 6)))
        self.times = (np.arange(n) + 0.5) * self.hop
        self.activity = np.zeros((n, len(self.labels)), np.float32)
        self.filled = 0

    @classmethod
    def complete(cls, labels: tuple[str, ...], hop: float, duration: float, times: np.ndarray,
                 activity: np.ndarray, model: str = "") -> ActivityModel:
        """A model from a finished analysis (a saved session)."""
        m = cls(labels, hop, duration, model)
        m.times = np.asarray(times, np.float64)
        m.activity = np.asarray(activity, np.float32).reshape(len(m.times), len(m.labels))
        m.filled = len(m.times)
        return m

    @property
    def is_complete(self) -> bool:
        return self.filled >= len(self.times)

    @property
    def filled_seconds(self) -> float:
        return min(self.duration, self.filled * self.hop)

    def append(self, times: np.ndarray, activity: np.ndarray) -> tuple[float, float]:
        """Write the rows of a chunk in place; returns the time range that changed."""
        if len(times) == 0:
            return (self.filled_seconds, self.filled_seconds)
        first = int(round(float(times[0]) / self.hop - 0.5))
        last = min(len(self.times), first + len(times))
        self.activity[first:last] = activity[: last - first]
        self.filled = max(self.filled, last)
        return first * self.hop, last * self.hop

    def known(self) -> tuple[np.ndarray, np.ndarray]:
        return self.times[: self.filled], self.activity[: self.filled]

    def detect(self, params: RegionParams) -> list[Region]:
        """Regions over the known part (while analysis runs, the last one may still grow)."""
        times, activity = self.known()
        if len(times) == 0:
            return []
        end = self.duration if self.is_complete else self.filled_seconds
        return find_regions(times, activity, self.labels, params, duration=end)
