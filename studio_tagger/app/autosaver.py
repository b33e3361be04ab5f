"""Autosave of the open document's edits a moment after each change, and the offer to restore them."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ..atomic import AtomicWriteError
from ..autosave import Autosave, autosaved_elsewhere, describe, read_autosave, remove_autosave, write_autosave
from .analysis_jobs import single_shot
from .document import Document
from .settings import AppSettings

AUTOSAVE_AFTER_MS = 1500  # edits are autosaved this long after the last one


class Autosaver(QObject):
    autosaved = Signal(str)  # path of the autosave file
    paramsRestored = Signal(object)  # RegionParams the restored edits were made with
    message = Signal(str, int)
    notice = Signal(str)

    def __init__(self, settings: AppSettings, dialog_parent: QWidget | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.dialog_parent = dialog_parent
        self.doc: Document | None = None
        self.source_hash = ""
        self.session_path: Path | None = None
        self._timer = single_shot(self, AUTOSAVE_AFTER_MS, self.autosave)
        self._failing = False  # told once that autosaving fails, not at every edit

    def set_document(self, doc: Document | None, source_hash: str = "", session_path: Path | None = None) -> None:
        self._timer.stop()
        self.doc, self.source_hash, self.session_path = doc, source_hash, session_path
        if doc is not None:
            # The undo stack moves its index only after the command ran, so whether the edits are back at
            # the saved state is decided when the timer fires.
            doc.editsChanged.connect(self._soon)

    def _soon(self) -> None:
        """Autosave AUTOSAVE_AFTER_MS after the first edit not yet saved: restarting the timer at every
        edit would put it off for as long as an editor keeps working quickly, and a crash then lost it all."""
        if not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        """No more autosaves from this window (it is closing): a timer left running would write or remove
        the file after the window had gone, under another window of this process with the same recording
        open (they share this process's file)."""
        self._timer.stop()

    def drop(self) -> None:
        """Forget the autosave (saved as a session, or the user discarded the edits)."""
        self._timer.stop()
        if self.doc is not None:
            remove_autosave(self.settings.autosave_dir, self.doc.path)

    def autosave(self) -> None:
        """Write the edits to the autosave file; at the saved state (undone back to it) remove it."""
        doc = self.doc
        if doc is None:
            return
        if doc.undo.isClean():
            self.drop()
            return
        saved = Autosave(doc.path, self.source_hash, list(doc.edits), doc.params, self.session_path, time.time())
        try:
            path = write_autosave(self.settings.autosave_dir, saved)
        except (AtomicWriteError, OSError) as exc:
            if not self._failing:
                self.notice.emit(f"autosave to {self.settings.autosave_dir} failed ({exc}); edits are not kept "
                                 "against a crash until it works again: save the session")
            self._failing = True
            return
        self._failing = False
        self.autosaved.emit(str(path))

    def offer_restore(self) -> None:
        """Offer edits autosaved for this recording (a crash, a killed process) when they are newer
        than the session being opened; declined, they are deleted. A recording changed since (trimmed,
        re-exported under the same name) still gets them offered, with that said: kept quietly aside, they
        were lost to the editor, who may well want them back on the new version."""
        doc = self.doc
        if autosaved_elsewhere(self.settings.autosave_dir, doc.path):
            # Its edits are that window's own work in progress, not a crash's leftover: not offered here,
            # and this window's edits are autosaved apart from them.
            self.message.emit(f"{doc.path.name} is also open, with unsaved edits, in another studio-tagger "
                              "window; edits made here are kept apart from those", 10000)
        saved = read_autosave(self.settings.autosave_dir, doc.path)
        if saved is None or saved.edits == doc.edits:
            return
        if self.session_path is not None and self.session_path.stat().st_mtime >= saved.saved_at:
            return  # saved as a session since (perhaps by another window): the autosave is older
        if not self.ask_restore(saved):
            self.drop()
            return
        self.paramsRestored.emit(saved.params)
        doc.restore_edits(saved.edits)
        self.message.emit(f"Restored {describe(saved.edits)}; save the session to keep them", 8000)

    def ask_restore(self, saved: Autosave) -> bool:
        """Ask whether to restore autosaved edits. Tests replace this method."""
        when = datetime.fromtimestamp(saved.saved_at).strftime("%Y-%m-%d %H:%M")
        changed = (" The recording has changed since then: check that the regions still fall where they should."
                   if saved.source_hash != self.source_hash else "")
        answer = QMessageBox.question(
            self.dialog_parent, "Restore unsaved edits?",
            f"{describe(saved.edits)} to {saved.recording.name} were not saved (autosaved {when}, "
            f"perhaps before a crash).{changed} Restore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
