"""Opening a take: summaries and analysis run in the background and fill the views."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio_tagger.analysis import Analyzer, find_regions
from studio_tagger.analysis.regions import RegionParams


def test_open_analyse_and_show_lanes_and_regions(analysed, model_path, take) -> None:
    w = analysed
    doc = w.doc
    assert w.jobs.state == "done" and doc.activity.is_complete
    # the lanes hold the analyzer's own result
    expected = Analyzer(model_path, device="cpu").analyze(take)
    np.testing.assert_allclose(doc.activity.activity, expected.activity, atol=1e-5)
    assert len(w.timeline.lanes.curves) == len(doc.labels) == 8
    assert all(len(c.xData) == len(doc.activity.times) for c in w.timeline.lanes.curves)
    assert w.timeline.lanes._rgba[..., 3].max() > 0  # the heat strips are drawn
    # regions: detected from the activity with the current parameters, drawn and listed
    w.set_region_params(RegionParams(threshold_on=0.0, threshold_off=0.0))
    assert doc.regions == find_regions(doc.activity.times, doc.activity.activity, doc.labels,
                                       doc.params, duration=doc.duration)
    assert {r.label for r in doc.regions} == set(doc.labels)
    assert w.timeline.lanes.blocks._regions == sorted(doc.regions, key=lambda r: r.start)
    assert w.region_list.model.rowCount() == len(doc.regions)
    w.region_list.filter.setCurrentText("flute")
    assert {r.label for r in w.region_list.row_regions()} == {"flute"}
    # the waveform and spectrogram come from the background summaries
    assert doc.peaks.complete and doc.spectrogram.filled == doc.spectrogram.columns
    assert len(w.timeline.waveform.envelope.getData()[0]) > 0
    assert w.timeline.spec_image.image is not None
    assert w.status.model_label.text() == "model: test" and "cpu" in w.status.device_label.text()


def test_lanes_fill_in_time_order(qtbot, window, take) -> None:
    changes: list[tuple[float, float]] = []
    window.documentOpened.connect(lambda: window.doc.activityChanged.connect(lambda a, b: changes.append((a, b))))
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(take)
    assert len(changes) >= 4  # 5-second blocks of a 40-second take
    starts = [a for a, _ in changes]
    assert starts == sorted(starts) and changes[-1][1] >= window.doc.duration - 0.5


def test_threshold_change_redraws_regions_without_rerunning(analysed) -> None:
    w = analysed
    runs = w.jobs.analysis.started
    w.detection.threshold_on.setValue(0.0)
    w.detection.threshold_off.setValue(0.0)
    everything = list(w.doc.regions)
    w.detection.threshold_on.setValue(1.0)
    w.detection.threshold_off.setValue(1.0)
    assert everything and w.doc.regions != everything
    assert w.jobs.analysis.started == runs and w.jobs.state == "done"
    assert w.settings.params.threshold_on == 1.0  # remembered for next time


def test_changing_the_model_reruns_the_analysis(qtbot, analysed) -> None:
    from studio_tagger.app.settings_dialog import SettingsValues

    w = analysed
    runs = w.jobs.analysis.started
    values = SettingsValues(w.settings.model_path, "cpu", 1.0, {}, w.settings.colours(w.doc.labels))
    with qtbot.waitSignal(w.analysisFinished, timeout=30_000):
        w.apply_settings(values)
    assert w.jobs.analysis.started == runs + 1
    assert w.doc.activity.hop == 1.0 and w.doc.activity.is_complete


def test_zoom_scroll_and_close_zoom_reads_samples(qtbot, analysed) -> None:
    w = analysed
    tl = w.timeline
    w.doc.set_playhead(10.0)
    qtbot.keyClick(w, Qt.Key.Key_Plus)
    x0, x1 = tl.view_range()
    assert abs((x1 - x0) - w.doc.duration / 2) < 0.01 and x0 <= 10.0 <= x1
    qtbot.keyClick(w, Qt.Key.Key_F)
    assert tl.view_range() == (0.0, w.doc.duration)
    tl.set_view(12.0, 12.05)  # 50 ms: fewer samples than pixels
    qtbot.waitUntil(lambda: tl.waveform.raw.isVisible(), timeout=5000)
    assert tl.waveform.excerpts_read >= 1 and not tl.waveform.envelope.isVisible()
    tl.set_view(0.0, w.doc.duration)
    assert tl.waveform.envelope.isVisible()
    assert tl.range_box.getRegion() == (0.0, w.doc.duration)  # the overview box follows


def test_unreadable_file_is_reported_and_app_stays_usable(qtbot, window, tmp_path, take) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"this is not audio" * 10)
    assert not window.open_path(bad)
    assert "broken.flac" in window.last_error and window.doc is None
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        assert window.open_path(take)


def test_drop_a_file_opens_it(qtbot, window, take) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(take))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.dropEvent(event)
    assert window.doc.path == take
    assert window.settings.recent_files[0] == str(take.resolve())


def test_time_ruler_ticks_at_editor_steps(analysed) -> None:
    from studio_tagger.app.timefmt import LABEL_PX, STEPS, TimeAxis

    axis = TimeAxis("bottom")
    for span in (0.02, 0.3, 4.0, 37.0, 180.0, 500.0, 1000.0, 3600.0, 4 * 3600.0):
        for pixels in (300, 800, 1600):
            levels = axis.tickSpacing(0.0, span, pixels)
            major = levels[0][0]
            assert major in STEPS and major not in (50.0, 500.0)
            assert major / span * pixels >= LABEL_PX  # labels have room
            finer = STEPS[STEPS.index(major) - 1] if major > STEPS[0] else None
            assert finer is None or finer / span * pixels < LABEL_PX  # and no finer step would fit
            for minor, _ in levels[1:]:
                assert minor < major and round(major / minor, 6).is_integer()
    # 500 s over 800 px: one label a minute, 10 s minor ticks, labelled as a clock
    assert [s for s, _ in axis.tickSpacing(0.0, 500.0, 800)] == [60.0, 10.0]
    assert axis.tickStrings([480.0], 1.0, 60.0) == ["0:08:00"] and axis.tickStrings([490.0], 1.0, 10.0) == [""]
    # the app's own ruler, on the open take
    ruler = analysed.timeline.lanes_plot.getAxis("bottom")
    x0, x1 = analysed.timeline.view_range()
    values = ruler.tickValues(x0, x1, ruler.width() if ruler.orientation in ("top", "bottom") else 0)
    assert values and all(step in STEPS for step, _ in values)


def test_a_take_shorter_than_the_window_says_so(qtbot, window, tmp_path) -> None:
    from conftest import write_take

    short = write_take(tmp_path / "short.wav", 0.5)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        assert window.open_path(short)
    assert "shorter than the 2 s window: scored as one window" in window.statusBar().currentMessage()
    assert window.doc.regions == []  # none over the padding, even where a lane scores high
