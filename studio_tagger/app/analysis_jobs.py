"""The background work on the open document: waveform/spectrogram summaries and the analysis.

Jobs report through signals tagged with a generation (see ``workers``); a result whose generation is
no longer current (the file was closed, the analysis re-run or cancelled) is dropped on arrival.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from ..analysis import ActivityChunk, AnalysisResult, Cancelled
from ..analysis.device import DeviceError
from ..audio.peaks import PeakPyramid, PeaksCancelled
from ..audio.reader import AudioError
from ..counted import counted
from ..models import ModelError
from ..session import Session
from .activity import ActivityModel
from .document import Document
from .jobs import AnalysisNotice, AnalysisSettings, AnalysisStarted, AnalyzerCache, analysis_job, summary_job
from .settings import AppSettings
from .timefmt import clock
from .workers import JobSlot

REGIONS_EVERY_MS = 1000  # while analysis streams in, regions are recomputed at most this often (each
# recompute redraws the region list and blocks: at 250 ms that was most of the GUI time on a 3 h take)
SUMMARY_EVERY_MS = 250


def single_shot(parent: QObject, interval_ms: int, slot) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


class AnalysisJobs(QObject):
    """Starts, follows and cancels the summary and analysis jobs of one document at a time."""

    started = Signal()
    finished = Signal()
    cancelled = Signal()
    failed = Signal(str)
    ended = Signal()  # finished, cancelled or failed: the progress display goes
    summaryFinished = Signal()
    analysed = Signal(object)  # the finished AnalysisResult (its window embeddings serve adapting)
    progressChanged = Signal(int)  # percent
    modelInfo = Signal(str, str)  # model name, device
    speedChanged = Signal(str)  # "12× real time", or "" when unknown
    notice = Signal(str)  # the analysis changed course; a status line is enough
    message = Signal(str, int)  # status line, milliseconds
    error = Signal(str)  # worth a dialog

    def __init__(self, settings: AppSettings, block_seconds: float | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.block_seconds = block_seconds
        self.doc: Document | None = None
        self.state = "idle"  # idle, running, done, cancelled, failed
        self.speed = 0.0
        self._started_at = 0.0
        # A device that is not there is the editor's setting to change: one line, no traceback on stderr.
        self.analysis = JobSlot(cancel_errors=(Cancelled,), user_errors=(ModelError, AudioError, DeviceError))
        self.summary = JobSlot(cancel_errors=(PeaksCancelled,), user_errors=(AudioError,))
        self.analyzers = AnalyzerCache()
        self._regions_timer = single_shot(self, REGIONS_EVERY_MS, self._recompute_regions)
        self._summary_timer = single_shot(self, SUMMARY_EVERY_MS, self._summary_tick)

    def set_document(self, doc: Document | None) -> None:
        """A new document (or none): whatever ran for the old one is cancelled and forgotten."""
        self.analysis.cancel()
        self.summary.cancel()
        self._regions_timer.stop()
        self._summary_timer.stop()
        if self.state == "running":
            self.ended.emit()
        self.state = "idle"
        self.doc = doc

    @property
    def slots(self) -> tuple[JobSlot, JobSlot]:
        return self.analysis, self.summary

    # --- summaries ------------------------------------------------------------------------------

    def start_summary(self) -> None:
        self.summary.start(summary_job(self.doc), progress=self._summary_progress, finished=self._summary_done,
                           failed=self._summary_failed)

    def restore_summaries(self, session: Session) -> bool:
        """The waveform and spectrogram from a session's cache; False when it does not fit the recording."""
        doc = self.doc
        try:
            peaks = PeakPyramid.from_arrays(session.cache)
        except (KeyError, ValueError):
            return False
        if (peaks.sample_rate, peaks.frames) != (doc.info.sample_rate, doc.info.frames):
            return False
        if not doc.spectrogram.restore(session.cache):
            return False
        doc.peaks = peaks
        doc.summaryChanged.emit()
        self.summaryFinished.emit()
        return True

    def _summary_progress(self, generation: int, _fraction: float) -> None:
        if self.summary.is_current(generation) and not self._summary_timer.isActive():
            self._summary_timer.start()

    def _summary_tick(self) -> None:
        if self.doc is not None:
            self.doc.summaryChanged.emit()

    def _summary_done(self, generation: int, _result) -> None:
        if self.summary.is_current(generation):
            self._summary_timer.stop()
            self.doc.summaryChanged.emit()
            self.summaryFinished.emit()

    def _summary_failed(self, generation: int, message: str) -> None:
        if self.summary.is_current(generation):
            self.error.emit(f"waveform: {message}")

    # --- analysis -------------------------------------------------------------------------------

    def start_analysis(self) -> None:
        if self.doc is None:
            return
        s = self.settings
        settings = AnalysisSettings(s.model_path, s.device, s.hop, self.block_seconds)
        self.analysis.start(analysis_job(self.doc.path, settings, self.analyzers), item=self._item,
                            progress=self._progress, finished=self._done, failed=self._failed)
        self.state = "running"
        self._started_at = time.perf_counter()
        self.speed = 0.0
        self.speedChanged.emit("")
        self.started.emit()
        self.message.emit(f"Analysing {self.doc.path.name}…", 0)

    def use_saved(self, session: Session) -> None:
        """A session's analysis of this very recording: shown as it was saved, the model never runs."""
        doc = self.doc
        doc.set_activity_model(ActivityModel.complete(session.labels, session.hop, doc.duration, session.times,
                                                      session.activity, session.model))
        self.state = "done"
        self.modelInfo.emit(session.model, "(from session)")
        self.speedChanged.emit("")

    def _item(self, generation: int, item) -> None:
        if not self.analysis.is_current(generation) or self.doc is None:
            return
        if isinstance(item, AnalysisStarted):
            self.modelInfo.emit(item.model, item.device)
            self.doc.set_activity_model(ActivityModel(item.labels, item.hop, self.doc.duration, item.model))
        elif isinstance(item, AnalysisNotice):
            self.notice.emit(item.text)
        elif isinstance(item, ActivityChunk):
            self.doc.append_activity(item.times, item.activity)
            elapsed = time.perf_counter() - self._started_at
            if elapsed > 0:
                self.speed = item.done / elapsed
                self.speedChanged.emit(f"{self.speed:.0f}× real time")
            if not self._regions_timer.isActive():
                self._regions_timer.start()

    def _progress(self, generation: int, fraction: float) -> None:
        if self.analysis.is_current(generation):
            self.progressChanged.emit(int(fraction * 100))

    def _done(self, generation: int, result: AnalysisResult) -> None:
        if not self.analysis.is_current(generation) or self.doc is None:
            return
        self._regions_timer.stop()
        self.doc.activity.filled = len(self.doc.activity.times)
        self.doc.recompute_regions()
        self.state = "done"
        self.ended.emit()
        self.speed = result.duration / result.elapsed if result.elapsed > 0 else 0.0
        self.speedChanged.emit(f"{self.speed:.0f}× real time")
        if result.shorter_than_window:  # as `analyze` says it, and no regions over the padding (Session.detected)
            self.message.emit(f"{result.duration:.2f} s, {result.short_notice()} (they can still be drawn by hand)",
                              8000)
        else:
            n = len(self.doc.regions)
            self.message.emit(f"Analysed {clock(result.duration, 0)} in {result.elapsed:.1f} s on {result.device}: "
                              f"{counted(n, 'region')}", 8000)
        self.analysed.emit(result)
        self.finished.emit()

    def _failed(self, generation: int, message: str) -> None:
        if not self.analysis.is_current(generation):
            return
        self.state = "failed"
        self.ended.emit()
        self.error.emit(f"analysis failed: {message}")
        self.failed.emit(message)

    def cancel(self) -> None:
        """Stop the analysis now; what is done stays on screen and everything else keeps working."""
        if self.state != "running":
            return
        self.analysis.cancel()
        self.state = "cancelled"
        self.ended.emit()
        self._recompute_regions()
        done = self.doc.activity.filled_seconds if self.doc else 0.0
        self.message.emit(f"Analysis cancelled at {clock(done, 0)}; Ctrl+R runs it again", 8000)
        self.cancelled.emit()

    def _recompute_regions(self) -> None:
        if self.doc is not None:
            self.doc.recompute_regions()
