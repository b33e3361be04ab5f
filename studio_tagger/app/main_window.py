"""The main window: builds menus and docks around the timeline and wires the app's parts together.

The work is done by objects the window owns, each testable on its own: ``files`` (opening recordings
and sessions, saving), ``jobs`` (summaries and analysis in the background), ``autosaver``, ``exports``,
``navigation`` (regions, lanes, playback) and ``editing``. The window connects their signals to the
views and the status bar.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox, QStackedWidget

from ..analysis.device import start_cuda
from ..analysis.regions import RegionParams
from ..shipped import shipped_choice
from .actions import ACTIONS, MENUS, SPECS
from .adaptation import Adaptation
from .analysis_jobs import AnalysisJobs
from .autosaver import Autosaver
from .detection_panel import DetectionPanel
from .document import Document
from .editing import Editor
from .exporter import Exporter
from .files import Files
from .navigation import Navigator
from .new_lane_dialog import NewLaneDialog
from .playback import AudioOutput, Player
from .region_list import RegionList
from .settings import AppSettings
from .settings_dialog import SettingsDialog, SettingsValues
from .shortcuts_dialog import ShortcutsDialog
from .start_screen import StartScreen
from .status_bar import StatusWidgets
from .timeline import Timeline

CLOSE_WAIT_S = 3.0


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
    adaptationFinished = Signal(str)  # the before/after summary

    def __init__(self, settings: AppSettings | None = None, output: AudioOutput | None = None,
                 analysis_block_seconds: float | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.colours: dict[str, str] = {}
        self.last_error = ""
        self.error_box: QMessageBox | None = None  # the last error dialog (tests read it)
        self.undo_group = QUndoGroup(self)

        self.timeline = Timeline()
        self.start_screen = StartScreen()
        self.start_screen.set_recent(self.settings.recent_files)
        self.central = QStackedWidget()  # the start screen until a recording is open, then the timeline
        self.central.addWidget(self.start_screen)
        self.central.addWidget(self.timeline)
        self.setCentralWidget(self.central)
        self.region_list = RegionList()
        self.detection = DetectionPanel()
        self.detection.set_params(self.settings.params)
        self.docks = [self._dock("Regions", self.region_list, "regions"),
                      self._dock("Detection", self.detection, "detection")]

        self.player = Player(output, self)
        self.jobs = AnalysisJobs(self.settings, analysis_block_seconds, self)
        self.autosaver = Autosaver(self.settings, self, self)
        self.files = Files(self.settings, self.jobs, self.autosaver, self.detection.params,
                           self.timeline.view_range, self, self)
        self.exports = Exporter(self.settings, self, self)
        self.navigation = Navigator(self.timeline, self.player, self)
        self.editing = Editor(self, self)
        self.adaptation = Adaptation(self.settings, parent=self)
        self.lane_dialog: NewLaneDialog | None = None
        self.status = StatusWidgets(self.statusBar(), self.jobs)
        self._actions()
        self._menus()
        self._connect()

        self.setAcceptDrops(True)
        self.resize(1400, 860)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._update_title()
        self._update_actions()

    @property
    def doc(self) -> Document | None:
        return self.files.doc

    def open_path(self, path: Path) -> bool:
        return self.files.open_path(Path(path))

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

    def _slots(self) -> dict:
        f, nav, ed = self.files, self.navigation, self.editing
        return {
            "open": f.open_dialog, "save": f.save_session, "save_as": lambda: f.save_session(ask=True),
            "export": self.exports.dialog, "import_markers": ed.import_dialog, "settings": self.settings_dialog,
            "quit": self.close,
            "add": ed.add_from_selection, "relabel": ed.relabel_dialog, "delete": ed.delete_selected,
            "clear_selection": ed.clear_selection,
            "zoom_in": lambda: self.timeline.zoom(0.5), "zoom_out": lambda: self.timeline.zoom(2.0),
            "fit": self.timeline.fit_all, "lane_up": lambda: nav.step_lane(-1), "lane_down": lambda: nav.step_lane(1),
            "next": nav.next_region, "prev": lambda: nav.next_region(backwards=True),
            "play": nav.toggle_play, "play_region": nav.play_selected, "start": nav.to_start, "end": nav.to_end,
            "rerun": self.jobs.start_analysis, "cancel": self.cancel_work, "shortcuts": self.show_shortcuts,
            "adapt": self.adaptation.adapt, "undo_adapt": self.adaptation.undo, "shipped_model": self.back_to_shipped,
            "new_lane": self.new_lane_dialog, "remove_lane": self.remove_lane, "check_next": nav.next_span_to_check,
        }

    def _action(self, text: str, slot, keys: list[QKeySequence], tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setShortcuts(keys)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _actions(self) -> None:
        slots = self._slots()
        self.undo_action = self.undo_group.createUndoAction(self, SPECS["undo"].text)
        self.redo_action = self.undo_group.createRedoAction(self, SPECS["redo"].text)
        for spec in ACTIONS:
            if spec.name in ("undo", "redo"):
                getattr(self, f"{spec.name}_action").setShortcuts(spec.key_sequences())
                self.addAction(getattr(self, f"{spec.name}_action"))
            else:
                setattr(self, f"{spec.name}_action",
                        self._action(spec.text, slots[spec.name], spec.key_sequences(), spec.tip))
        self.find_actions: list[QAction] = []

    def _menus(self) -> None:
        bar = self.menuBar()
        for title, items in MENUS:
            menu = bar.addMenu(title)
            for item in items:
                if item is None:
                    menu.addSeparator()
                elif item == "@recent":
                    self.recent_menu = menu.addMenu("Open &Recent")
                    self.recent_menu.aboutToShow.connect(self._fill_recent)
                elif item == "@find":
                    self.find_menu = menu
                elif item == "@panels":  # a closed dock comes back from here
                    menu.addActions([dock.toggleViewAction() for dock in self.docks])
                else:
                    menu.addAction(getattr(self, f"{item}_action"))
        self._fill_find_menu(())

    def _connect(self) -> None:
        f, jobs = self.files, self.jobs
        for source in (f, jobs, self.autosaver, self.exports, self.navigation, self.editing, self.adaptation):
            source.message.connect(self.show_message)
        for source in (f, jobs, self.exports, self.editing, self.adaptation):
            source.error.connect(self.report_error)
        jobs.notice.connect(self.notify)
        self.autosaver.notice.connect(self.notify)
        for controller in (self.exports, self.navigation, self.editing, self.adaptation):
            f.documentChanged.connect(controller.set_document)
        f.documentChanged.connect(self._document_changed)
        f.opened.connect(self.documentOpened)
        f.paramsLoaded.connect(self.detection.set_params)
        f.cacheLoaded.connect(self.adaptation.use_saved)
        jobs.analysed.connect(self.adaptation.use_analysis)
        f.extra_cache = self.adaptation.cache_arrays
        f.viewRequested.connect(self.timeline.set_view)
        self.autosaver.paramsRestored.connect(self._params_restored)
        self.autosaver.autosaved.connect(self.autosaved)
        jobs.finished.connect(self.analysisFinished)
        jobs.cancelled.connect(self.analysisCancelled)
        jobs.failed.connect(self.analysisFailed)
        jobs.summaryFinished.connect(self.summaryFinished)
        jobs.started.connect(self._update_actions)
        jobs.ended.connect(self._analysis_ended)
        self.status.follow(self.adaptation)
        self.adaptation.started.connect(self._update_actions)
        self.adaptation.ended.connect(self._update_actions)
        self.adaptation.changed.connect(self._adaptation_changed)
        self.adaptation.finished.connect(self.adaptationFinished)
        self.exports.finished.connect(self.exportFinished)
        self.exports.failed.connect(self.exportFailed)
        self.detection.paramsChanged.connect(self.set_region_params)
        self.start_screen.openRequested.connect(self.files.open_dialog)
        self.start_screen.recentRequested.connect(lambda path: self.open_path(Path(path)))
        self.region_list.selected.connect(self.navigation.jump_to)
        self.region_list.activated.connect(self.navigation.play_region)
        self.timeline.contextMenuRequested.connect(self._context_menu)
        self.player.playingChanged.connect(lambda playing: self.play_action.setText("Pause" if playing else "Play"))
        self.player.error.connect(self.notify)  # no popup each time space is pressed without a sound card

    def _fill_find_menu(self, labels: tuple[str, ...]) -> None:
        """Per instrument: 'Next clarinet' (Ctrl+1...) and 'Previous clarinet' (Ctrl+Shift+1...)."""
        for action in self.find_actions:
            self.removeAction(action)
            self.find_menu.removeAction(action)
        self.find_actions = []
        nav = self.navigation
        for i, label in enumerate(labels):
            keys = ([f"Ctrl+{i + 1}"], [f"Ctrl+Shift+{i + 1}"]) if i < 9 else ([], [])
            nxt = self._action(f"Next {label}", lambda lb=label: nav.next_region(lb), [QKeySequence(k) for k in keys[0]])
            prv = self._action(f"Previous {label}", lambda lb=label: nav.next_region(lb, backwards=True),
                               [QKeySequence(k) for k in keys[1]])
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

    # --- document reactions ---------------------------------------------------------------------

    def _document_changed(self, doc: Document | None) -> None:
        if self.lane_dialog is not None:  # its examples belong to the take that went
            self.lane_dialog.close()
            self.lane_dialog = None
        for stack in self.undo_group.stacks():
            self.undo_group.removeStack(stack)
        self.status.show_progress(False)
        self.central.setCurrentWidget(self.timeline if doc is not None else self.start_screen)
        self.start_screen.set_recent(self.settings.recent_files)
        if doc is not None:
            self.colours = self.settings.colours(doc.labels)
            self.undo_group.addStack(doc.undo)
            self.undo_group.setActiveStack(doc.undo)
            doc.undo.cleanChanged.connect(self._update_title)
            doc.modelChanged.connect(self._model_changed)
            doc.regionsChanged.connect(self._regions_changed)
            doc.selectionChanged.connect(self._selection_changed)
            doc.playheadChanged.connect(self.status.set_position)
            self.timeline.set_document(doc, self.colours)
            self._model_changed()
        self._update_title()
        self._update_actions()

    def _model_changed(self) -> None:
        doc = self.doc
        self.colours = self.settings.colours(doc.labels)
        self.timeline.lanes.colours = self.colours  # new lanes get theirs; the lanes rebuild on this signal too
        self.region_list.set_labels(doc.labels)
        self._fill_find_menu(doc.labels)

    def _regions_changed(self) -> None:
        self.region_list.set_regions(self.doc.regions, self.colours, self.doc.by_hand)
        self.region_list.show_region(self.doc.selected_region)
        self._update_actions()

    def _selection_changed(self) -> None:
        self.region_list.show_region(self.doc.selected_region)
        self._update_actions()

    def _analysis_ended(self) -> None:
        self.timeline.lanes.flush()
        self._update_actions()

    def _update_actions(self) -> None:
        doc = self.doc
        has_doc = doc is not None
        region = doc.selected_region if doc else None
        for action in (self.export_action, self.import_markers_action, self.play_action, self.next_action, self.prev_action, self.fit_action,
                       self.zoom_in_action, self.zoom_out_action, self.rerun_action, self.save_action,
                       self.save_as_action):
            action.setEnabled(has_doc)
        for action in (self.delete_action, self.relabel_action):
            action.setEnabled(region is not None)
        self.play_region_action.setEnabled(region is not None or bool(doc and doc.time_selection))
        self.add_action.setEnabled(bool(doc and doc.time_selection))
        self.cancel_action.setEnabled(self.jobs.state == "running" or self.adaptation.running)
        self.adapt_action.setEnabled(has_doc and self.jobs.state != "running" and not self.adaptation.running)
        self.new_lane_action.setEnabled(self.adapt_action.isEnabled())
        self.check_next_action.setEnabled(self.adapt_action.isEnabled())
        self.remove_lane_action.setEnabled(has_doc and not self.adaptation.running
                                           and doc.selected_label in self.adaptation.removable(doc))
        self.undo_adapt_action.setEnabled(bool(self.adaptation.history) and not self.adaptation.running)
        # Off for a shipped model (the default, or "accurate" chosen in Settings): there is nothing to go back from.
        self.shipped_model_action.setEnabled(shipped_choice(self.settings.model_path) is None
                                             and not self.adaptation.running)

    def _adaptation_changed(self) -> None:
        if self.doc is not None:
            self.status.model_label.setText(f"model: {self.doc.activity.model}")
        self._update_actions()

    def cancel_work(self) -> None:
        """Ctrl+. stops whatever runs: the analysis or an adaptation."""
        self.jobs.cancel()
        self.adaptation.cancel()

    def new_lane_dialog(self) -> NewLaneDialog | None:
        """Analysis > New Lane from Examples: a dialog beside the timeline; Teach starts the adaptation."""
        if self.doc is None:
            return None
        if self.lane_dialog is not None:
            self.lane_dialog.close()
        self.lane_dialog = NewLaneDialog(self.doc, self.doc.activity.labels, self, window=self.adaptation.window())
        self.lane_dialog.teach.connect(self.adaptation.new_lane)
        self.lane_dialog.show()
        return self.lane_dialog

    def remove_lane(self) -> None:
        if self.doc is not None and self.doc.selected_label:
            self.adaptation.remove_lane(self.doc.selected_label)

    def back_to_shipped(self) -> None:
        if not self.adaptation.back_to_shipped():
            self.jobs.start_analysis()

    def _update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle("studio-tagger")
            return
        dirty = "" if self.doc.undo.isClean() else " *"
        self.setWindowTitle(f"{self.doc.path.name}{dirty} — studio-tagger")

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addActions([self.play_region_action, self.relabel_action, self.delete_action, self.add_action])
        menu.popup(pos)

    # --- detection and settings -----------------------------------------------------------------

    def set_region_params(self, params: RegionParams) -> None:
        """New thresholds or smoothing: regions are redrawn from the activity at once (no model run)."""
        self.settings.params = params
        if self.doc is not None:
            self.doc.set_params(params)

    def _params_restored(self, params: RegionParams) -> None:
        self.detection.set_params(params)
        self.set_region_params(params)

    def settings_dialog(self) -> None:
        labels = self.doc.labels if self.doc else ()
        params = self.detection.params()
        values = SettingsValues(self.settings.model_path, self.settings.device, self.settings.hop,
                                dict(params.per_label), self.settings.colours(labels))
        dialog = SettingsDialog(values, labels, params, self)
        if dialog.exec():
            self.apply_settings(dialog.values())

    def apply_settings(self, values: SettingsValues) -> None:
        s = self.settings
        rerun = (values.model, values.device, values.hop) != (s.model_path, s.device, s.hop)
        if rerun:
            # Another model, device or hop: a running adaptation of the old one would replace the choice.
            self.adaptation.cancel()
        if values.device != s.device:
            start_cuda(values.device)  # here, where the user waits on the dialog, not in the analysis thread
        s.model_path, s.device, s.hop = values.model, values.device, values.hop
        s.set_colours(values.colours)
        params = replace(self.detection.params(), per_label=dict(values.per_label))
        self.detection.set_params(params)  # the panel lists the lanes with their own thresholds
        self.set_region_params(params)
        if self.doc is not None:
            self.colours = s.colours(self.doc.labels)
            self.timeline.set_colours(self.colours)
            self._regions_changed()
            if rerun:
                self.jobs.start_analysis()

    def show_shortcuts(self) -> None:
        if getattr(self, "shortcuts_dialog", None) is None:
            self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()

    # --- messages -------------------------------------------------------------------------------

    def show_message(self, text: str, ms: int = 0) -> None:
        self.statusBar().showMessage(text, ms)

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

    # --- closing, drag and drop -----------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.files.confirm_discard():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback and every job, and wait (briefly) for the pool threads to let go."""
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.player.stop()
        self.autosaver.stop()
        slots = (*self.jobs.slots, self.exports.slot, self.timeline.waveform.excerpts)
        for slot in slots:
            slot.cancel()
        for slot in slots:
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
