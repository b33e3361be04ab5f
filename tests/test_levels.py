"""Each bin's level, and a file's one score per label taken over the bins that sound: a sample's silent
tail or the silence around a take does not water down what `classify` and `batch` report."""

from __future__ import annotations

import numpy as np
import pytest
from audiogen import tone_burst

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.levels import SOUNDING_DB, BinLevels, sounding_bins


def _levels(x: np.ndarray, hop: int, block: int) -> np.ndarray:
    levels = BinLevels(hop)
    for i in range(0, len(x), block):
        levels.push(x[i : i + block])
    return levels.rms()


@pytest.mark.parametrize("hop", [1, 7, 8000])
@pytest.mark.parametrize("block", [1, 5, 3001, 10**6])
def test_bin_levels_streamed_in_any_blocks_match_a_direct_reduction(hop: int, block: int) -> None:
    x = np.random.default_rng(hop + block).standard_normal(40_003).astype(np.float32)
    x[123] = np.nan
    want = np.array([np.sqrt(np.mean(np.square(x[i : i + hop], dtype=np.float64))) for i in range(0, len(x), hop)])
    want[np.isnan(want)] = 0.0  # a bin holding a sample that is not a number counts as silent
    np.testing.assert_allclose(_levels(x, hop, block), want, rtol=1e-6)
    levels = BinLevels(hop)
    levels.push(x)
    np.testing.assert_allclose(levels.rms(3), want[:3], rtol=1e-6)
    np.testing.assert_allclose(levels.rms(len(want) + 2), np.concatenate([want, [0.0, 0.0]]), rtol=1e-6)


def test_the_bins_that_sound_are_those_near_the_loudest() -> None:
    quiet = 10 ** (-(SOUNDING_DB + 1) / 20)
    np.testing.assert_array_equal(sounding_bins(np.array([0.5, 1.0, 0.2, quiet, 0.0])),
                                  [True, True, True, False, False])
    # every bin alike, nothing at all, or no bins: the plain mean stands
    for levels in (np.full(4, 0.3), np.zeros(4), np.zeros(0)):
        assert sounding_bins(levels) is None


def test_one_click_at_full_scale_leaves_quiet_playing_sounding() -> None:
    rate = 16000
    t = np.arange(10 * rate) / rate
    x = (0.005 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # playing at -46 dBFS peak
    x[3 * rate] = 1.0
    x = np.concatenate([x, np.zeros(5 * rate, np.float32)])  # then a silent tail
    mask = sounding_bins(_levels(x, rate // 2, 4096))
    assert mask is not None and mask[:20].all() and not mask[20:].any()


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
    del tailed.extra["bin_levels"]
    assert tailed.mean_scores()[label] == pytest.approx(plain)
