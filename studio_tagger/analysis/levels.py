"""How loud each hop-long bin of a recording is, so that a file's one score per label (what `classify` and
`batch` report) is taken over the stretches that sound, not over a sample's silent tail (no torch).

A one-shot sample or a take with long silences around the playing was scored as the mean over every bin:
8 s of silence after a 3 s phrase took most of its score, and the label with the best mean could be the
model's guess at silence. The levels come from the samples the analyzer decodes anyway.
"""

from __future__ import annotations

import numpy as np

# A bin counts as sounding when its RMS level is within this much of the loudest bin's: a note's audible
# decay, not the noise floor of a clean sample after it. RMS rather than peak, so that one click at full
# scale does not push quiet playing out.
SOUNDING_DB = 40.0


class BinLevels:
    """The RMS level of each bin of ``hop_samples``, fed block by block in file order (blocks of any
    length: a bin may straddle two). A bin holding a sample that is not a finite number counts as silent."""

    def __init__(self, hop_samples: int) -> None:
        if hop_samples < 1:
            raise ValueError("a bin holds at least one sample")
        self.hop = int(hop_samples)
        self._done: list[np.ndarray] = []  # mean squares of whole bins
        self._open = (0.0, 0)  # sum of squares and samples of a bin the last block ended inside

    def push(self, block: np.ndarray) -> None:
        """Add the next block of samples (mono)."""
        n = len(block)
        if n == 0:
            return
        into = self._open[1]  # samples of the current bin already seen
        starts = np.arange((self.hop - into) % self.hop, n, self.hop)
        if len(starts) == 0 or starts[0] != 0:
            starts = np.concatenate([[0], starts])
        sums = np.add.reduceat(np.square(block, dtype=np.float64), starts)
        counts = np.diff(np.append(starts, n))
        sums[0] += self._open[0]
        counts[0] += into
        if (into + n) % self.hop:  # the last segment's bin goes on in the next block
            self._done.append(sums[:-1] / counts[:-1])
            self._open = (float(sums[-1]), int(counts[-1]))
        else:
            self._done.append(sums / counts)
            self._open = (0.0, 0)

    def rms(self, n_bins: int | None = None) -> np.ndarray:
        """Each bin's RMS level (the last, partly filled bin included), cut or padded with silence to
        ``n_bins`` (the analysis grid's length) when given."""
        last = [self._open[0] / self._open[1]] if self._open[1] else []
        out = np.sqrt(np.nan_to_num(np.concatenate([*self._done, last]), nan=0.0, posinf=0.0))
        if n_bins is not None:
            out = np.pad(out[:n_bins], (0, max(0, n_bins - len(out))))
        return out


def sounding_bins(levels: np.ndarray) -> np.ndarray | None:
    """A mask of the bins that sound (level within `SOUNDING_DB` of the loudest), or None when that would
    keep every bin or none: the file's score is then the plain mean, as before."""
    levels = np.asarray(levels, np.float64)
    if len(levels) == 0:
        return None
    loudest = float(levels.max())
    if not loudest > 0.0:
        return None
    mask = levels >= loudest * 10 ** (-SOUNDING_DB / 20)
    return None if mask.all() else mask
