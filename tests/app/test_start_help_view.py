"""The window before a file is open, the help on keys, and the View menu's panel toggles."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from studio_tagger.app.actions import ACTIONS, shortcut_text
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


def test_shortcut_help_lists_what_the_actions_do(qtbot, window) -> None:
    w = window
    qtbot.keyClick(w, Qt.Key.Key_F1)
    dialog = w.shortcuts_dialog
    assert dialog.isVisible()
    shown = {dialog.table.item(i, 1).text(): dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())}
    for spec in ACTIONS:  # the keys each menu action really has, as the help shows them
        action = getattr(w, f"{spec.name}_action")
        if action.shortcuts():
            assert shown[spec.plain_text] == shortcut_text(action.shortcuts()), spec.name
    assert "Space" in shown["Play"] and "Ctrl+E" in shown["Export Regions"]


def test_view_menu_brings_back_closed_panels(qtbot, window) -> None:
    w = window
    view = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
    toggles = {a.text(): a for a in view.actions() if a.isCheckable()}
    assert set(toggles) == {"Regions", "Detection"}
    regions = w.docks[0]
    regions.close()
    assert not regions.isVisible() and not toggles["Regions"].isChecked()
    toggles["Regions"].trigger()
    assert regions.isVisible() and toggles["Regions"].isChecked()
