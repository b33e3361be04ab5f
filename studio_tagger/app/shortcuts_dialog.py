"""Help > Keyboard Shortcuts: built from the same action table as the menus, so it cannot drift."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .actions import ACTIONS, shortcut_text

# What the mouse does in the views: gestures, not actions, so they are listed here.
MOUSE = (
    ("Ctrl+1 … Ctrl+9 (with Shift: previous)", "Next region of the 1st … 9th instrument (Find menu)"),
    ("Click", "Place the playhead; in a lane, select the region under the pointer"),
    ("Shift+drag", "Select a time span (in a lane, for that lane's instrument)"),
    ("Drag a region's edge", "Move that edge"),
    ("Drag, wheel / Ctrl+wheel", "Scroll / zoom around the pointer"),
    ("Click a row in the region list / double-click", "Go to the region / play it"),
)


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, then the mouse gestures."""
    rows = [(shortcut_text(spec.key_sequences()), spec.plain_text) for spec in ACTIONS if spec.shortcuts]
    return rows + list(MOUSE)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows()
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (keys, does) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(keys))
            self.table.setItem(i, 1, QTableWidgetItem(does))
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 620)
