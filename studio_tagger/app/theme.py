"""A dark theme for audio work: low-glare greys, one distinct colour per instrument."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#16181d"
PANEL = "#1e2128"
FOREGROUND = "#c9ced6"
GRID = "#2b2f38"
ACCENT = "#4fa3ff"
PLAYHEAD = "#ffcf40"
WAVEFORM = "#6fb4c9"
CHECKED = (110, 200, 140, 70)  # spans the editor checked, shaded on the overview

# Readable on a dark background and apart from each other (Okabe-Ito inspired, brightened).
INSTRUMENT_COLOURS = (
    "#e69f00", "#ff5e5b", "#f28ec4", "#56b4e9", "#8fd16a", "#c792ea", "#f0e442", "#2bc4a9",
)


CHECK_BOXES = f"""
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid #aab1bc; border-radius: 2px;
                        background: {BACKGROUND}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox::indicator:disabled {{ border-color: #5c626c; }}
"""


def default_colour(index: int) -> str:
    return INSTRUMENT_COLOURS[index % len(INSTRUMENT_COLOURS)]


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: PANEL, QPalette.ColorRole.WindowText: FOREGROUND,
        QPalette.ColorRole.Base: BACKGROUND, QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL, QPalette.ColorRole.ToolTipText: FOREGROUND,
        QPalette.ColorRole.Text: FOREGROUND, QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: FOREGROUND, QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT, QPalette.ColorRole.HighlightedText: "#0b0d10",
        QPalette.ColorRole.Link: ACCENT, QPalette.ColorRole.PlaceholderText: "#7a808a",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5c626c"))
    app.setPalette(palette)
    # Fusion draws check box indicators in the Base colour with a frame barely lighter than the panel:
    # on this palette they vanished. A light frame when off and the accent colour when on are seen.
    app.setStyleSheet(CHECK_BOXES)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND, imageAxisOrder="row-major",
                        antialias=False)
