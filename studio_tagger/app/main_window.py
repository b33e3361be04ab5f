"""The main window: menus, docks and status bar around the timeline; it starts and stops background jobs.

Jobs report through signals tagged with a generation (see ``workers``); a result whose generation is
no longer current (the file was closed, the analysis re-run or cancelled) is dropped on arrival.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QToolButton,
)

from ..analysis import ActivityChunk, AnalysisResult, Cancelled
from ..analysis.analyzer import require_analysable
from ..analysis.regions import Region, RegionParams
from ..atomic import AtomicWriteError
from ..audio.peaks import PeakPyramid, PeaksCancelled
from ..audio.reader import AudioError, probe
from ..autosave import Autosave, describe, read_autosave, remove_autosave, write_autosave
from ..interchange import ActivityTable, ExportCancelled, InterchangeError, export_regions
from ..models import ModelError
from ..session import SESSION_SUFFIX, Session, SessionError, content_hash, load_session, save_session
from .activity import ActivityModel
from .detection_panel import DetectionPanel
from .document import Document
from .export_dialog import ExportDialog, ExportRequest
from .jobs import AnalysisNotice, AnalysisSettings, AnalysisStarted, AnalyzerCache, analysis_job, summary_job
from .playback import AudioOutput, Player
from .region_list import RegionList
from .settings import AppSettings
from .settings_dialog import SettingsDialog, SettingsValues
from .timefmt import clock
from .timeline import Timeline
from .workers import JobSlot

AUDIO_FILTER = ("Audio and sessions (*.wav *.flac *.ogg *.oga *.aif *.aiff *.w64 *.caf *.mp3 *.stsession);;"
                "Sessions (*.stsession);;All files (*)")
CLOSE_WAIT_S = 3.0
REGIONS_EVERY_MS = 1000  # while analysis streams in, regions are recomputed at most this often (each
# recompute redraws the region list and blocks: at 250 ms that was most of the GUI time on a 3 h take)
SUMMARY_EVERY_MS = 250
AUTOSAVE_AFTER_MS = 1500  # edits are autosaved this long after the last one


class MainWindow(QMainWindow):
    # For tests, benchmarks and scripts: what happened, on the GUI thread.
    documentOpened = Signal()
    analysisFinished = Signal()
    analysisCancelled = Signal()
    analysisFailed = Signal(str)
    summaryFinished = Signal()
    exportFinished = Signal(str)
    exportFailed = Signal(str)
    autosaved = Signal(str)  # path of the autosave file

    def __init__(self, settings: AppSettings | None = None, output: AudioOutput | None = None,
                 analysis_block_seconds: float | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.analysis_block_seconds = analysis_block_seconds
        self.doc: Document | None = None
        self.session_path: Path | None = None
        self.colours: dict[str, str] = {}
        self.analysis_state = "idle"  # idle, running, done, cancelled, failed
        self.last_error = ""
        self.error_box: QMessageBox | None = None  # the last error dialog (tests read it)
        self._source_hash = ""
        self.analysis_speed = 0.0
        self._analysis_started = 0.0
        self.analysis = JobSlot(cancel_errors=(Cancelled,), user_errors=(ModelError, AudioError))
        self.summary = JobSlot(cancel_errors=(PeaksCancelled,), user_errors=(AudioError,))
        self.exports = JobSlot(cancel_errors=(ExportCancelled,), user_errors=(InterchangeError, AtomicWriteError))
        self.analyzers = AnalyzerCache()
        self.player = Player(output, self)
        self.undo_group = QUndoGroup(self)

        self.timeline = Timeline()
        self.setCentralWidget(self.timeline)
        self.region_list = RegionList()
        self.detection = DetectionPanel()
        self.detection.set_params(self.settings.params)
        self._dock("Regions", self.region_list, "regions")
        self._dock("Detection", self.detection, "detection")
        self._status_bar()
        self._actions()
        self._menus()

        self._regions_timer = _single_shot(self, REGIONS_EVERY_MS, self._recompute_regions)
        self._summary_timer = _single_shot(self, SUMMARY_EVERY_MS, self._summary_tick)
        self._autosave_timer = _single_shot(self, AUTOSAVE_AFTER_MS, self.autosave)
        self.detection.paramsChanged.connect(self.set_region_params)
        self.region_list.activated.connect(self.jump_to)
        self.region_list.selected.connect(lambda r: self.doc and self.doc.select_region(r))
        self.timeline.contextMenuRequested.connect(self._context_menu)
        self.player.positionChanged.connect(self._play_position)
        self.player.playingChanged.connect(lambda playing: self.play_action.setText("Pause" if playing else "Play"))
        self.player.error.connect(self.notify)  # no popup each time space is pressed without a sound card
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._update_title()
        self._update_actions()

    # --- construction ---------------------------------------------------------------------------

    def _dock(self, title: str, widget, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _status_bar(self) -> None:
        bar = self.statusBar()
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
        self.cancel_button.clicked.connect(self.cancel_analysis)
        for w in (self.position_label, self.model_label, self.device_label, self.speed_label, self.progress,
                  self.cancel_button):
            bar.addPermanentWidget(w)
        self.progress.hide()
        self.cancel_button.hide()

    def _action(self, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _actions(self) -> None:
        a = self._action
        self.open_action = a("&Open…", self.open_dialog, [QKeySequence.StandardKey.Open])
        self.save_action = a("&Save Session", self.save_session, [QKeySequence.StandardKey.Save])
        self.save_as_action = a("Save Session &As…", lambda: self.save_session(ask=True), ["Ctrl+Shift+S"])
        self.export_action = a("&Export Regions…", self.export_dialog, ["Ctrl+E"])
        self.settings_action = a("Se&ttings…", self.settings_dialog, ["Ctrl+,"])
        self.quit_action = a("&Quit", self.close, [QKeySequence.StandardKey.Quit])
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.undo_action, self.redo_action])
        self.delete_action = a("&Delete Region", self.delete_selected, [QKeySequence.StandardKey.Delete, "Backspace"])
        self.relabel_action = a("&Relabel Region…", self.relabel_dialog, ["L"])
        self.add_action = a("&Add Region from Selection", self.add_from_selection, ["A", "Insert"],
                            "Shift+drag in the views to select a time span first")
        self.play_action = a("Play", self.toggle_play, ["Space"])
        self.play_region_action = a("Play &Selected Region", self.play_selected, ["Shift+Space"])
        self.next_action = a("&Next Region", self.next_region, ["N", "Ctrl+Right"])
        self.prev_action = a("&Previous Region", lambda: self.next_region(backwards=True), ["P", "Ctrl+Left"])
        self.lane_up_action = a("Select Lane Above", lambda: self._step_lane(-1), ["Alt+Up"])
        self.lane_down_action = a("Select Lane Below", lambda: self._step_lane(1), ["Alt+Down"])
        self.start_action = a("Playhead to Start", lambda: self.doc and self.doc.set_playhead(0.0), ["Home"])
        self.end_action = a("Playhead to End", lambda: self.doc and self.doc.set_playhead(self.doc.duration), ["End"])
        self.zoom_in_action = a("Zoom &In", lambda: self.timeline.zoom(0.5), ["+", "=", "Ctrl++"])
        self.zoom_out_action = a("Zoom &Out", lambda: self.timeline.zoom(2.0), ["-", "Ctrl+-"])
        self.fit_action = a("&Fit All", self.timeline.fit_all, ["Ctrl+0", "F"])
        self.rerun_action = a("&Re-run Analysis", self.start_analysis, ["Ctrl+R"])
        self.cancel_action = a("&Cancel Analysis", self.cancel_analysis, ["Ctrl+."])
        self.clear_selection_action = a("Clear Selection", self._clear_selection, ["Escape"])
        self.find_actions: list[QAction] = []

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.open_action)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addActions([self.save_action, self.save_as_action, self.export_action])
        file.addSeparator()
        file.addActions([self.settings_action, self.quit_action])
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([self.add_action, self.relabel_action, self.delete_action, self.clear_selection_action])
        view = bar.addMenu("&View")
        view.addActions([self.zoom_in_action, self.zoom_out_action, self.fit_action])
        view.addSeparator()
        view.addActions([self.lane_up_action, self.lane_down_action])
        self.find_menu = bar.addMenu("F&ind")
        play = bar.addMenu("&Playback")
        play.addActions([self.play_action, self.play_region_action, self.start_action, self.end_action])
        analysis = bar.addMenu("&Analysis")
        analysis.addActions([self.rerun_action, self.cancel_action])
        self._fill_find_menu(())

    def _fill_find_menu(self, labels: tuple[str, ...]) -> None:
        """Per instrument: 'Next clarinet' (Ctrl+1...) and 'Previous clarinet' (Ctrl+Shift+1...)."""
        for action in self.find_actions:
            self.removeAction(action)
        self.find_menu.clear()
        self.find_menu.addActions([self.next_action, self.prev_action])
        self.find_menu.addSeparator()
        self.find_actions = []
        for i, label in enumerate(labels):
            keys = ([f"Ctrl+{i + 1}"], [f"Ctrl+Shift+{i + 1}"]) if i < 9 else ([], [])
            nxt = self._action(f"Next {label}", lambda lb=label: self.next_region(lb), keys[0])
            prv = self._action(f"Previous {label}", lambda lb=label: self.next_region(lb, backwards=True), keys[1])
            self.find_menu.addActions([nxt, prv])
            self.find_actions += [nxt, prv]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(Path(p)))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self.settings.clear_recent)

    # --- opening and closing --------------------------------------------------------------------

    def open_dialog(self) -> None:
        recent = self.settings.recent_files
        start = str(Path(recent[0]).parent) if recent else ""
        name, _ = QFileDialog.getOpenFileName(self, "Open a recording or session", start, AUDIO_FILTER)
        if name:
            self.open_path(Path(name))

    def open_path(self, path: Path) -> bool:
        path = Path(path)
        if path.suffix.lower() == SESSION_SUFFIX:
            return self.open_session(path)
        return self.open_audio(path)

    def open_audio(self, path: Path) -> bool:
        if not self.confirm_discard():
            return False
        try:
            info = probe(path)
            require_analysable(info)
            source_hash = content_hash(path)
        except AudioError as exc:
            self.report_error(str(exc))
            return False
        except OSError as exc:
            self.report_error(f"{path}: cannot read ({exc.strerror or exc})")
            return False
        self._install(Document(info, self.detection_params(), self))
        self._source_hash = source_hash
        self.session_path = None
        self.settings.add_recent(path)
        self.start_summary()
        self.start_analysis()
        self._offer_restore(None)
        return True

    def open_session(self, path: Path) -> bool:
        if not self.confirm_discard():
            return False
        try:
            session = load_session(path)
            source = self._find_source(session, Path(path))
            if source is None:
                raise SessionError(f"{path}: its recording {session.source} is missing")
            info = probe(source)
            require_analysable(info)
            source_hash = content_hash(source)
        except (SessionError, AudioError) as exc:
            self.report_error(str(exc))
            return False
        except OSError as exc:
            self.report_error(f"{path}: cannot read its recording ({exc.strerror or exc})")
            return False
        session.source = source
        doc = Document(info, session.params, self)
        self._install(doc)
        self._source_hash = source_hash
        self.detection.set_params(session.params)
        self.session_path = Path(path)
        self.settings.add_recent(path)
        doc.edits = list(session.edits)  # the saved state is the starting point; undo starts empty
        same = source_hash == session.source_hash and abs(session.duration - info.duration) < 1e-3
        if same:
            doc.set_activity_model(ActivityModel.complete(session.labels, session.hop, info.duration, session.times,
                                                          session.activity, session.model))
            self.analysis_state = "done"
            self.model_label.setText(f"model: {session.model}")
            self.device_label.setText("device: (from session)")
            self.speed_label.setText("")
        else:
            self.report_error(f"{source} changed since the session was saved; analysing it again "
                              "(your edits are kept)")
            self.start_analysis()
        if not (same and self._restore_summaries(session)):
            self.start_summary()
        view = session.view
        if "start" in view and "end" in view:
            self.timeline.set_view(float(view["start"]), float(view["end"]))
        doc.set_playhead(float(view.get("playhead", 0.0)))
        if view.get("label") in doc.labels:
            doc.select_label(view["label"])
        self.statusBar().showMessage(f"Opened session {path}", 5000)
        self._offer_restore(Path(path))
        return True

    def _find_source(self, session: Session, session_path: Path) -> Path | None:
        """The session's recording, told by its content hash: where the session says; else beside the
        session (a folder moved or copied whole); else wherever the user points to. A recording that
        changed since the session was saved is offered for relocation too; declined, it is used as is."""
        if session.source.is_file():
            if session.matches_source():
                return session.source
            return self.locate_source(session.source, changed=True) or session.source
        beside = session_path.parent / session.source.name
        if beside.is_file() and content_hash(beside) == session.source_hash:
            return beside
        return self.locate_source(session.source)

    def _restore_summaries(self, session: Session) -> bool:
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

    def locate_source(self, missing: Path, changed: bool = False) -> Path | None:
        """Ask where a session's recording went (or, when ``changed``, where its original is); None when
        the user cancels. Tests replace this method."""
        title = (f"{missing.name} changed since the session was saved: locate the original (Cancel uses it as it is)"
                 if changed else f"Where is {missing.name}?")
        start = missing.parent if missing.parent.is_dir() else Path.home()
        name, _ = QFileDialog.getOpenFileName(self, title, str(start), AUDIO_FILTER)
        return Path(name) if name else None

    # --- autosave -------------------------------------------------------------------------------

    def _edits_changed(self) -> None:
        # The undo stack moves its index only after the command ran, so whether the edits are back at the
        # saved state is decided when the timer fires.
        self._autosave_timer.start()

    def _drop_autosave(self) -> None:
        self._autosave_timer.stop()
        if self.doc is not None:
            remove_autosave(self.settings.autosave_dir, self.doc.path)

    def autosave(self) -> None:
        """Write the edits to the autosave file; at the saved state (undone back to it) remove it."""
        doc = self.doc
        if doc is None:
            return
        if doc.undo.isClean():
            self._drop_autosave()
            return
        saved = Autosave(doc.path, self._source_hash, list(doc.edits), doc.params, self.session_path, time.time())
        try:
            path = write_autosave(self.settings.autosave_dir, saved)
        except (AtomicWriteError, OSError) as exc:
            self.notify(f"autosave failed: {exc}")
            return
        self.autosaved.emit(str(path))

    def _offer_restore(self, session_path: Path | None) -> None:
        """Offer edits autosaved for this recording (a crash, a killed process) when they are newer
        than the session being opened; declined, they are deleted."""
        doc = self.doc
        saved = read_autosave(self.settings.autosave_dir, doc.path)
        if saved is None or saved.source_hash != self._source_hash or saved.edits == doc.edits:
            return
        if session_path is not None and session_path.stat().st_mtime >= saved.saved_at:
            return  # saved as a session since (perhaps by another window): the autosave is older
        if not self.ask_restore(saved):
            self._drop_autosave()
            return
        self.detection.set_params(saved.params)
        self.set_region_params(saved.params)
        doc.restore_edits(saved.edits)
        self.statusBar().showMessage(f"Restored {describe(saved.edits)}; save the session to keep them", 8000)

    def ask_restore(self, saved: Autosave) -> bool:
        """Ask whether to restore autosaved edits. Tests replace this method."""
        when = datetime.fromtimestamp(saved.saved_at).strftime("%Y-%m-%d %H:%M")
        answer = QMessageBox.question(
            self, "Restore unsaved edits?",
            f"{describe(saved.edits)} to {saved.recording.name} were not saved (autosaved {when}, "
            "perhaps before a crash). Restore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _install(self, doc: Document) -> None:
        self._close_document()
        self.doc = doc
        self.colours = self.settings.colours(doc.labels)
        self.undo_group.addStack(doc.undo)
        self.undo_group.setActiveStack(doc.undo)
        doc.undo.cleanChanged.connect(self._update_title)
        doc.editsChanged.connect(self._edits_changed)
        doc.modelChanged.connect(self._model_changed)
        doc.regionsChanged.connect(self._regions_changed)
        doc.selectionChanged.connect(self._selection_changed)
        doc.playheadChanged.connect(lambda t: self.position_label.setText(clock(t)))
        self.timeline.set_document(doc, self.colours)
        self._model_changed()
        self._update_title()
        self._update_actions()
        self.documentOpened.emit()

    def _close_document(self) -> None:
        self.player.stop()
        self.analysis.cancel()
        self.summary.cancel()
        self.progress.hide()
        self.cancel_button.hide()
        self.analysis_state = "idle"
        self._autosave_timer.stop()
        if self.doc is not None:
            self.undo_group.removeStack(self.doc.undo)
            self.doc.deleteLater()
            self.doc = None

    def confirm_discard(self) -> bool:
        """True when there are no unsaved edits, or the user saved or discarded them."""
        if self.doc is None or self.doc.undo.isClean():
            return True
        answer = QMessageBox.question(
            self, "Unsaved edits", "Save the region edits as a session first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_session()
        if answer == QMessageBox.StandardButton.Discard:
            self._drop_autosave()
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.confirm_discard():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback and every job, and wait (briefly) for the pool threads to let go."""
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.player.stop()
        for slot in (self.analysis, self.summary, self.exports, self.timeline.waveform.excerpts):
            slot.cancel()
        for slot in (self.analysis, self.summary, self.exports, self.timeline.waveform.excerpts):
            slot.wait(CLOSE_WAIT_S)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(Path(urls[0].toLocalFile()))

    # --- background jobs ------------------------------------------------------------------------

    def start_summary(self) -> None:
        self.summary.start(summary_job(self.doc), progress=self._summary_progress, finished=self._summary_done,
                           failed=self._summary_failed)

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
            self.report_error(f"waveform: {message}")

    def start_analysis(self) -> None:
        if self.doc is None:
            return
        settings = AnalysisSettings(self.settings.model_path, self.settings.device, self.settings.hop,
                                    self.analysis_block_seconds)
        self.analysis.start(analysis_job(self.doc.path, settings, self.analyzers), item=self._analysis_item,
                            progress=self._analysis_progress, finished=self._analysis_done,
                            failed=self._analysis_failed)
        self.analysis_state = "running"
        self._analysis_started = time.perf_counter()
        self.analysis_speed = 0.0
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.speed_label.setText("")
        self.statusBar().showMessage(f"Analysing {self.doc.path.name}…")
        self._update_actions()

    def _analysis_item(self, generation: int, item) -> None:
        if not self.analysis.is_current(generation) or self.doc is None:
            return
        if isinstance(item, AnalysisStarted):
            self.model_label.setText(f"model: {item.model}")
            self.device_label.setText(f"device: {item.device}")
            self.doc.set_activity_model(ActivityModel(item.labels, item.hop, self.doc.duration, item.model))
        elif isinstance(item, AnalysisNotice):
            self.notify(item.text)
        elif isinstance(item, ActivityChunk):
            self.doc.append_activity(item.times, item.activity)
            elapsed = time.perf_counter() - self._analysis_started
            if elapsed > 0:
                self.analysis_speed = item.done / elapsed
                self.speed_label.setText(f"{self.analysis_speed:.0f}× real time")
            if not self._regions_timer.isActive():
                self._regions_timer.start()

    def _analysis_progress(self, generation: int, fraction: float) -> None:
        percent = int(fraction * 100)
        if self.analysis.is_current(generation) and percent != self.progress.value():  # repaint on change only
            self.progress.setValue(percent)

    def _analysis_done(self, generation: int, result: AnalysisResult) -> None:
        if not self.analysis.is_current(generation) or self.doc is None:
            return
        self._regions_timer.stop()
        self.doc.activity.filled = len(self.doc.activity.times)
        self.doc.recompute_regions()
        self.analysis_state = "done"
        self._analysis_ended()
        speed = result.duration / result.elapsed if result.elapsed > 0 else 0.0
        self.analysis_speed = speed
        self.speed_label.setText(f"{speed:.0f}× real time")
        self.statusBar().showMessage(
            f"Analysed {clock(result.duration, 0)} in {result.elapsed:.1f} s on {result.device}: "
            f"{len(self.doc.regions)} regions", 8000)
        self.analysisFinished.emit()

    def _analysis_failed(self, generation: int, message: str) -> None:
        if not self.analysis.is_current(generation):
            return
        self.analysis_state = "failed"
        self._analysis_ended()
        self.report_error(f"analysis failed: {message}")
        self.analysisFailed.emit(message)

    def cancel_analysis(self) -> None:
        """Stop the analysis now; what is done stays on screen and everything else keeps working."""
        if self.analysis_state != "running":
            return
        self.analysis.cancel()
        self.analysis_state = "cancelled"
        self._analysis_ended()
        self._recompute_regions()
        done = self.doc.activity.filled_seconds if self.doc else 0.0
        self.statusBar().showMessage(f"Analysis cancelled at {clock(done, 0)}; Ctrl+R runs it again", 8000)
        self.analysisCancelled.emit()

    def _analysis_ended(self) -> None:
        self.timeline.lanes.flush()
        self.progress.hide()
        self.cancel_button.hide()
        self._update_actions()

    def _recompute_regions(self) -> None:
        if self.doc is not None:
            self.doc.recompute_regions()

    # --- document reactions ---------------------------------------------------------------------

    def _model_changed(self) -> None:
        doc = self.doc
        self.colours = self.settings.colours(doc.labels)
        self.region_list.set_labels(doc.labels)
        self._fill_find_menu(doc.labels)

    def _regions_changed(self) -> None:
        self.region_list.set_regions(self.doc.regions, self.colours)
        self.region_list.show_region(self.doc.selected_region)
        self._update_actions()

    def _selection_changed(self) -> None:
        self.region_list.show_region(self.doc.selected_region)
        self._update_actions()

    def _update_actions(self) -> None:
        doc = self.doc
        has_doc = doc is not None
        region = doc.selected_region if doc else None
        for action in (self.export_action, self.play_action, self.next_action, self.prev_action, self.fit_action,
                       self.zoom_in_action, self.zoom_out_action, self.rerun_action):
            action.setEnabled(has_doc)
        self.save_action.setEnabled(has_doc)
        self.save_as_action.setEnabled(has_doc)
        for action in (self.delete_action, self.relabel_action, self.play_region_action):
            action.setEnabled(region is not None)
        self.play_region_action.setEnabled(region is not None or bool(doc and doc.time_selection))
        self.add_action.setEnabled(bool(doc and doc.time_selection))
        self.cancel_action.setEnabled(self.analysis_state == "running")

    def _update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle("studio-tagger")
            return
        dirty = "" if self.doc.undo.isClean() else " *"
        self.setWindowTitle(f"{self.doc.path.name}{dirty} — studio-tagger")

    def detection_params(self) -> RegionParams:
        return self.detection.params()

    def set_region_params(self, params: RegionParams) -> None:
        """New thresholds or smoothing: regions are redrawn from the activity at once (no model run)."""
        self.settings.params = params
        if self.doc is not None:
            self.doc.set_params(params)

    # --- navigation and playback ----------------------------------------------------------------

    def next_region(self, label: str | None = None, backwards: bool = False) -> Region | None:
        doc = self.doc
        if doc is None:
            return None
        label = label or doc.selected_label
        if label is None:
            return None
        doc.select_label(label)
        region = doc.previous_region(label, doc.playhead) if backwards else doc.next_region(label, doc.playhead)
        if region is None:
            self.statusBar().showMessage(f"No {'earlier' if backwards else 'later'} {label} region", 3000)
            return None
        self.jump_to(region)
        return region

    def jump_to(self, region: Region) -> None:
        doc = self.doc
        if doc is None or region is None:
            return
        doc.select_region(region)
        doc.set_playhead(region.start)
        self.timeline.ensure_visible(region.start, region.end)
        self.statusBar().showMessage(f"{region.label}: {clock(region.start)} – {clock(region.end)}", 4000)

    def _step_lane(self, step: int) -> None:
        doc = self.doc
        if doc is None or not doc.labels:
            return
        i = doc.labels.index(doc.selected_label) if doc.selected_label in doc.labels else -step
        doc.select_label(doc.labels[(i + step) % len(doc.labels)])

    def toggle_play(self) -> None:
        if self.player.playing:
            self.player.stop()
        elif self.doc is not None:
            start = 0.0 if self.doc.playhead >= self.doc.duration - 1e-3 else self.doc.playhead
            self.player.play(self.doc.path, start)

    def play_selected(self) -> None:
        doc = self.doc
        if doc is None:
            return
        span = (doc.selected_region.start, doc.selected_region.end) if doc.selected_region else doc.time_selection
        if span is not None:
            doc.set_playhead(span[0])
            self.player.play(doc.path, span[0], span[1])

    def _play_position(self, t: float) -> None:
        if self.doc is not None:
            self.doc.set_playhead(t)
            self.timeline.follow(t)

    # --- editing --------------------------------------------------------------------------------

    def delete_selected(self) -> None:
        if self.doc is not None and self.doc.selected_region is not None:
            self.doc.delete_region(self.doc.selected_region)

    def relabel_dialog(self) -> None:
        doc = self.doc
        if doc is None or doc.selected_region is None:
            return
        labels = list(doc.labels)
        label, ok = QInputDialog.getItem(self, "Relabel region", "Instrument:", labels,
                                         labels.index(doc.selected_region.label), False)
        if ok:
            self.relabel_selected(label)

    def relabel_selected(self, label: str) -> None:
        if self.doc is not None and self.doc.selected_region is not None:
            self.doc.change_region(self.doc.selected_region, label=label)

    def add_from_selection(self) -> Region | None:
        doc = self.doc
        if doc is None or doc.time_selection is None or doc.selected_label is None:
            self.statusBar().showMessage("Shift+drag to select a time span, then add a region", 4000)
            return None
        start, end = doc.time_selection
        if end - start < 0.01:
            return None
        region = doc.add_region(doc.selected_label, start, end)
        doc.set_time_selection(None)
        return region

    def _clear_selection(self) -> None:
        if self.doc is not None:
            self.doc.set_time_selection(None)
            self.doc.select_region(None)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addActions([self.play_region_action, self.relabel_action, self.delete_action, self.add_action])
        menu.popup(pos)

    # --- sessions and export --------------------------------------------------------------------

    def save_session(self, ask: bool = False, path: Path | None = None) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if not doc.activity.is_complete:
            self.report_error("The analysis has not finished; let it finish (Ctrl+R re-runs it) before saving")
            return False
        target = path or (None if ask else self.session_path)
        if target is None:
            name, _ = QFileDialog.getSaveFileName(self, "Save session", str(doc.path.with_suffix(SESSION_SUFFIX)),
                                                  "Sessions (*.stsession)")
            if not name:
                return False
            target = Path(name)
        x0, x1 = self.timeline.view_range()
        cache = {}
        if doc.peaks.complete and doc.spectrogram.filled == doc.spectrogram.columns:
            cache = {**doc.peaks.to_arrays(), **doc.spectrogram.to_arrays()}
        model = doc.activity
        session = Session(
            source=doc.path, source_hash=content_hash(doc.path), duration=doc.duration,
            sample_rate=doc.info.sample_rate, model=model.model, labels=model.labels, hop=model.hop,
            times=model.times, activity=model.activity, model_path=self.settings.model_path or None,
            device=self.settings.device, params=doc.params, edits=list(doc.edits),
            view={"start": x0, "end": x1, "playhead": doc.playhead, "label": doc.selected_label}, cache=cache,
        )
        try:
            save_session(session, target)
        except (AtomicWriteError, OSError) as exc:
            self.report_error(str(exc))
            return False
        self.session_path = target
        doc.undo.setClean()
        self._drop_autosave()
        self.settings.add_recent(target)
        self.statusBar().showMessage(f"Saved session {target}", 5000)
        return True

    def export_dialog(self) -> None:
        doc = self.doc
        if doc is None:
            return
        dialog = ExportDialog(doc.path, doc.labels, self, has_activity=doc.activity.filled > 0)
        if dialog.exec():
            self.export(dialog.request())

    def export(self, request: ExportRequest) -> None:
        """Write the regions in the background (a WAV export copies the whole recording)."""
        doc = self.doc
        regions = list(doc.regions)
        times, activity = doc.activity.known()
        table = ActivityTable(times.copy(), activity.copy(), doc.labels) if len(times) else None
        source = doc.path

        def job(emit, progress, should_cancel):
            return export_regions(request.fmt, regions, request.path, options=request.options,
                                  source_audio=source, activity=table, should_cancel=should_cancel)

        self.exports.start(job, finished=self._export_done, failed=self._export_failed)
        self.statusBar().showMessage(f"Exporting {request.fmt} to {request.path}…")

    def _export_done(self, generation: int, path: Path) -> None:
        if self.exports.is_current(generation):
            self.statusBar().showMessage(f"Exported {path}", 6000)
            self.exportFinished.emit(str(path))

    def _export_failed(self, generation: int, message: str) -> None:
        if self.exports.is_current(generation):
            self.report_error(f"export failed: {message}")
            self.exportFailed.emit(message)

    def settings_dialog(self) -> None:
        labels = self.doc.labels if self.doc else ()
        params = self.detection_params()
        values = SettingsValues(self.settings.model_path, self.settings.device, self.settings.hop,
                                dict(params.per_label), self.settings.colours(labels))
        dialog = SettingsDialog(values, labels, params, self)
        if dialog.exec():
            self.apply_settings(dialog.values())

    def apply_settings(self, values: SettingsValues) -> None:
        rerun = (values.model, values.device, values.hop) != (self.settings.model_path, self.settings.device,
                                                              self.settings.hop)
        self.settings.model_path, self.settings.device, self.settings.hop = values.model, values.device, values.hop
        self.settings.set_colours(values.colours)
        params = self.detection_params()
        params.per_label = dict(values.per_label)
        self.set_region_params(params)
        if self.doc is not None:
            self.colours = self.settings.colours(self.doc.labels)
            self.timeline.set_colours(self.colours)
            self._regions_changed()
            if rerun:
                self.start_analysis()

    def notify(self, text: str) -> None:
        """A problem worth a status line only (the user can carry on as before)."""
        self.last_error = text
        self.statusBar().showMessage(text, 10000)

    def report_error(self, text: str) -> None:
        """Tell the user without stopping them: a status line and a message box that does not block."""
        self.notify(text)
        box = QMessageBox(QMessageBox.Icon.Warning, "studio-tagger", text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda: setattr(self, "error_box", None) if self.error_box is box else None)
        self.error_box = box
        box.open()


def _single_shot(parent, interval_ms: int, slot) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer

