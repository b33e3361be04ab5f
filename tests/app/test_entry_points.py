"""`studio-tagger FILE` opens the app with the file; recent files are offered again."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtWidgets import QApplication

from studio_tagger import cli
from studio_tagger.app import main_window
from studio_tagger.app.main_window import MainWindow


def test_command_line_opens_the_file_in_the_app(qtbot, monkeypatch, settings, take) -> None:
    opened = []

    class Window(MainWindow):
        def __init__(self) -> None:
            super().__init__(settings)
            opened.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Window)
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # return instead of running the event loop
    assert cli.main([str(take)]) == 0
    window = opened[0]
    qtbot.addWidget(window)
    assert window.isVisible() and window.doc is not None and window.doc.path == take
    window.shutdown()


def test_recent_files_menu_reopens(qtbot, window, take) -> None:
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(take)
    window._fill_recent()
    actions = [a for a in window.recent_menu.actions() if a.text() == str(take.resolve())]
    assert actions
    with qtbot.waitSignal(window.documentOpened, timeout=5000):
        actions[0].trigger()
    assert window.doc.path.resolve() == take.resolve()


STUCK = """
import sys, threading
from PySide6.QtCore import QRunnable, QSettings, QThreadPool, QTimer
from studio_tagger.app import main as app_main
from studio_tagger.app import main_window
from studio_tagger.app.settings import AppSettings

class Stuck(QRunnable):  # a pool thread inside a call no cancel reaches (a slow decode, a model call)
    def run(self):
        threading.Event().wait()

class Window(main_window.MainWindow):
    def __init__(self):
        super().__init__(AppSettings(QSettings(sys.argv[1], QSettings.Format.IniFormat)))
        QThreadPool.globalInstance().start(Stuck())
        QTimer.singleShot(0, self.close)

main_window.MainWindow = Window
sys.exit(app_main.run_app([]))
"""


def test_the_process_ends_when_the_window_closes(tmp_path) -> None:
    """Qt's thread pool would join a busy pool thread at exit, and the process outlived its window."""
    store = tmp_path / "settings.ini"
    child = subprocess.run([sys.executable, "-c", STUCK, str(store)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert child.returncode == 0, child.stderr
    assert "geometry" in store.read_text()  # what closing saved is on disk, though no destructor ran


def test_cuda_starts_before_the_window_shows_when_analysis_may_use_it(qtbot, monkeypatch, settings) -> None:
    """CUDA's start holds the GIL for 0.2 s; the window starts it while it is built (or when the device
    setting changes), so that the analysis thread never does it under a visible, frozen GUI."""
    import torch

    from studio_tagger.app.settings_dialog import SettingsValues

    started: list[str] = []
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "init", lambda: started.append("init"))
    w = MainWindow(settings)  # the fixture's device is 'cpu': nothing to start
    qtbot.addWidget(w)
    assert started == []
    w.apply_settings(SettingsValues(settings.model_path, "auto", settings.hop, {}, {}))
    assert started == ["init"]
    settings.device = "cuda"
    qtbot.addWidget(MainWindow(settings))
    assert started == ["init", "init"]

    def no_driver() -> None:
        raise RuntimeError("Found no NVIDIA driver on your system.")

    monkeypatch.setattr(torch.cuda, "init", no_driver)  # a CUDA build of torch on a laptop without one
    qtbot.addWidget(MainWindow(settings))


SPLASH = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSplashScreen
from studio_tagger.app import main as app_main

shown = QSplashScreen.show
def show(self):
    print("card up; torch loaded:", "torch" in sys.modules, flush=True)
    shown(self)
QSplashScreen.show = show
finish = QSplashScreen.finish
def finished(self, window):
    print("window up; card visible:", self.isVisible(), flush=True)
    finish(self, window)
    print("card visible after:", self.isVisible(), flush=True)
    QTimer.singleShot(0, window.close)
QSplashScreen.finish = finished
sys.exit(app_main.run_app([]))
"""


def test_a_card_shows_before_torch_loads_and_goes_when_the_window_is_up(tmp_path) -> None:
    """Importing torch takes one to two seconds, in which nothing showed before."""
    home = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}  # not the user's
    child = subprocess.run([sys.executable, "-c", SPLASH], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **home})
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == ["card up; torch loaded: False", "window up; card visible: True",
                                         "card visible after: False"]
