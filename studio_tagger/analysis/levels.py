"""How loud each hop-long bin of a recording is, so that a file's one score per label (what `classify` and
`batch` report) is taken over the stretches that sound, not over a sample's silent tail (no torch).

A one-shot sample or a take with long silences around the playing was scored as the mean over every bin:
the same note with 8 s of silence after it scored a third of what it scored alone, and the label with the
best mean could be the model's guess at silence. The peaks come from the samples the analyzer decodes
anyway, on the pass that already finds the recording's loudest sample.
"""

from __future__ import annotations

import numpy as np

# A bin counts as sounding when its peak is within this much of the recording's: a note's audible decay,
# not the noise floor of a clean sample after it.
SOUNDING_DB = 40.0


class BinPeaks:
    """The largest absolute sample of each bin of ``hop_samples``, fed block by block in file order
    (blocks of any length: a bin may straddle two)."""

    def __init__(self, hop_samples: int) -> None:
        if hop_samples < 1:
            raise ValueError("a bin holds at least one sample")
        self.hop = int(hop_samples)
        self._count = 0
        self._peaks: list[np.ndarray] = []
        self._open = 0.0  # the peak so far of a bin the last block ended inside

    def push(self, magnitude: np.ndarray) -> None:
        """Add the absolute values of the next block of samples."""
        n = len(magnitude)
        if n == 0:
            return
        into = self._count % self.hop  # samples of the current bin already seen
        starts = np.arange((self.hop - into) % self.hop, n, self.hop)
        if len(starts) == 0 or starts[0] != 0:
            starts = np.concatenate([[0], starts])
        # fmax passes over a sample that is not a number (it sounds of nothing); a bin of nothing else is 0
        maxima = np.nan_to_num(np.fmax.reduceat(magnitude, starts).astype(np.float64), nan=0.0)
        if into:
            maxima[0] = max(maxima[0], self._open)
        ends_inside = (self._count + n) % self.hop != 0  # the last segment's bin goes on in the next block
        self._peaks.append(maxima[:-1] if ends_inside else maxima)
        self._open = float(maxima[-1]) if ends_inside else 0.0
        self._count += n

    def peaks(self, n_bins: int | None = None) -> np.ndarray:
        """Each bin's peak (the last, partly filled bin included), cut or padded with silence to
        ``n_bins`` (the analysis grid's length) when given."""
        out = np.concatenate([*self._peaks, [self._open] if self._count % self.hop else []])
        if n_bins is not None:
            out = np.pad(out[:n_bins], (0, max(0, n_bins - len(out))))
        return out


def sounding_bins(peaks: np.ndarray) -> np.ndarray | None:
    """A mask of the bins that sound (peak within `SOUNDING_DB` of the loudest), or None when that would
    keep every bin or none: the file's score is then the plain mean, as before."""
    peaks = np.asarray(peaks, np.float64)
    if len(peaks) == 0:
        return None
    loudest = float(peaks.max())
    if not loudest > 0.0:
        return None
    mask = peaks >= loudest * 10 ** (-SOUNDING_DB / 20)
    return None if mask.all() else mask
