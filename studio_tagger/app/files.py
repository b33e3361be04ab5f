"""Opening recordings and sessions, saving sessions: owns the open Document and its lifetime.

Other parts of the app follow ``documentChanged``; opening a file starts its background jobs
(:class:`~studio_tagger.app.analysis_jobs.AnalysisJobs`) and offers autosaved edits back
(:class:`~studio_tagger.app.autosaver.Autosaver`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..analysis.regions import RegionParams
from ..analysis.result import require_analysable
from ..atomic import AtomicWriteError
from ..audio.reader import AudioError, probe
from ..models.errors import ModelError
from ..session import SESSION_SUFFIX, Session, SessionError, content_hash, load_session, save_session
from ..shipped import model_files
from .analysis_jobs import AnalysisJobs
from .autosaver import Autosaver
from .document import Document
from .settings import AppSettings

# The second group is read through ffmpeg where it is installed (`audio.ffmpeg`): AAC or ALAC in .m4a, a
# video's soundtrack.
AUDIO_FILTER = ("Audio and sessions (*.wav *.flac *.ogg *.oga *.opus *.aif *.aiff *.w64 *.caf *.mp3 *.stsession "
                "*.m4a *.aac *.wma *.mp4 *.mov *.mkv *.webm);;Sessions (*.stsession);;All files (*)")


class Files(QObject):
    documentChanged = Signal(object)  # the new Document, or None
    opened = Signal()  # a recording or session is open and its jobs have started
    paramsLoaded = Signal(object)  # RegionParams saved with a session
    cacheLoaded = Signal(object)  # the cache arrays of a session whose recording is unchanged
    viewRequested = Signal(float, float)  # the visible range saved with a session
    message = Signal(str, int)
    error = Signal(str)

    def __init__(self, settings: AppSettings, jobs: AnalysisJobs, autosaver: Autosaver,
                 params: Callable[[], RegionParams], view_range: Callable[[], tuple[float, float]],
                 dialog_parent: QWidget | None = None, parent: QObject | None = None) -> None:
        """``params`` gives the detection parameters a new recording starts with; ``view_range`` the
        visible time range that a saved session keeps."""
        super().__init__(parent)
        self.settings = settings
        self.jobs = jobs
        self.autosaver = autosaver
        self._params = params
        self._view_range = view_range
        self.dialog_parent = dialog_parent
        self.doc: Document | None = None
        self.session_path: Path | None = None
        self.source_hash = ""
        # More arrays for a saved session's cache (the adaptation's embeddings), given the document.
        self.extra_cache: Callable[[Document], dict] | None = None

    # --- opening --------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        recent = self.settings.recent_files
        start = str(Path(recent[0]).parent) if recent else ""
        name, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open a recording or session", start, AUDIO_FILTER)
        if name:
            self.open_path(Path(name))

    def open_path(self, path: Path) -> bool:
        path = Path(os.path.abspath(path))  # a path as typed means nothing once the working directory changes
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
            self.error.emit(str(exc))
            return False
        except OSError as exc:
            self.error.emit(f"{path}: cannot read ({exc.strerror or exc})")
            return False
        self._install(Document(info, self._params()), source_hash, None)
        self.settings.add_recent(path)
        self.jobs.start_summary()
        self.jobs.start_analysis()
        self.opened.emit()
        self.autosaver.offer_restore()
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
            self.error.emit(str(exc))
            return False
        except OSError as exc:
            self.error.emit(f"{path}: cannot read its recording ({exc.strerror or exc})")
            return False
        session.source = source
        self._use_model_of(session, path)
        doc = Document(info, session.params)
        self.paramsLoaded.emit(session.params)
        self._install(doc, source_hash, Path(path))
        self.settings.add_recent(path)
        doc.edits = list(session.edits)  # the saved state is the starting point; undo starts empty
        doc.checked = list(session.checked)
        same = source_hash == session.source_hash and abs(session.duration - info.duration) < 1e-3
        if same:
            self.jobs.use_saved(session)
            self.cacheLoaded.emit(session.cache)
        else:
            self.error.emit(f"{source} changed since the session was saved; analysing it again "
                            "(your edits are kept)")
            self.jobs.start_analysis()
        if not (same and self.jobs.restore_summaries(session)):
            self.jobs.start_summary()
        view = session.view
        if "start" in view and "end" in view:
            self.viewRequested.emit(float(view["start"]), float(view["end"]))
        doc.set_playhead(float(view.get("playhead", 0.0)))
        if view.get("label") in doc.labels:
            doc.select_label(view["label"])
        self.message.emit(f"Opened session {path}", 5000)
        self.opened.emit()
        self.autosaver.offer_restore()
        return True

    def _use_model_of(self, session: Session, path: Path) -> None:
        """A session reopens with the model it was saved with (Settings follow, as choosing it there would):
        its lanes, a new lane taught from examples above all, were that model's, and adapting again, Remove
        Lane or Ctrl+R must start from it, not from whatever Settings held. A model file since deleted
        leaves Settings as they are, and the editor is told."""
        saved, current = session.model_path or "", self.settings.model_path or ""
        if saved == current:
            return
        try:
            found = model_files(saved or None)[0].is_file()
        except ModelError:
            found = False
        if found:
            self.settings.model_path = saved
            self.message.emit(f"Using the model the session was saved with: {session.model}", 8000)
        else:
            self.error.emit(f"{path}: its model {saved} is missing; the lanes are shown as saved, and a new "
                            f"analysis (Ctrl+R) uses the model in Settings ({current or 'the shipped default'})")

    def _find_source(self, session: Session, session_path: Path) -> Path | None:
        """The session's recording, told by its content hash: where the session says; else where it was
        relative to the session, or beside it (a folder moved or copied whole); else wherever the user
        points to. A recording that changed since the session was saved is offered for relocation too;
        declined, it is used as is."""
        if session.source.is_file():
            if session.matches_source():
                return session.source
            return self.locate_source(session.source, changed=True) or session.source
        for candidate in session.source_candidates(session_path)[1:]:
            if candidate.is_file() and content_hash(candidate) == session.source_hash:
                return candidate
        return self.locate_source(session.source)

    def locate_source(self, missing: Path, changed: bool = False) -> Path | None:
        """Ask where a session's recording went (or, when ``changed``, where its original is); None when
        the user cancels. Tests replace this method."""
        title = (f"{missing.name} changed since the session was saved: locate the original (Cancel uses it as it is)"
                 if changed else f"Where is {missing.name}?")
        start = missing.parent if missing.parent.is_dir() else Path.home()
        name, _ = QFileDialog.getOpenFileName(self.dialog_parent, title, str(start), AUDIO_FILTER)
        return Path(name) if name else None

    def _install(self, doc: Document, source_hash: str, session_path: Path | None) -> None:
        old = self.doc
        self.doc, self.source_hash, self.session_path = doc, source_hash, session_path
        doc.setParent(self)
        self.jobs.set_document(doc)
        self.autosaver.set_document(doc, source_hash, session_path)
        self.documentChanged.emit(doc)
        if old is not None:
            old.deleteLater()

    def close_document(self) -> None:
        self.jobs.set_document(None)
        self.autosaver.set_document(None)
        old, self.doc, self.session_path = self.doc, None, None
        self.documentChanged.emit(None)
        if old is not None:
            old.deleteLater()

    # --- saving ---------------------------------------------------------------------------------

    def confirm_discard(self) -> bool:
        """True when there are no unsaved edits, or the user saved or discarded them."""
        if self.doc is None or self.doc.undo.isClean():
            return True
        answer = QMessageBox.question(
            self.dialog_parent, "Unsaved edits", "Save the region edits as a session first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_session()
        if answer == QMessageBox.StandardButton.Discard:
            self.autosaver.drop()
            return True
        return False

    def save_session(self, ask: bool = False, path: Path | None = None) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if not doc.activity.is_complete:
            self.error.emit("The analysis has not finished; let it finish (Ctrl+R re-runs it) before saving")
            return False
        target = path or (None if ask else self.session_path)
        if target is None:
            name, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Save session",
                                                  str(doc.path.with_suffix(SESSION_SUFFIX)), "Sessions (*.stsession)")
            if not name:
                return False
            target = Path(name)
        try:
            save_session(self.session_of(doc), target)
        except (AtomicWriteError, OSError) as exc:
            self.error.emit(str(exc))
            return False
        self.session_path = self.autosaver.session_path = target
        doc.undo.setClean()
        self.autosaver.drop()
        self.settings.add_recent(target)
        self.message.emit(f"Saved session {target}", 5000)
        return True

    def session_of(self, doc: Document) -> Session:
        x0, x1 = self._view_range()
        cache = {}
        if doc.peaks.complete and doc.spectrogram.filled == doc.spectrogram.columns:
            cache = {**doc.peaks.to_arrays(), **doc.spectrogram.to_arrays()}
        if self.extra_cache is not None:
            cache.update(self.extra_cache(doc))
        model = doc.activity
        return Session(
            source=doc.path, source_hash=content_hash(doc.path), duration=doc.duration,
            sample_rate=doc.info.sample_rate, model=model.model, labels=model.labels, hop=model.hop,
            times=model.times, activity=model.activity, model_path=self.settings.model_path or None,
            device=self.settings.device, params=doc.params, edits=list(doc.edits), checked=list(doc.checked),
            view={"start": x0, "end": x1, "playhead": doc.playhead, "label": doc.selected_label}, cache=cache,
        )
