"""Analysis > Adapt to My Corrections: the open take's edits teach the model, and the lanes follow.

The job (on the pool, like the analysis) analyses the recording once with the current model keeping
its window embeddings, refits the model's head on the document's regions (every lane is taken as
checked: the regions the editor left alone count as right, the edited ones as corrected; a label the
model does not know becomes a new lane), writes the adapted model beside the app's data, and recomputes
the lanes from the embeddings. Later adaptations, undo and the way back to the shipped model reuse the
embeddings, so they show at once. The adapted model becomes the one in Settings, so a re-run, a saved
session (which names its model) and the next recording use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal
from shiboken6 import isValid

from ..adapt import Adapted, AdaptError, Embedded, Review, activity_from_embeddings, adapt_model, save_adapted
from ..adapt.adapter import embed_review, embeddings_key, from_cache, to_cache
from ..analysis import Analyzer, Cancelled
from ..audio.reader import AudioError
from ..models import LoadedModel, ModelError, load_model
from .activity import ActivityModel
from .document import Document
from .settings import AppSettings
from .workers import JobSlot


def models_dir() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "models"


@dataclass
class AdaptationDone:
    adapted: Adapted
    path: Path
    item: Embedded
    times: np.ndarray
    activity: np.ndarray
    seconds: float


@dataclass
class _State:
    """What an undo returns to: the model setting and the lanes."""

    model_path: str
    activity: ActivityModel


class Adaptation(QObject):
    started = Signal()
    ended = Signal()
    progressChanged = Signal(int)
    finished = Signal(str)  # the summary shown in the status bar
    changed = Signal()  # the model or lanes changed through adapt, undo or back-to-shipped
    message = Signal(str, int)
    error = Signal(str)

    def __init__(self, settings: AppSettings, out_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.out_dir = out_dir or models_dir()
        self.doc: Document | None = None
        self.slot = JobSlot(cancel_errors=(Cancelled, InterruptedError), user_errors=(AdaptError, ModelError, AudioError))
        self.history: list[_State] = []
        self._embedded: tuple[tuple[str, str], Embedded] | None = None
        self._saved: dict = {}  # the open session's cache, which may hold its embeddings

    def set_document(self, doc: Document | None) -> None:
        self.cancel()
        self.doc = doc
        self.history.clear()
        self._saved = {}

    def use_saved(self, cache: dict) -> None:
        """The cache of the session just opened: its embeddings spare adapting an analysis."""
        self._saved = dict(cache)

    @property
    def running(self) -> bool:
        return self.slot.running

    def adapt(self) -> None:
        """Start adapting the current model to the open document's regions."""
        doc = self.doc
        if doc is None or not doc.activity.is_complete or len(doc.activity.times) == 0:
            self.error.emit("adapting needs a finished analysis of the recording")
            return
        if not doc.edits:
            self.error.emit("no corrections to adapt to: fix some regions first (add, delete, relabel, move)")
            return
        review = Review(doc.path, list(doc.regions), None, str(doc.path))
        settings = self.settings
        cached = self._embedded
        saved = self._saved
        before = _State(settings.model_path, doc.activity)
        out_dir = self.out_dir
        hop = settings.hop

        def job(emit, progress, should_cancel):
            started = time.perf_counter()
            analyzer = Analyzer(settings.model_path or None, device=settings.device, hop=hop, overlap_decoding=False,
                                embeddings=True)
            key = (str(doc.path), embeddings_key(analyzer.model, analyzer.hop))
            if cached is not None and cached[0] == key:
                item = Embedded(review, cached[1].duration, cached[1].hop, cached[1].window, cached[1].embeddings)
            elif (restored := from_cache(review, saved, key[1])) is not None:
                item = restored
            else:
                item, _ = embed_review(analyzer, review, lambda f: progress(0.9 * f), should_cancel)
            adapted = adapt_model(analyzer.model, [item], progress=lambda f: progress(0.9 + 0.1 * f),
                                  should_cancel=should_cancel, name=f"{doc.path.stem}-adapted")
            path = _free_path(out_dir, adapted.model.name)
            save_adapted(adapted, path)
            emit((key, item))
            times, activity = activity_from_embeddings(adapted.model, item)
            return AdaptationDone(adapted, path, item, times, activity, time.perf_counter() - started)

        def keep_embeddings(generation: int, cached_item) -> None:
            if self.slot.is_current(generation):
                self._embedded = cached_item

        def done(generation: int, result: AdaptationDone) -> None:
            # A window closed while the job ran has deleted its document (the Python wrapper outlives it).
            if not self.slot.is_current(generation) or self.doc is not doc or not isValid(doc):
                return
            self.history.append(before)
            self.settings.model_path = str(result.path)
            self._show(result.adapted.model, result.times, result.activity, result.item.hop)
            self.ended.emit()
            text = f"{result.adapted.summary} ({result.seconds:.1f} s)"
            if result.adapted.new_labels:
                text += f"; new lanes: {', '.join(result.adapted.new_labels)}"
            self.message.emit(text, 15000)
            self.finished.emit(text)

        def failed(generation: int, text: str) -> None:
            if self.slot.is_current(generation) and isValid(self):
                self.ended.emit()
                self.error.emit(f"adapting failed: {text}")

        def cancelled(generation: int) -> None:
            if self.slot.is_current(generation):
                self.ended.emit()

        def progressed(generation: int, fraction: float) -> None:
            if self.slot.is_current(generation):
                self.progressChanged.emit(int(fraction * 100))

        self.slot.start(job, item=keep_embeddings, progress=progressed, finished=done, failed=failed,
                        cancelled=cancelled)
        self.started.emit()
        self.message.emit("Adapting the model to your corrections…", 0)

    def cancel(self) -> None:
        if self.slot.running:
            self.slot.cancel()
            self.ended.emit()
            self.message.emit("Adapting cancelled", 5000)

    def undo(self) -> None:
        """Back to the model and lanes before the last adaptation (or return to the shipped model)."""
        if not self.history or self.doc is None:
            return
        state = self.history.pop()
        self.settings.model_path = state.model_path
        self.doc.set_activity_model(state.activity)
        self.message.emit("Adaptation undone", 5000)
        self.changed.emit()

    def back_to_shipped(self) -> bool:
        """The shipped model again: its lanes from the kept embeddings at once (True), else False and
        the caller re-runs the analysis."""
        doc = self.doc
        if doc is None or not self.settings.model_path:
            return True
        before = _State(self.settings.model_path, doc.activity)
        shipped = load_model(None)
        self.settings.model_path = ""
        self.history.append(before)
        if self._embedded is not None and self._embedded[0] == (str(doc.path), embeddings_key(shipped, self.settings.hop)):
            times, activity = activity_from_embeddings(shipped, self._embedded[1])
            self._show(shipped, times, activity, self._embedded[1].hop)
            self.message.emit(f"Back to the shipped model ({shipped.name})", 5000)
            return True
        self.changed.emit()
        return False

    def cache_arrays(self, doc: Document) -> dict[str, np.ndarray]:
        """The kept embeddings of ``doc``'s recording, for its saved session: adapting it later (here or
        with `studio-tagger adapt`) needs no new analysis."""
        if self._embedded is None or self._embedded[0][0] != str(doc.path):
            return {}
        return to_cache(self._embedded[1], self._embedded[0][1])

    def _show(self, model: LoadedModel, times: np.ndarray, activity: np.ndarray, hop: float) -> None:
        doc = self.doc
        doc.set_activity_model(ActivityModel.complete(model.labels, hop, doc.duration, times, activity, model.name))
        self.changed.emit()


def _free_path(folder: Path, name: str) -> Path:
    """``folder/name.safetensors``, numbered so an earlier adaptation (which undo may return to) stays."""
    n = 1
    while True:
        path = folder / f"{name}-{n}.safetensors"
        if not path.exists():
            return path
        n += 1
