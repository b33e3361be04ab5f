"""What the window shows before a recording is open: what to do, and the recent files to reopen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from .theme import ACCENT

MAX_SHOWN = 6


class StartScreen(QWidget):
    openRequested = Signal()
    recentRequested = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("studio-tagger")
        title.setStyleSheet("font-size: 22pt; font-weight: 600;")
        what = QLabel("Open a recording to see where each instrument plays: one lane per instrument over the "
                      "waveform and spectrogram, filled in while the analysis runs.")
        what.setWordWrap(True)
        self.open_button = QPushButton("Open a recording or session…   (Ctrl+O)")
        self.open_button.setStyleSheet(f"padding: 8px 18px; border: 1px solid {ACCENT}; border-radius: 4px;")
        self.open_button.clicked.connect(self.openRequested)
        drop = QLabel("…or drop an audio file (WAV, FLAC, OGG, MP3, AIFF) or a .stsession file on this window.")
        drop.setWordWrap(True)
        self.recent_title = QLabel("Recent files")
        self.recent_title.setStyleSheet("font-weight: 600; margin-top: 18px;")
        self.recent_buttons: list[QPushButton] = []
        self._recent = QVBoxLayout()
        self._recent.setSpacing(2)
        column = QVBoxLayout()
        for widget in (title, what, self.open_button, drop, self.recent_title):
            column.addWidget(widget)
        column.addLayout(self._recent)
        box = QWidget()
        box.setFixedWidth(560)  # a fixed width lets the wrapped lines claim their height
        box.setLayout(column)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self.set_recent([])

    def set_recent(self, paths: list[str]) -> None:
        for button in self.recent_buttons:
            self._recent.removeWidget(button)
            button.deleteLater()
        self.recent_buttons = []
        for path in paths[:MAX_SHOWN]:
            p = Path(path)
            button = QPushButton(f"{p.name}   —   {p.parent}")
            button.setFlat(True)
            button.setToolTip(path)
            button.setStyleSheet("text-align: left; padding: 3px 6px;")
            button.clicked.connect(lambda _=False, path=path: self.recentRequested.emit(path))
            self._recent.addWidget(button)
            self.recent_buttons.append(button)
        self.recent_title.setVisible(bool(self.recent_buttons))
