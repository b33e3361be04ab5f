"""Entry point of the desktop app: ``studio-tagger FILE`` or ``studio-tagger app [FILE]``."""

from __future__ import annotations

import gc
import os
import sys
import threading
from importlib import import_module
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .. import __version__
from ..analysis.device import start_cuda
from .collector import GuiThreadCollector
from .settings import AppSettings
from .theme import apply_dark_theme

SWITCH_INTERVAL_S = 0.001
FIRST_PAINT_MS = 50  # how long the window gets to paint before torch starts loading behind it


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
    gc.collect()
    freeze_long_lived()
    global _collector
    if _collector is None:  # collections run on this, the GUI, thread only (see `collector`)
        _collector = GuiThreadCollector(app)
    return app


_collector: GuiThreadCollector | None = None


def stop_gui_collection() -> None:
    """Automatic garbage collection back on (code that goes on without the app's event loop)."""
    global _collector
    if _collector is not None:
        _collector.stop()
        _collector = None


def freeze_long_lived() -> None:
    """torch, Qt and pyqtgraph leave a few hundred thousand long-lived objects behind; a full garbage
    collection walking them all holds the GIL for tens of milliseconds. Frozen, they are skipped, so
    collections stay short (a GUI stall probe saw 57 ms pauses drop to a few). Freezing frees nothing,
    so any thread may do it; collecting is the GUI thread's."""
    gc.freeze()


def load_torch_behind(device: str = "auto") -> threading.Thread:
    """Import torch and the analyzer on a helper thread once the window shows (one to two seconds here,
    which the window used to wait for): by the time a recording is opened they are mostly loaded, and an
    analysis that starts sooner waits for the same import. CUDA starts there too when ``device`` may use
    it: its start holds the GIL for 0.2 s whichever thread does it, better now than under a take the
    editor just opened. Then what is long-lived is frozen again."""

    def load() -> None:
        import_module("studio_tagger.analysis.analyzer")
        import_module("studio_tagger.adapt.adapter")
        start_cuda(device)
        freeze_long_lived()

    thread = threading.Thread(target=load, name="load-torch", daemon=True)
    thread.start()
    return thread


def run_app(files: list[str]) -> int:
    """Open the main window (with the first file, when given) and run until it closes."""
    app = make_app()
    from .main_window import MainWindow  # without torch: the window shows in well under a second

    window = MainWindow()
    window.show()

    def start() -> None:
        load_torch_behind(window.settings.device)
        if files:
            window.open_path(Path(files[0]))
            if len(files) > 1:
                window.statusBar().showMessage(f"Opened {files[0]}; one recording at a time, {len(files) - 1} "
                                               "more ignored", 8000)

    # Once the window has painted: importing torch holds the GIL for a quarter of a second at a stretch
    # (its extension loading; an analysis of the file opened imports it too), which before the first
    # paint left the new window blank meanwhile.
    QTimer.singleShot(FIRST_PAINT_MS, start)
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
