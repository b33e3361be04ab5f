"""Activity curves -> regions: hysteresis, smoothing, minimum duration, gap merging."""

import numpy as np
import pytest

from studio_tagger.analysis import Region, RegionParams, find_regions

HOP = 0.5


def grid(values):
    values = np.asarray(values, dtype=float)
    return (np.arange(len(values)) + 0.5) * HOP, values[:, None]


def test_a_plateau_becomes_one_region_with_bin_edges():
    times, act = grid([0, 0, 0.9, 0.9, 0.9, 0.9, 0, 0])
    [r] = find_regions(times, act, ["flute"], RegionParams(smoothing=0, min_duration=0.5, merge_gap=0))
    assert (r.label, r.start, r.end) == ("flute", 1.0, 3.0)
    assert r.score == pytest.approx(0.9)


def test_hysteresis_keeps_a_region_open_between_the_thresholds():
    times, act = grid([0, 0.6, 0.4, 0.4, 0.6, 0.2, 0])
    params = RegionParams(smoothing=0, threshold_on=0.5, threshold_off=0.35, min_duration=0, merge_gap=0)
    [r] = find_regions(times, act, ["piano"], params)
    assert (r.start, r.end) == (0.5, 2.5)
    params.threshold_off = 0.5
    assert len(find_regions(times, act, ["piano"], params)) == 2


def test_short_gaps_merge_and_short_regions_drop():
    times, act = grid([0.9, 0.9, 0, 0.9, 0.9, 0, 0, 0, 0, 0.9, 0])
    params = RegionParams(smoothing=0, min_duration=0.0, merge_gap=0.5)
    spans = [(r.start, r.end) for r in find_regions(times, act, ["violin"], params)]
    assert spans == [(0.0, 2.5), (4.5, 5.0)]
    params.min_duration = 1.0
    assert [(r.start, r.end) for r in find_regions(times, act, ["violin"], params)] == [(0.0, 2.5)]


def test_smoothing_removes_a_one_bin_spike():
    times, act = grid([0, 0, 0, 1.0, 0, 0, 0])
    assert find_regions(times, act, ["flute"], RegionParams(smoothing=0, min_duration=0)) != []
    assert find_regions(times, act, ["flute"], RegionParams(smoothing=1.5, min_duration=0)) == []


def test_per_label_thresholds_and_sorted_output():
    times = (np.arange(6) + 0.5) * HOP
    act = np.array([[0.45, 0], [0.45, 0], [0.45, 0.9], [0, 0.9], [0, 0], [0, 0]])
    params = RegionParams(smoothing=0, min_duration=0, per_label={"clarinet": (0.4, 0.3)})
    regions = find_regions(times, act, ["clarinet", "trumpet"], params)
    assert [r.label for r in regions] == ["clarinet", "trumpet"]
    assert regions[0].start <= regions[1].start


def test_region_at_the_end_is_clipped_to_the_duration():
    times, act = grid([0, 0, 0.9, 0.9])
    [r] = find_regions(times, act, ["flute"], RegionParams(smoothing=0, min_duration=0), duration=1.8)
    assert r.end == 1.8


def test_region_dict_round_trip():
    r = Region("female singer", 1.25, 3.5, 0.75)
    assert Region.from_dict(r.to_dict()) == r and r.duration == 2.25


def test_vectorised_hysteresis_matches_the_plain_definition():
    from studio_tagger.analysis.regions import _hysteresis

    def plain(curve, on, off):
        spans, start = [], None
        for i, v in enumerate(curve):
            if start is None and v >= on:
                start = i
            elif start is not None and v < off:
                spans.append((start, i))
                start = None
        return spans + ([(start, len(curve))] if start is not None else [])

    rng = np.random.default_rng(0)
    for _ in range(200):
        curve = np.clip(np.cumsum(rng.normal(0, 0.15, rng.integers(1, 80))) + rng.uniform(0, 1), 0, 1)
        on = rng.uniform(0.2, 0.9)
        off = rng.uniform(0.0, on)
        assert _hysteresis(curve, on, off) == plain(curve, on, off)


def test_smoothing_keeps_the_curve_length_even_when_the_window_is_longer():
    from studio_tagger.analysis.regions import smooth

    for n in (1, 2, 5):
        curve = np.linspace(0, 1, n)
        out = smooth(curve, 9)
        assert out.shape == (n,)
        np.testing.assert_allclose(out, curve.mean())
    np.testing.assert_allclose(smooth(np.array([0, 0, 3.0, 0, 0]), 3), [0, 1, 1, 1, 0])


def _two_lanes(strong, weak):
    times = (np.arange(len(strong)) + 0.5) * HOP
    return times, np.stack([np.asarray(strong, float), np.asarray(weak, float)], axis=1)


def test_a_weak_region_inside_a_much_stronger_lane_is_dropped_as_a_confusion():
    # A sax solo (0.9) that lights the guitar lane at 0.5 over most of it.
    times, act = _two_lanes([0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0], [0, 0, 0.5, 0.5, 0.5, 0.5, 0, 0])
    labels = ["tenor saxophone", "distorted electric guitar"]
    base = RegionParams(smoothing=0, min_duration=0, merge_gap=0)
    assert [r.label for r in find_regions(times, act, labels, base)] == ["tenor saxophone"]
    kept = find_regions(times, act, labels, RegionParams(smoothing=0, min_duration=0, merge_gap=0, shadow_margin=0))
    assert sorted(r.label for r in kept) == sorted(labels)
    # A lane taught from examples scores on a scale of its own: it takes no part.
    taught = find_regions(times, act, ["tenor saxophone", "oboe"], base)
    assert sorted(r.label for r in taught) == ["oboe", "tenor saxophone"]


def test_a_duet_keeps_both_lanes_and_a_region_sticking_out_is_kept():
    labels = ["violin", "piano"]
    params = RegionParams(smoothing=0, min_duration=0, merge_gap=0)
    duet = _two_lanes([0, 0.9, 0.9, 0.9, 0.9, 0], [0, 0.8, 0.8, 0.8, 0.8, 0])  # both clearly on
    assert sorted(r.label for r in find_regions(*duet, labels, params)) == ["piano", "violin"]
    # Weaker, but mostly outside the stronger region: its own instrument, not a shadow of the other.
    beside = _two_lanes([0, 0.9, 0.9, 0, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0])
    assert sorted(r.label for r in find_regions(*beside, labels, params)) == ["piano", "violin"]


def test_sessions_saved_before_shadowing_reopen_with_every_region():
    from studio_tagger.session import params_from_dict, params_to_dict

    old = {"threshold_on": 0.4, "threshold_off": 0.2, "min_duration": 3.0, "merge_gap": 4.0}
    assert params_from_dict(old, saved=True).shadow_margin == 0.0
    assert params_from_dict(old).shadow_margin == RegionParams().shadow_margin  # settings take the default
    tuned = RegionParams(shadow_margin=0.35)
    assert params_from_dict(params_to_dict(tuned), saved=True).shadow_margin == 0.35
