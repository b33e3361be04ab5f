"""`studio-tagger FILE` opens the app with the file; recent files are offered again."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import soundfile as sf
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

    def run_until_opened(self) -> int:  # return once the file opened (after the window's first paint)
        qtbot.waitUntil(lambda: bool(opened) and opened[0].doc is not None, timeout=10_000)
        return 0

    monkeypatch.setattr(QApplication, "exec", run_until_opened)
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


def test_cuda_starts_behind_the_shown_window_or_when_the_device_setting_changes(qtbot, monkeypatch, settings) -> None:
    """CUDA's start holds the GIL for 0.2 s; the thread that loads torch once the window shows starts it
    (and so does a change of the device setting, while the user waits on the dialog), so that the
    analysis thread never does it under a take the editor just opened."""
    import torch

    from studio_tagger.app import main as app_main
    from studio_tagger.app.settings_dialog import SettingsValues

    started: list[str] = []
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "init", lambda: started.append("init"))
    w = MainWindow(settings)  # building the window starts nothing
    qtbot.addWidget(w)
    app_main.load_torch_behind("cpu").join()
    assert started == []
    w.apply_settings(SettingsValues(settings.model_path, "auto", settings.hop, {}, {}))
    assert started == ["init"]
    app_main.load_torch_behind("cuda").join()
    assert started == ["init", "init"]

    def no_driver() -> None:
        raise RuntimeError("Found no NVIDIA driver on your system.")

    monkeypatch.setattr(torch.cuda, "init", no_driver)  # a CUDA build of torch on a laptop without one
    app_main.load_torch_behind("auto").join()
    w.apply_settings(SettingsValues(settings.model_path, "cuda", settings.hop, {}, {}))


WINDOW_FIRST = """
import sys
from PySide6.QtCore import QTimer
from studio_tagger.app import main as app_main
from studio_tagger.app import main_window

Window = main_window.MainWindow
class Shown(Window):
    def showEvent(self, event):
        super().showEvent(event)
        Shown.shown = self
        print("window shown; torch loaded:", "torch" in sys.modules, flush=True)
main_window.MainWindow = Shown
behind = app_main.load_torch_behind
def load_and_wait(device):
    thread = behind(device)
    thread.join()
    from studio_tagger.analysis import analyzer
    print("then torch loaded:", "torch" in sys.modules, "; analyzer:", hasattr(analyzer, "Analyzer"), flush=True)
    def close():
        if Shown.shown.doc is not None:
            print("opened:", Shown.shown.doc.path.name, flush=True)
        Shown.shown.close()
    QTimer.singleShot(0, close)
    return thread
app_main.load_torch_behind = load_and_wait
sys.exit(app_main.run_app(sys.argv[1:]))
"""


def test_the_window_shows_before_torch_loads_which_then_loads_behind_it(tmp_path) -> None:
    """Importing torch takes one to two seconds, which the window no longer waits for: it shows first and
    torch then loads on a helper thread."""
    home = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}  # not the user's
    child = subprocess.run([sys.executable, "-c", WINDOW_FIRST], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **home})
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == ["window shown; torch loaded: False", "then torch loaded: True ; analyzer: True"]
    # A recording named on the command line opens once the window has painted.
    take = tmp_path / "take.wav"
    sf.write(str(take), np.zeros(16000 * 3, np.float32), 16000)
    child = subprocess.run([sys.executable, "-c", WINDOW_FIRST, str(take)], capture_output=True, text=True,
                           timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **home})
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines()[0] == "window shown; torch loaded: False"
    assert "opened: take.wav" in child.stdout.splitlines()
