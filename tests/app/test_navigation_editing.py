"""Keyboard navigation between regions, editing with undo/redo, playback with a fake output."""

from __future__ import annotations

import pytest
from pyqtgraph import Point
from PySide6.QtCore import QPointF, Qt

from studio_tagger.analysis.regions import Region, RegionParams
from studio_tagger.app.playback import PlaybackError, SoundDeviceOutput

NOTHING = RegionParams(threshold_on=1.01, threshold_off=1.01)  # no detected regions: only the user's


@pytest.fixture
def marked(qtbot, analysed):
    """Regions added by selection, as an editor would: shift-drag a span in a lane, press A."""
    w = analysed
    w.set_region_params(NOTHING)
    assert w.doc.regions == []
    for label, span in (("clarinet", (5.0, 8.0)), ("flute", (12.0, 14.0)), ("clarinet", (20.0, 25.0))):
        w.doc.set_time_selection(span, label)
        qtbot.keyClick(w, Qt.Key.Key_A)
    assert [(r.label, r.start, r.end) for r in w.doc.regions] == [
        ("clarinet", 5.0, 8.0), ("flute", 12.0, 14.0), ("clarinet", 20.0, 25.0)]
    w.doc.set_playhead(0.0)
    w.doc.select_region(None)
    w.doc.select_label("clarinet")
    return w


def test_keyboard_moves_the_playhead_to_the_right_region(qtbot, marked) -> None:
    w = marked
    qtbot.keyClick(w, Qt.Key.Key_N)
    assert w.doc.playhead == 5.0 and w.doc.selected_region == Region("clarinet", 5.0, 8.0, 1.0)
    qtbot.keyClick(w, Qt.Key.Key_N)  # the flute passage between is skipped: clarinet is selected
    assert w.doc.playhead == 20.0
    qtbot.keyClick(w, Qt.Key.Key_N)  # no later clarinet: stays
    assert w.doc.playhead == 20.0
    qtbot.keyClick(w, Qt.Key.Key_P)
    assert w.doc.playhead == 5.0
    # "Next flute" (the 4th instrument: Ctrl+4) selects the flute lane and jumps to it
    qtbot.keyClick(w, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert w.doc.playhead == 12.0 and w.doc.selected_label == "flute"
    x0, x1 = w.timeline.view_range()
    assert x0 <= 12.0 and x1 >= 14.0
    # the Find menu names each instrument
    assert "Next clarinet" in [a.text() for a in w.find_menu.actions()]


def _row_point(table, row: int):
    return table.visualRect(table.model().index(row, 1)).center()


def test_region_list_click_goes_to_a_region_and_double_click_plays_it(qtbot, marked, output) -> None:
    w = marked
    table = w.region_list.table
    w.region_list.filter.setCurrentText("flute")
    w.timeline.set_view(30.0, 35.0)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(table, 0))
    assert w.doc.playhead == 12.0 and w.doc.selected_region == Region("flute", 12.0, 14.0, 1.0)
    x0, x1 = w.timeline.view_range()
    assert x0 <= 12.0 and x1 >= 14.0 and not w.player.playing  # in view, not playing
    w.region_list.filter.setCurrentText("All instruments")
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(table, 2))  # as a double
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(table, 2))  # click arrives
    assert w.player.playing and output.calls == [(w.doc.path, 20.0, 25.0)]  # once, to the region's end


def test_region_list_shows_whole_instrument_names(qtbot, marked) -> None:
    w = marked
    table = w.region_list.table
    metrics = table.fontMetrics()
    assert all(table.columnWidth(0) >= metrics.horizontalAdvance(label) + 8 for label in w.doc.labels)


def test_click_in_a_lane_selects_and_places_the_playhead(marked) -> None:
    w = marked
    lanes = w.timeline.lanes_plot
    y = len(w.doc.labels) - 1 - w.doc.labels.index("clarinet") + 0.2
    lanes.getViewBox().sigClicked.emit(21.0, y)
    assert w.doc.playhead == 21.0 and w.doc.selected_region == Region("clarinet", 20.0, 25.0, 1.0)


