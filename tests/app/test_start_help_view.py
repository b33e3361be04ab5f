"""The window before a file is open, the help on keys, and the View menu's panel toggles."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from studio_tagger.app.main_window import MainWindow


def test_start_screen_says_what_to_do_and_reopens_recent_files(qtbot, window, settings, output, take,
                                                              monkeypatch) -> None:
    w = window
    assert w.central.currentWidget() is w.start_screen and w.start_screen.isVisible()
    assert not w.timeline.isVisible() and w.start_screen.recent_buttons == []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: (str(take), ""))
    with qtbot.waitSignal(w.documentOpened, timeout=10_000):
        qtbot.mouseClick(w.start_screen.open_button, Qt.MouseButton.LeftButton)
    assert w.doc.path == take and w.central.currentWidget() is w.timeline and w.timeline.isVisible()

    again = MainWindow(settings, output=output)  # the next start lists it
    qtbot.addWidget(again)
    again.show()
    buttons = again.start_screen.recent_buttons
    assert [b.toolTip() for b in buttons] == [str(take.resolve())] and take.name in buttons[0].text()
    with qtbot.waitSignal(again.documentOpened, timeout=10_000):
        qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert again.doc.path == take.resolve()
    again.shutdown()
