"""Spans to check: where the lanes are least sure, most doubtful first, kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from studio_tagger.adapt.doubt import SPACING, spans_to_check, window_doubt
from studio_tagger.analysis.regions import RegionParams

LABELS = ("flute", "piano", "violin")
HOP = 0.5


def lanes(duration: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """Times and activity where every lane is clearly off (0.02) or on (0.95): nothing is doubtful."""
    times = np.arange(HOP / 2, duration, HOP)
    activity = np.full((len(times), len(LABELS)), 0.02)
    activity[(times > 10) & (times < 30), 1] = 0.95  # a sure piano
    return times, activity


def near(times: np.ndarray, activity: np.ndarray, label: str, start: float, end: float, value: float) -> None:
    activity[(times >= start) & (times < end), LABELS.index(label)] = value


def test_the_most_doubtful_passage_comes_first_and_names_its_lane():
    times, activity = lanes()
    near(times, activity, "violin", 70, 80, 0.38)  # just under its threshold (0.4): a region may be missing
    near(times, activity, "flute", 40, 50, 0.2)  # doubtful, but less
    spans = spans_to_check(times, activity, LABELS, duration=120.0, count=2)
    assert [s.label for s in spans] == ["violin", "flute"]
    assert spans[0].start == pytest.approx(70, abs=1.0) and spans[0].end - spans[0].start == pytest.approx(10.0)
    assert spans[0].activity == pytest.approx(0.38, abs=0.03)
    assert spans[1].start >= 40 - 5 and spans[1].end <= 50 + 5


def test_a_lane_just_over_its_threshold_is_as_doubtful_as_one_just_under():
    times, activity = lanes()
    near(times, activity, "flute", 40, 50, 0.44)  # over 0.4: a region shown that may be wrong
    near(times, activity, "violin", 80, 90, 0.2)
    assert spans_to_check(times, activity, LABELS, duration=120.0)[0].label == "flute"


def test_the_lanes_own_thresholds_decide_what_is_near():
    times, activity = lanes()
    near(times, activity, "violin", 70, 80, 0.33)
    near(times, activity, "flute", 40, 50, 0.7)
    params = RegionParams(per_label={"flute": (0.72, 0.3)})  # the editor raised the flute's threshold
    assert spans_to_check(times, activity, LABELS, params, duration=120.0)[0].label == "flute"
    assert spans_to_check(times, activity, LABELS, duration=120.0)[0].label == "violin"


def test_spans_keep_apart_and_skip_those_checked():
    times, activity = lanes(300.0)
    near(times, activity, "violin", 50, 150, 0.39)  # one long doubtful stretch
    spans = spans_to_check(times, activity, LABELS, duration=300.0, count=8)
    gap = SPACING * 10.0
    for a in spans:
        for b in spans:
            if a is not b:
                assert a.end + gap <= b.start + 1e-6 or b.end + gap <= a.start + 1e-6
    # Asked one at a time with the earlier answers as checked, it gives the same spans in the same order.
    one_by_one: list = []
    for _ in range(len(spans)):
        one_by_one += spans_to_check(times, activity, LABELS, duration=300.0,
                                     checked=[(s.start, s.end) for s in one_by_one])
    assert one_by_one == spans
    checked = [(s.start, s.end) for s in spans[:3]]
    later = spans_to_check(times, activity, LABELS, duration=300.0, count=3, checked=checked)
    assert later == spans[3:6]


def test_within_bounds_and_short_recordings():
    times, activity = lanes()
    near(times, activity, "violin", 70, 80, 0.38)
    first_half = spans_to_check(times, activity, LABELS, duration=120.0, count=20, within=(0.0, 60.0), most=None)
    assert first_half and all(s.start >= 0.0 and s.end <= 60.0 for s in first_half)
    assert 3 <= len(first_half) <= 4  # 10 s spans at least 5 s apart in 60 s
    # A recording shorter than a span is one span, all of it; checked, nothing is left.
    t, a = lanes(6.0)
    a[:, 2] = 0.41
    (only,) = spans_to_check(t, a, LABELS, duration=6.0, count=3)
    assert (only.start, only.end, only.label) == (0.0, 6.0, "violin")
    assert spans_to_check(t, a, LABELS, duration=6.0, checked=[(0.0, 6.0)]) == []
    assert spans_to_check(np.zeros(0), np.zeros((0, 3)), LABELS, duration=0.0) == []


def test_where_every_lane_is_sure_nothing_is_offered():
    times, activity = lanes()
    assert spans_to_check(times, activity, LABELS, duration=120.0, count=5) == []
    near(times, activity, "violin", 70, 80, 0.38)
    (only,) = spans_to_check(times, activity, LABELS, duration=120.0, count=5)
    assert only.label == "violin"
    assert len(spans_to_check(times, activity, LABELS, duration=120.0, count=5, most=None)) == 5


def test_a_short_doubtful_phrase_is_offered_in_the_middle_of_its_span():
    times, activity = lanes()
    near(times, activity, "flute", 86, 90, 0.45)  # 4 s between sure stretches
    (only,) = spans_to_check(times, activity, LABELS, duration=120.0, count=3)
    assert only.label == "flute" and abs((only.start + only.end) / 2 - 88.0) <= 1.0


def test_window_doubt_is_the_logit_distance_of_the_nearest_lane():
    times, activity = lanes(20.0)
    activity[:, 0] = 0.4  # flute exactly at its threshold everywhere
    distance, nearest, _ = window_doubt(times, activity, LABELS)
    assert np.allclose(distance, 0.0, atol=1e-9) and (nearest == 0).all()
