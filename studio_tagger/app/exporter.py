"""Exporting the open document's regions in the background (a WAV export copies the whole recording)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ..atomic import AtomicWriteError
from ..interchange import ActivityTable, ExportCancelled, InterchangeError, export_regions
from .document import Document
from .export_dialog import ExportDialog, ExportRequest
from .settings import AppSettings
from .workers import JobSlot


class Exporter(QObject):
    finished = Signal(str)  # path written
    failed = Signal(str)
    message = Signal(str, int)
    error = Signal(str)

    def __init__(self, settings: AppSettings, dialog_parent: QWidget | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.dialog_parent = dialog_parent
        self.doc: Document | None = None
        self.slot = JobSlot(cancel_errors=(ExportCancelled,), user_errors=(InterchangeError, AtomicWriteError))

    def set_document(self, doc: Document | None) -> None:
        self.doc = doc

    def dialog(self) -> None:
        doc = self.doc
        if doc is None:
            return
        dialog = ExportDialog(doc.path, doc.labels, self.dialog_parent, has_activity=doc.activity.filled > 0,
                              regions=doc.regions, folder=self.settings.export_dir)
        if dialog.exec():
            self.export(dialog.request())

    def export(self, request: ExportRequest) -> None:
        doc = self.doc
        regions = list(doc.regions)
        times, activity = doc.activity.known()
        table = ActivityTable(times.copy(), activity.copy(), doc.activity.labels) if len(times) else None
        source = doc.path

        def job(emit, progress, should_cancel) -> Path:
            return export_regions(request.fmt, regions, request.path, options=request.options,
                                  source_audio=source, activity=table, should_cancel=should_cancel)

        self.slot.start(job, finished=self._done, failed=self._failed)
        self.message.emit(f"Exporting {request.fmt} to {request.path}…", 0)

    def _done(self, generation: int, path: Path) -> None:
        if self.slot.is_current(generation):
            self.settings.export_dir = Path(path).parent  # the next export starts there
            self.message.emit(f"Exported {path}", 6000)
            self.finished.emit(str(path))

    def _failed(self, generation: int, message: str) -> None:
        if self.slot.is_current(generation):
            self.error.emit(f"export failed: {message}")
            self.failed.emit(message)
