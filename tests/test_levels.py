"""Each bin's peak, and a file's one score per label taken over the bins that sound: a sample's silent
tail or the silence around a take does not water down what `classify` and `batch` report."""

from __future__ import annotations

import numpy as np
import pytest
from audiogen import tone_burst

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.levels import SOUNDING_DB, BinPeaks, sounding_bins


@pytest.mark.parametrize("hop", [1, 7, 8000])
@pytest.mark.parametrize("block", [1, 5, 3001, 10**6])
def test_bin_peaks_streamed_in_any_blocks_match_a_direct_reduction(hop: int, block: int) -> None:
    x = np.abs(np.random.default_rng(hop + block).standard_normal(40_003)).astype(np.float32)
    x[123] = np.nan  # read as silence, as the analyzer reads it
    peaks = BinPeaks(hop)
    for i in range(0, len(x), block):
        peaks.push(x[i : i + block])
    clean = np.nan_to_num(x, nan=0.0)
    want = np.array([clean[i : i + hop].max() for i in range(0, len(x), hop)])
    np.testing.assert_array_equal(peaks.peaks(), want)
    np.testing.assert_array_equal(peaks.peaks(3), want[:3])
    np.testing.assert_array_equal(peaks.peaks(len(want) + 2), np.concatenate([want, [0.0, 0.0]]))


def test_the_bins_that_sound_are_those_near_the_files_peak() -> None:
    quiet = 10 ** (-(SOUNDING_DB + 1) / 20)
    np.testing.assert_array_equal(sounding_bins(np.array([0.5, 1.0, 0.2, quiet, 0.0])),
                                  [True, True, True, False, False])
    # every bin alike, nothing at all, or no bins: the plain mean stands
    for peaks in (np.full(4, 0.3), np.zeros(4), np.zeros(0)):
        assert sounding_bins(peaks) is None


def test_a_silent_tail_leaves_the_files_scores_as_they_were(write_audio, energy_model) -> None:
    rate = 22050
    burst = tone_burst(6.0, rate, 0.0, 6.0)
    alone = Analyzer(energy_model, device="cpu").analyze(write_audio("alone.wav", burst, rate))
    tail = np.concatenate([burst, np.zeros((12 * rate, 1), np.float32)])
    tailed = Analyzer(energy_model, device="cpu").analyze(write_audio("tailed.wav", tail, rate))
    label = alone.best_label()
    assert tailed.best_label() == label
    before, plain = alone.mean_scores()[label], float(tailed.activity[:, 0].mean())
    assert plain < 0.6 * before  # the bins over the tail are dark: the mean over every bin falls by half
    # Only windows that reach from the tone into the tail still pull its last bins down a little.
    assert abs(tailed.mean_scores()[label] - before) < 0.25 * (before - plain)
    # a result without levels (read back from elsewhere) keeps the plain mean
    del tailed.extra["bin_peaks"]
    assert tailed.mean_scores()[label] == pytest.approx(float(tailed.activity[:, 0].mean()))
