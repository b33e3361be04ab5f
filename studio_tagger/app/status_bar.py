"""The status bar's permanent part: playhead position, model, device, analysis speed and progress."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from .analysis_jobs import AnalysisJobs
from .timefmt import clock


class StatusWidgets:
    def __init__(self, bar: QStatusBar, jobs: AnalysisJobs) -> None:
        self.position_label = QLabel(clock(0.0))
        self.model_label = QLabel("model: —")
        self.device_label = QLabel("device: —")
        self.speed_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("analysing %p%")
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the analysis; lanes keep what is done")
        self.cancel_button.clicked.connect(jobs.cancel)
        for w in (self.position_label, self.model_label, self.device_label, self.speed_label, self.progress,
                  self.cancel_button):
            bar.addPermanentWidget(w)
        self.show_progress(False)
        jobs.started.connect(self._started)
        jobs.ended.connect(lambda: self.show_progress(False))
        jobs.progressChanged.connect(self._progress)
        jobs.modelInfo.connect(self._model_info)
        jobs.speedChanged.connect(self.speed_label.setText)

    def follow(self, job) -> None:
        """Another background job (an adaptation) shown with the same progress bar and Cancel button:
        ``job`` has started, ended and progressChanged signals and a cancel method."""
        job.started.connect(self._started)
        job.ended.connect(lambda: self.show_progress(False))
        job.progressChanged.connect(self._progress)
        self.cancel_button.clicked.connect(job.cancel)

    def show_progress(self, shown: bool) -> None:
        self.progress.setVisible(shown)
        self.cancel_button.setVisible(shown)

    def set_position(self, t: float) -> None:
        self.position_label.setText(clock(t))

    def _started(self) -> None:
        self.progress.setValue(0)
        self.show_progress(True)

    def _progress(self, percent: int) -> None:
        if percent != self.progress.value():  # repaint on change only
            self.progress.setValue(percent)

    def _model_info(self, model: str, device: str) -> None:
        self.model_label.setText(f"model: {model}")
        self.device_label.setText(f"device: {device}")
