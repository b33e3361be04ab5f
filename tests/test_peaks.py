"""Waveform peak summaries: exact min/max per bucket at every level, streamed in any block size."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.audio.peaks import PeakPyramid, PeaksCancelled, build_peaks


def _reference(x: np.ndarray, spb: int) -> tuple[np.ndarray, np.ndarray]:
    n = -(-len(x) // spb)
    padded = np.concatenate([x, np.repeat(x[-1:], n * spb - len(x))])
    return padded.reshape(n, spb).min(axis=1), padded.reshape(n, spb).max(axis=1)


@pytest.mark.parametrize("block", [7, 100, 257, 4096, 10**6])
def test_every_level_matches_a_direct_reduction(block: int) -> None:
    rng = np.random.default_rng(block)
    x = rng.standard_normal(200_003).astype(np.float32)
    pyr = PeakPyramid(8000, len(x), base=16, factor=4)
    for i in range(0, len(x), block):
        pyr.push(x[i : i + block])
    pyr.finish()
    assert pyr.levels == 3 and len(pyr.mins[-1]) <= 2048
    for level, spb in enumerate(pyr.sizes):
        lo, hi = _reference(x, spb)
        np.testing.assert_array_equal(pyr.mins[level], lo)
        np.testing.assert_array_equal(pyr.maxs[level], hi)
        assert pyr.counts[level] == len(lo)


def test_select_picks_a_level_that_fits_and_covers_the_range() -> None:
    x = np.sin(np.arange(48000 * 60) / 50).astype(np.float32)
    pyr = PeakPyramid(48000, len(x))
    pyr.push(x)
    pyr.finish()
    wide = pyr.select(0.0, 60.0, 1000)
    assert 0 < len(wide.mins) <= 1000 + 1
    assert wide.starts[0] == 0.0 and wide.starts[-1] + wide.bucket_seconds >= 60.0 - 1e-9
    close = pyr.select(10.0, 11.0, 1000)
    assert close.bucket_seconds < wide.bucket_seconds
    assert close.starts[0] <= 10.0 < close.starts[0] + close.bucket_seconds
    assert np.all(close.maxs >= close.mins)


def test_partial_pyramid_only_shows_what_is_filled() -> None:
    pyr = PeakPyramid(1000, 100_000, base=10)
    pyr.push(np.ones(25_000, np.float32))
    assert pyr.filled_seconds == pytest.approx(25.0)
    s = pyr.select(0, 100, 50)
    assert s.starts[-1] < 25.0 and np.all(s.maxs == 1.0)
    assert len(pyr.select(50, 60, 50).mins) == 0


def test_arrays_round_trip() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, 123_457).astype(np.float32)
    pyr = PeakPyramid(44100, len(x))
    pyr.push(x)
    pyr.finish()
    again = PeakPyramid.from_arrays(pyr.to_arrays())
    for a, b in zip(pyr.maxs, again.maxs, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        bad = pyr.to_arrays()
        bad["peaks_min"] = bad["peaks_min"][:-1]
        PeakPyramid.from_arrays(bad)


def test_build_peaks_streams_a_stereo_file(tmp_path) -> None:
    rate = 22050
    left = np.linspace(-0.5, 0.5, rate * 5, dtype=np.float32)
    stereo = np.stack([left, left * 0.5], axis=1)  # (a channel in opposite polarity is subtracted: test_audio_reader)
    path = tmp_path / "s.wav"
    sf.write(path, stereo, rate, subtype="FLOAT")
    seen = []
    pyr = build_peaks(path, block_seconds=1.0, on_block=lambda p, b: seen.append(p.filled_seconds))
    assert pyr.complete and seen == sorted(seen) and len(seen) == 5
    lo, hi = _reference(stereo.mean(axis=1), pyr.base)
    np.testing.assert_allclose(pyr.mins[0], lo, atol=1e-6)
    np.testing.assert_allclose(pyr.maxs[0], hi, atol=1e-6)
    with pytest.raises(PeaksCancelled):
        build_peaks(path, block_seconds=1.0, should_cancel=lambda: True)
