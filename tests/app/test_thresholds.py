"""Per-instrument thresholds: visible, switchable check boxes in Settings, and always on show in the
Detection panel and the lanes, since they carry from one file to the next."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from studio_tagger.app.lanes import curve_y, lane_base
from studio_tagger.app.settings_dialog import SettingsDialog, SettingsValues


def _brightest(widget, width: int = 18) -> float:
    """The lightest pixel of the left part of a widget (where a check box draws its indicator)."""
    image = widget.grab().toImage()
    return max(QColor(image.pixel(x, y)).lightnessF()
               for x in range(min(width, image.width())) for y in range(image.height()))


def test_own_thresholds_are_switchable_visible_and_shown(qtbot, analysed, take) -> None:
    w = analysed
    values = SettingsValues(w.settings.model_path, "cpu", w.settings.hop, {}, w.settings.colours(w.doc.labels))
    dialog = SettingsDialog(values, w.doc.labels, w.detection.params(), w)
    qtbot.addWidget(dialog)
    dialog.show()
    completer = dialog.model.completer()  # the shipped options, offered as the user types
    assert [completer.model().index(i, 0).data() for i in range(completer.model().rowCount())] == ["accurate"]
    own, on, off, _ = dialog.rows["piano"]
    assert not own.isChecked() and not on.isEnabled() and not off.isEnabled()
    assert _brightest(own) > 0.55  # the empty box stands out of the dark table
    own.setChecked(True)
    assert on.isEnabled() and off.isEnabled()
    on.setValue(0.6)
    off.setValue(0.3)
    w.apply_settings(dialog.values())
    assert w.doc.params.per_label == {"piano": (0.6, 0.3)}

    def shown() -> bool:
        lanes = w.timeline.lanes
        mark = lanes.own_marks.get("piano")
        n = len(w.doc.labels)
        return ("piano 0.60 / 0.30" in w.detection.own.text() and not w.detection.clear_own.isHidden()
                and mark is not None and set(lanes.own_marks) == {"piano"}
                and mark.value() == pytest.approx(lane_base(w.doc.labels.index("piano"), n) + curve_y(0.6)))

    assert shown()
    with qtbot.waitSignal(w.analysisFinished, timeout=30_000):  # the next file: still on, still shown
        assert w.open_path(take)
    assert w.doc.params.per_label == {"piano": (0.6, 0.3)} and shown()
    w.detection.clear_own.click()
    assert w.doc.params.per_label == {} and w.settings.params.per_label == {}
    assert w.timeline.lanes.own_marks == {} and w.detection.clear_own.isHidden()
    assert "Every lane" in w.detection.own.text()


def test_the_shadow_margin_is_a_detection_control_that_reaches_the_document(qtbot, analysed) -> None:
    w = analysed
    box = w.detection.shadow_margin
    assert box.value() == pytest.approx(w.doc.params.shadow_margin)
    box.setValue(0.0)  # "never": every region stays
    assert w.doc.params.shadow_margin == 0.0 and box.text() == "never"
    box.setValue(0.35)
    assert w.doc.params.shadow_margin == pytest.approx(0.35) and w.settings.params.shadow_margin == pytest.approx(0.35)
