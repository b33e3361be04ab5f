"""Fixtures for the desktop app tests: a random-weight model, short generated takes, isolated settings.

The whole folder is skipped where PySide6 (or pytest-qt) is not installed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import soundfile as sf  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox  # noqa: E402

from studio_tagger.app.files import Files  # noqa: E402
from studio_tagger.app.main import make_app, stop_gui_collection  # noqa: E402
from studio_tagger.app.main_window import MainWindow  # noqa: E402
from studio_tagger.app.settings import AppSettings  # noqa: E402
from studio_tagger.features import FeatureParams  # noqa: E402
from studio_tagger.labels import LABELS  # noqa: E402
from studio_tagger.models import ActivityCNN, save_model  # noqa: E402


def _modal_refused(owner: str, name: str):
    def refuse(*args, **kwargs):
        texts = [a for a in args if isinstance(a, str)]
        raise AssertionError(f"a test reached a real modal dialog ({owner}.{name}: {texts}); it would wait for a "
                             "click that never comes: replace the method that asks, as the tests do")
    return refuse


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A modal dialog runs Qt's own event loop in C++, where neither pytest-timeout's alarm nor Ctrl+C
    reaches: one the test did not expect blocks the whole run until CI kills it. Here it fails the test
    instead, naming the dialog; a test that wants one patches the static method itself afterwards."""
    for owner, names in ((QMessageBox, ("question", "warning", "critical", "information", "about")),
                         (QFileDialog, ("getOpenFileName", "getSaveFileName", "getExistingDirectory")),
                         (QInputDialog, ("getItem", "getText", "getInt", "getDouble"))):
        for name in names:
            monkeypatch.setattr(owner, name, _modal_refused(owner.__name__, name))
    monkeypatch.setattr(QDialog, "exec", _modal_refused("QDialog", "exec"))


@pytest.fixture(scope="session")
def qapp():
    """pytest-qt's application, themed as the app is (and collecting garbage on this thread only)."""
    return make_app()


@pytest.fixture(scope="package", autouse=True)
def gui_thread_collection():
    """The tests after this folder run without the app's event loop: automatic collection comes back."""
    yield
    stop_gui_collection()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A model with random weights: tests check the app's plumbing, not what a trained model predicts."""
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    save_model(ActivityCNN().eval(), {"name": "test", "architecture": {"type": "activity_cnn", "params": {}},
                                      "labels": list(LABELS), "features": FeatureParams().to_dict(),
                                      "window_seconds": 2.0}, path)
    return path


def write_take(path: Path, seconds: float, rate: int = 22050, channels: int = 2) -> Path:
    """Tones in passages with pauses between them, like phrases of different instruments."""
    t = np.arange(int(seconds * rate)) / rate
    x = np.zeros_like(t)
    for i, start in enumerate(np.arange(2.0, seconds - 3.0, 7.0)):
        f0 = (220.0, 330.0, 440.0, 587.0)[i % 4]
        on = (t >= start) & (t < start + 4.0)
        x[on] = sum(0.25 / k * np.sin(2 * np.pi * f0 * k * t[on]) for k in range(1, 5))
    x += 0.003 * np.random.default_rng(1).standard_normal(len(t))
    data = np.stack([x, 0.8 * x], axis=1) if channels == 2 else x
    sf.write(path, data.astype(np.float32), rate)
    return path


@pytest.fixture(scope="session")
def take(tmp_path_factory) -> Path:
    return write_take(tmp_path_factory.mktemp("audio") / "take.flac", 40.0)


@pytest.fixture(scope="session")
def long_take(tmp_path_factory) -> Path:
    """Long enough that the analysis is still running when a test cancels it or closes the window."""
    return write_take(tmp_path_factory.mktemp("audio") / "long.wav", 900.0, rate=16000, channels=1)


@pytest.fixture
def settings(tmp_path, model_path) -> AppSettings:
    s = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.model_path = str(model_path)
    s.device = "cpu"
    s.autosave_dir = tmp_path / "autosave"  # never the user's own autosave folder
    return s


class FakeOutput:
    """An audio output that plays nothing: position runs on a clock the test can read."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[Path, float, float | None]] = []
        self._since: float | None = None
        self.speed = 4.0  # 4x real time, so tests do not wait long

    def start(self, path: Path, start: float, stop: float | None) -> None:
        from studio_tagger.app.playback import PlaybackError

        if self.fail:
            raise PlaybackError(self.fail)
        self.calls.append((Path(path), start, stop))
        self._since = time.monotonic()

    def stop(self) -> None:
        self._since = None

    def position(self) -> float | None:
        if self._since is None:
            return None
        path, start, stop = self.calls[-1]
        now = start + (time.monotonic() - self._since) * self.speed
        return None if stop is not None and now >= stop else now


@pytest.fixture
def output() -> FakeOutput:
    return FakeOutput()


@pytest.fixture
def window(qtbot, settings, output, monkeypatch):
    monkeypatch.setattr(Files, "confirm_discard", lambda self: True)
    w = MainWindow(settings, output=output, analysis_block_seconds=5.0)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.shutdown()


@pytest.fixture
def analysed(qtbot, window, take) -> MainWindow:
    """The window with the take open, its analysis and waveform summary finished."""
    with qtbot.waitSignals([window.analysisFinished, window.summaryFinished], timeout=30_000):
        assert window.open_path(take)
    return window
