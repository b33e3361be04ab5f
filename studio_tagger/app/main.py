"""Entry point of the desktop app: ``studio-tagger FILE`` or ``studio-tagger app [FILE]``."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from .. import __version__
from ..shipped import icon
from .settings import AppSettings
from .theme import ACCENT, FOREGROUND, PANEL, apply_dark_theme

SWITCH_INTERVAL_S = 0.001


def make_app() -> QApplication:
    # The GUI thread takes the GIL back each time Qt calls a Python paint or slot; with workers busy in
    # Python, each of those waits up to the switch interval (5 ms by default), and a repaint makes
    # dozens of such calls. 1 ms keeps repaints quick while analysis runs.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("studio-tagger")
    app.setOrganizationName("studio-tagger")
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    freeze_long_lived()
    return app


def freeze_long_lived() -> None:
    """torch, Qt and pyqtgraph leave a few hundred thousand long-lived objects behind; a full garbage
    collection walking them all holds the GIL for tens of milliseconds, in whichever thread. Frozen,
    they are skipped, so collections stay short (a GUI stall probe saw 57 ms pauses drop to a few)."""
    gc.collect()
    gc.freeze()


def splash() -> QSplashScreen:
    """A card shown at once while the window is built: importing torch alone takes one to two seconds
    here, during which nothing showed before."""
    card = QPixmap(440, 150)
    card.fill(QColor(PANEL))
    painter = QPainter(card)
    painter.drawPixmap(24, 27, QIcon(str(icon())).pixmap(96, 96))
    painter.setPen(QColor(FOREGROUND))
    title = QFont(painter.font())
    title.setPointSize(20)
    painter.setFont(title)
    painter.drawText(140, 72, "studio-tagger")
    small = QFont(painter.font())
    small.setPointSize(10)
    painter.setFont(small)
    painter.setPen(QColor(ACCENT))
    painter.drawText(142, 98, f"version {__version__}")
    painter.end()
    screen = QSplashScreen(card)
    screen.showMessage("Loading the instrument model…", Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight,
                       QColor(FOREGROUND))
    screen.show()
    QApplication.processEvents()
    return screen


def run_app(files: list[str]) -> int:
    """Open the main window (with the first file, when given) and run until it closes."""
    app = make_app()
    card = splash()
    from .main_window import MainWindow  # imports torch: the card is up meanwhile

    window = MainWindow()
    window.show()
    card.finish(window)
    freeze_long_lived()  # again, now that torch and the window's objects exist
    if files:
        window.open_path(Path(files[0]))
        if len(files) > 1:
            window.statusBar().showMessage(f"Opened {files[0]}; one recording at a time, {len(files) - 1} more "
                                           "ignored", 8000)
    code = app.exec()
    if not window.isVisible():
        leave(code, window.settings)
    return code


def leave(code: int, settings: AppSettings) -> None:
    """End the process now that the window has closed. Closing already saved what needed saving and
    waited for exports to let go of their files; the interpreter's own teardown would then wait on
    pool threads still inside a decode or a model call (Qt's thread pool joins them), on PortAudio's
    exit handler and on torch, which kept the process around for seconds after the window was gone."""
    settings.store.sync()  # QSettings would write itself out in its destructor, which never runs here
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
