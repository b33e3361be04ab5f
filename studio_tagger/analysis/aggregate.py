"""Overlap-add of window probabilities into an activity matrix on a regular time grid.

Window k covers [k*hop, k*hop + window). The grid has one bin per hop; bin i spans [i*hop, (i+1)*hop)
and its value is the mean of the probabilities of every window that covers it (uniform window weight).
A bin is final once the window that starts in it is known, so bins stream out in time order.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_HOP = 0.5  # seconds between windows: the CLI's --hop default and its help text


class BinAggregator:
    def __init__(self, windows_per_bin: int, n_bins: int, n_labels: int) -> None:
        self.span = max(1, windows_per_bin)  # how many windows cover one bin
        self.n_bins = n_bins
        self.n_labels = n_labels
        self._probs = np.zeros((0, n_labels), np.float32)  # windows not yet needed by a later bin
        self._base = 0  # window index of _probs[0]
        self._windows = 0
        self._emitted = 0

    @staticmethod
    def windows_per_bin(window: float, hop: float) -> int:
        return math.ceil(round(window / hop, 6))

    def push(self, probs: np.ndarray, final: bool = False) -> np.ndarray:
        """Add window probabilities; returns the newly final bins (rows of the activity matrix)."""
        if len(probs):
            self._probs = np.concatenate([self._probs, probs.astype(np.float32, copy=False)])
            self._windows += len(probs)
        last = self.n_bins if final else min(self.n_bins, self._windows)
        rows = []
        for i in range(self._emitted, last):
            first_w = max(0, i - self.span + 1)
            last_w = min(i, self._windows - 1)
            if first_w > last_w:  # past the last window's reach (tail shorter than a hop)
                first_w = last_w
            rows.append(self._probs[first_w - self._base : last_w - self._base + 1].mean(axis=0))
        self._emitted = last
        drop = max(0, self._emitted - self.span + 1) - self._base
        if drop > 0:
            drop = min(drop, len(self._probs) - 1)
            self._probs = self._probs[drop:]
            self._base += drop
        return np.stack(rows) if rows else np.zeros((0, self.n_labels), np.float32)