def test_edit_drag_relabel_delete_with_undo_redo(qtbot, marked) -> None:
    w = marked
    qtbot.keyClick(w, Qt.Key.Key_N)
    handle = w.timeline.lanes.handle
    handle.setRegion((4.0, 9.5))
    handle.sigRegionChangeFinished.emit(handle)
    moved = Region("clarinet", 4.0, 9.5, 1.0)
    assert w.doc.selected_region == moved and moved in w.doc.regions
    w.editing.relabel_selected("violin")
    assert Region("violin", 4.0, 9.5, 1.0) in w.doc.regions
    qtbot.keyClick(w, Qt.Key.Key_Delete)
    assert [r.label for r in w.doc.regions] == ["flute", "clarinet"]
    assert w.windowTitle().startswith("take.flac *")
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert moved in w.doc.regions
    w.undo_action.trigger()
    assert Region("clarinet", 5.0, 8.0, 1.0) in w.doc.regions
    w.redo_action.trigger()
    assert moved in w.doc.regions
    # edits survive a threshold change: detected regions come and go underneath
    w.set_region_params(RegionParams(threshold_on=0.0, threshold_off=0.0))
    assert moved in w.doc.regions
    assert not any(r.label == "clarinet" and r.start == 0.0 for r in w.doc.regions)


def test_space_plays_from_the_playhead_and_the_view_follows(qtbot, marked, output) -> None:
    w = marked
    w.doc.set_playhead(3.0)
    w.timeline.set_view(0.0, 4.0)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.player.playing and output.calls[-1] == (w.doc.path, 3.0, None)
    qtbot.waitUntil(lambda: w.doc.playhead > 4.5, timeout=5000)
    x0, x1 = w.timeline.view_range()
    assert x0 <= w.doc.playhead <= x1  # paged forward with the playhead
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.player.playing
    paused = w.doc.playhead
    qtbot.wait(100)
    assert w.doc.playhead == paused


