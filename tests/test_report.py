"""Evaluation metrics against hand-computed answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio_tagger.analysis.regions import Region
from training.report import (
    Event,
    TimelineScorer,
    classification_report,
    confusion_matrix,
    detection_report,
    match_solos,
    plot_classification,
    plot_timeline,
    prf,
    segment_activity,
    write_report,
)

LABELS3 = ("a", "b", "c")
# 10 clips: a=4, b=3, c=3.
TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]


def test_confusion_matrix_counts_rows_true_columns_predicted():
    cm = confusion_matrix(TRUE, PRED, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 1], [1, 2, 0], [0, 0, 3]])


def test_classification_report_matches_hand_computation():
    r = classification_report(TRUE, PRED, LABELS3)
    # a: TP 2, FP 1 (a b clip), FN 2 -> P 2/3, R 1/2, F1 4/7
    # b: TP 2, FP 1, FN 1 -> P 2/3, R 2/3, F1 2/3
    # c: TP 3, FP 1, FN 0 -> P 3/4, R 1, F1 6/7
    expected = [(2 / 3, 1 / 2, 4 / 7, 4), (2 / 3, 2 / 3, 2 / 3, 3), (3 / 4, 1.0, 6 / 7, 3)]
    for row, (p, rc, f, n) in zip(r.per_class, expected, strict=True):
        assert (row.precision, row.recall, row.f1, row.support) == pytest.approx((p, rc, f, n))
    assert r.accuracy == pytest.approx(7 / 10)
    assert r.macro.precision == pytest.approx((2 / 3 + 2 / 3 + 3 / 4) / 3)
    assert r.macro.f1 == pytest.approx((4 / 7 + 2 / 3 + 6 / 7) / 3)
    assert r.weighted.recall == pytest.approx((4 * 0.5 + 3 * 2 / 3 + 3 * 1.0) / 10)
    assert r.weighted.f1 == pytest.approx((4 * 4 / 7 + 3 * 2 / 3 + 3 * 6 / 7) / 10)
    np.testing.assert_allclose(r.percentages[0], [50, 25, 25])
    text = r.to_text()
    assert "accuracy 0.7000 over 10 clips" in text and "macro avg" in text and "50.0%" in text


def test_a_class_never_predicted_scores_zero_not_nan():
    r = classification_report([0, 1], [0, 0], ("x", "y"))
    assert (r.per_class[1].precision, r.per_class[1].recall, r.per_class[1].f1) == (0.0, 0.0, 0.0)
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)


def test_macro_average_leaves_out_labels_neither_present_nor_predicted():
    r = classification_report([0, 1], [0, 1], ("x", "y", "z"))
    assert r.macro.f1 == 1.0 and r.per_class[2].f1 == 0.0


def test_detection_report_counts_labels_and_false_alarms_on_empty_clips():
    truth = np.array([[1, 0], [1, 1], [0, 0], [0, 0]], bool)
    pred = np.array([[1, 1], [0, 1], [0, 0], [1, 0]], bool)
    r = detection_report(truth, pred, ("x", "y"))
    # x: TP 1, FP 1, FN 1; y: TP 1, FP 1, FN 0; micro TP 2 FP 2 FN 1
    assert r.per_label[0].f1 == pytest.approx(0.5)
    assert r.per_label[1].precision == pytest.approx(0.5) and r.per_label[1].recall == 1.0
    assert r.micro.precision == pytest.approx(0.5) and r.micro.recall == pytest.approx(2 / 3)
    assert r.negatives == 2 and r.false_alarm_rate == pytest.approx(0.5)


def test_segment_activity_marks_every_segment_an_event_touches():
    roll = segment_activity([Event("a", 0.5, 2.2), Event("b", 3.0, 4.0)], LABELS3, 5.0)
    np.testing.assert_array_equal(roll[:, 0], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(roll[:, 1], [0, 0, 0, 1, 0])  # [3, 4) ends exactly on a boundary
    assert not roll[:, 2].any()


def test_segment_f1_on_a_tiny_case_with_known_answer():
    # 6 s, 1 s segments. Truth: a in [0, 3), b in [2, 5).  Estimate: a in [1, 4), b in [4.5, 6).
    # a: ref segs 0,1,2; est 1,2,3 -> TP 2, FP 1, FN 1.  b: ref 2,3,4; est 4,5 -> TP 1, FP 1, FN 2.
    # micro: TP 3, FP 2, FN 3 -> P 3/5, R 1/2, F1 6/11.
    scorer = TimelineScorer(LABELS3)
    solos = [Event("a", 0.0, 3.0), Event("b", 2.0, 5.0)]
    regions = [Region("a", 1.0, 4.0), Region("b", 4.5, 6.0)]
    scorer.add("t", 6.0, solos, regions)
    report = scorer.report()
    np.testing.assert_array_equal(report.counts, [[2, 1, 1], [1, 1, 2], [0, 0, 0]])
    s = report.summary()
    assert (s["segment_precision"], s["segment_recall"], s["segment_f1"]) == pytest.approx((0.6, 0.5, 6 / 11))
    # a's solo is 2/3 covered by one region -> found, onset +1 s; b's solo only 1/6 -> missed.
    assert [x.found for x in report.solos] == [True, False]
    assert report.solos[0].onset_error == pytest.approx(1.0) and report.solos[1].onset_error is None
    assert s["found"] == 1 and s["detection_rate"] == 0.5 and s["onset_error_mean_abs"] == pytest.approx(1.0)
    assert s["false_alarm_regions"] == 0
    rows = {r["label"]: r for r in report.per_label()}
    assert rows["a"]["segment_f1"] == pytest.approx(2 / 3) and rows["b"]["detection_rate"] == 0.0


def test_a_solo_needs_half_of_it_covered_by_one_region_of_its_label():
    solo = [Event("a", 10.0, 20.0)]
    split_cover = [Region("a", 10.0, 14.0), Region("a", 15.0, 19.0), Region("b", 10.0, 20.0)]
    assert not match_solos(solo, split_cover)[0].found  # 40 % + 40 %, never 50 % in one region
    late = match_solos(solo, [Region("a", 12.0, 25.0)])[0]
    assert late.found and late.overlap == pytest.approx(0.8) and late.onset_error == pytest.approx(2.0)


def test_false_alarm_regions_and_accumulation_over_takes():
    scorer = TimelineScorer(LABELS3)
    scorer.add("one", 4.0, [Event("a", 0, 4)], [Region("a", 0, 4), Region("c", 1, 2)])
    scorer.add("two", 2.0, [], [Region("b", 0, 2)])
    r = scorer.report()
    assert r.false_alarms == {"c": 1, "b": 1}
    np.testing.assert_array_equal(r.counts.sum(axis=0), [4, 3, 0])
    assert [t["take"] for t in r.takes] == ["one", "two"]


def test_reports_write_text_json_and_png(tmp_path):
    table = classification_report(TRUE, PRED, LABELS3)
    txt, js = write_report(tmp_path, "clips", table.to_text(), table.to_dict())
    assert json.loads(js.read_text())["confusion"] == [[2, 1, 1], [1, 2, 0], [0, 0, 3]]
    assert txt.read_text().endswith("\n")
    plot_classification(table, tmp_path / "clips.png", "title")
    scorer = TimelineScorer(LABELS3)
    scorer.add("t", 6.0, [Event("a", 0, 3)], [Region("a", 1, 4)])
    plot_timeline(scorer.report(), tmp_path / "takes.png")
    for name in ("clips.png", "takes.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