def test_play_selected_region_stops_at_its_end(qtbot, marked, output) -> None:
    w = marked
    qtbot.keyClick(w, Qt.Key.Key_N)
    qtbot.keyClick(w, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert output.calls[-1] == (w.doc.path, 5.0, 8.0)
    qtbot.waitUntil(lambda: not w.player.playing, timeout=5000)
    assert 5.0 < w.doc.playhead <= 8.0


def test_no_output_device_gives_a_message_and_nothing_else_changes(qtbot, marked, output) -> None:
    w = marked
    output.fail = "no audio output device found"
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.player.playing and "no audio output device" in w.last_error
    qtbot.keyClick(w, Qt.Key.Key_N)
    assert w.doc.playhead == 5.0


def test_sounddevice_output_reports_a_missing_device(take, monkeypatch) -> None:
    """No sound card and no sound server to reach (ALSA's pulse plugin may still list a 'pulse' device):
    the real output must say so instead of crashing."""
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/studio-tagger-test/native")
    output = SoundDeviceOutput()
    try:
        output.start(take, 0.0, None)
    except PlaybackError:
        return
    output.stop()
    pytest.skip("this machine has a sound card that plays")


class _Drag:
    """A shift+left drag as pyqtgraph delivers it to a ViewBox, from one scene point to another."""

    def __init__(self, down: QPointF, now: QPointF) -> None:
        self.down, self.now = down, now

    def button(self):
        return Qt.MouseButton.LeftButton

    def modifiers(self):
        return Qt.KeyboardModifier.ShiftModifier

    def buttonDownScenePos(self):  # noqa: N802 (pyqtgraph's name)
        return self.down

    def scenePos(self):  # noqa: N802
        return self.now

    def isFinish(self):  # noqa: N802
        return True

    def accept(self) -> None:
        pass


def _drag(plot, t0: float, y0: float, t1: float, y1: float) -> None:
    vb = plot.getViewBox()
    vb.mouseDragEvent(_Drag(vb.mapViewToScene(QPointF(t0, y0)), vb.mapViewToScene(QPointF(t1, y1))))


def _lane_y(w, label: str) -> float:
    return len(w.doc.labels) - 1 - w.doc.labels.index(label) + 0.5


def test_a_span_dragged_in_a_lane_becomes_a_region_of_that_lane(qtbot, marked) -> None:
    w = marked
    w.doc.select_label("piano")
    # dragged from the trumpet lane, ending over the next lane down: still the trumpet's span
    _drag(w.timeline.lanes_plot, 30.0, _lane_y(w, "trumpet"), 33.0, _lane_y(w, "trumpet") - 1.0)
    assert w.doc.time_selection is not None and w.doc.selected_label == "trumpet"
    w.editing.ask_label = lambda *a: pytest.fail("asked for a label although the lane was known")
    qtbot.keyClick(w, Qt.Key.Key_A)
    added = w.doc.selected_region
    assert added.label == "trumpet" and abs(added.start - 30.0) < 0.05 and abs(added.end - 33.0) < 0.05
    # the list says it was drawn by hand, not what a model scored; detected regions keep their score
    row = w.region_list.row_regions().index(added)
    assert w.region_list.model.index(row, 4).data() == "by hand"
    w.set_region_params(RegionParams(threshold_on=0.0, threshold_off=0.0))
    rows = w.region_list.row_regions()
    detected = [i for i, r in enumerate(rows) if r not in w.doc.by_hand]
    assert detected and w.region_list.model.index(detected[0], 4).data() == f"{rows[detected[0]].score:.2f}"


def test_a_span_dragged_over_the_waveform_asks_for_the_instrument(qtbot, marked) -> None:
    w = marked
    asked = []
    w.editing.ask_label = lambda title, current: asked.append(current) or None  # cancelled
    _drag(w.timeline.wave, 30.0, 0.0, 33.0, 0.0)
    qtbot.keyClick(w, Qt.Key.Key_A)
    assert asked == ["clarinet"] and len(w.doc.regions) == 3  # nothing added
    w.editing.ask_label = lambda title, current: "violin"
    qtbot.keyClick(w, Qt.Key.Key_A)
    assert w.doc.selected_region.label == "violin" and w.doc.time_selection is None


class _EdgeDrag(_Drag):
    """A plain left drag, one step from ``down`` to ``now`` (scene points) over ``vb``."""

    def __init__(self, vb, down: QPointF, now: QPointF, start: bool, finish: bool) -> None:
        super().__init__(down, now)
        self.vb, self.start, self.finish = vb, start, finish

    def pos(self):
        return Point(self.vb.mapFromScene(self.now))

    def lastPos(self):  # noqa: N802 (pyqtgraph's name)
        return Point(self.vb.mapFromScene(self.down))

    def modifiers(self):
        return Qt.KeyboardModifier.NoModifier

    def isStart(self):  # noqa: N802 (pyqtgraph's name)
        return self.start

    def isFinish(self):  # noqa: N802
        return self.finish


def test_an_edge_drags_without_selecting_its_region_first(qtbot, marked) -> None:
    w = marked
    assert w.doc.selected_region is None and w.timeline.lanes.handle is None
    w.timeline.set_view(2.0, 30.0)
    vb = w.timeline.lanes_plot.getViewBox()
    y = _lane_y(w, "clarinet")
    down = vb.mapViewToScene(QPointF(8.0, y))  # the end of the clarinet region at 5-8 s
    view = vb.viewRange()[0]
    for t, start, finish in ((8.5, True, False), (9.5, False, False), (10.0, False, True)):
        vb.mouseDragEvent(_EdgeDrag(vb, down, vb.mapViewToScene(QPointF(t, y)), start, finish))
        assert vb.viewRange()[0] == view  # the view did not pan
    assert Region("clarinet", 5.0, 10.0, 1.0) in w.doc.regions and w.doc.selected_region.end == 10.0
    # away from any edge, a drag still pans
    down = vb.mapViewToScene(QPointF(15.5, y))
    for t, start, finish in ((16.0, True, False), (17.0, False, True)):
        vb.mouseDragEvent(_EdgeDrag(vb, down, vb.mapViewToScene(QPointF(t, y)), start, finish))
    assert vb.viewRange()[0] != view and Region("clarinet", 5.0, 10.0, 1.0) in w.doc.regions


class _Hover:
    def __init__(self, pos: QPointF) -> None:
        self.pos = pos

    def isExit(self):  # noqa: N802 (pyqtgraph's name)
        return False

    def scenePos(self):  # noqa: N802
        return self.pos


def test_the_pointer_shows_a_draggable_edge(marked) -> None:
    w = marked
    vb = w.timeline.lanes_plot.getViewBox()
    y = _lane_y(w, "clarinet")
    vb.hoverEvent(_Hover(vb.mapViewToScene(QPointF(8.0, y))))
    assert vb.cursor().shape() == Qt.CursorShape.SizeHorCursor
    vb.hoverEvent(_Hover(vb.mapViewToScene(QPointF(6.5, y))))  # inside the region, away from its edges
    assert vb.cursor().shape() == Qt.CursorShape.ArrowCursor
    vb.hoverEvent(_Hover(vb.mapViewToScene(QPointF(8.0, _lane_y(w, "flute")))))  # another lane's time
    assert vb.cursor().shape() == Qt.CursorShape.ArrowCursor
