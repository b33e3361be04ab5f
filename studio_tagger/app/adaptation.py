"""Analysis > Adapt to My Corrections, New Lane from Examples and Remove Lane: the editor teaches the model.

Adapting runs on the pool, like the analysis, from the window embeddings the analysis kept (or that the
saved session holds; failing both, it analyses the recording once more keeping them). It refits the
model's head on the document's regions (every lane is taken as checked: the regions the editor left alone
count as right, the edited ones as corrected; a label the model does not know becomes a new lane), or,
for a new lane, on the marked examples only; writes the adapted model beside the app's data; and
recomputes the lanes from the embeddings. Removing a lane added that way needs no fitting: the model loses
that output and the lane goes at once. Undo and the way back to the shipped model reuse the embeddings,
so they show at once. The adapted model becomes the one in Settings, so a re-run, a saved session (which
names its model) and the next recording use it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal
from shiboken6 import isValid

from .. import adapt, analysis, models
from ..adapt import AdaptError, Embedded, Review
from ..adapt.embedded import embeddings_key, from_cache, to_cache
from ..adapt.lanes import check_new_lane, lane_in_use
from ..adapt.reviews import checked_spans
from ..analysis import AnalysisResult, Cancelled
from ..analysis.regions import lane_name
from ..audio.reader import AudioError
from ..models import ModelError
from ..shipped import adapted_from, read_card, shipped_choice
from .activity import ActivityModel
from .document import Document
from .settings import AppSettings
from .workers import JobSlot

if TYPE_CHECKING:
    from ..adapt import Adapted
    from ..models import LoadedModel


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
        self._shipped_labels: frozenset[str] | None = None

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

    def use_analysis(self, result: AnalysisResult) -> None:
        """An analysis of the open recording that kept its window embeddings (the app's analyses do, when
        the model has them): adapting, a new lane and the way back to the shipped model start from them."""
        doc = self.doc
        embeddings = result.extra.get("embeddings")
        key = result.extra.get("embeddings_key")
        if doc is None or embeddings is None or key is None or Path(result.file) != doc.path:
            return
        self._embedded = ((str(doc.path), key), Embedded(Review(doc.path, []), result.duration, result.hop,
                                                          result.window, embeddings))

    def adapt(self) -> None:
        """Start adapting the current model to the open document's regions."""
        doc = self.doc
        if doc is not None and not doc.edits:
            self.error.emit("no corrections to adapt to: fix some regions first (add, delete, relabel, move)")
            return

        def adapted(model: LoadedModel, item: Embedded, progress, should_cancel) -> Adapted:
            return adapt.adapt_model(model, [item], progress=progress, should_cancel=should_cancel,
                                     name=f"{doc.path.stem}-adapted")

        self._start(adapted, "Adapting the model to your corrections…")

    def new_lane(self, name: str, examples: list[tuple[float, float]]) -> None:
        """Start teaching a new lane, ``name``, from the example spans of the open recording; it fills in
        over the whole take like the others. Bad requests (no name, a name in use, an example shorter
        than a window) come back as an error, before any work."""
        doc = self.doc
        name = lane_name(name)
        if doc is not None:
            try:
                check_new_lane(name, doc.activity.labels, examples, self.window())
            except AdaptError as exc:
                self.error.emit(str(exc))
                return
            # A lane of the editor's own regions ("Oboe", imported from markers) taught as "oboe" is that
            # lane, spelt as it is: two lanes of one sound would each get half the regions.
            name = lane_in_use(name, doc.extra_labels) or name

        def adapted(model: LoadedModel, item: Embedded, progress, should_cancel) -> Adapted:
            return adapt.lane_from_examples(model, [item], name, [list(examples)], progress=progress,
                                            should_cancel=should_cancel, name=f"{doc.path.stem}-{_slug(name)}")

        self._start(adapted, f"Teaching the new lane {name!r}…")

    def window(self) -> float | None:
        """The analysis window of the model in use, in seconds (an example must span one); None when its
        card cannot be read (adapting then says why)."""
        if self._embedded is not None:
            return self._embedded[1].window
        try:
            return float(read_card(self.settings.model_path or None).get("window_seconds", 2.0))
        except (OSError, ValueError, TypeError, AttributeError, ModelError):
            return None

    def remove_lane(self, label: str) -> bool:
        """Drop a lane that was added from examples: a model without that output (undo brings it back) and
        the lanes as they were otherwise. False, with an error, for a lane that came with the base model."""
        doc = self.doc
        if doc is None or self.running:
            return False
        if label not in self.removable(doc):
            self.error.emit(f"{label!r} came with the model; only lanes added from examples can be removed")
            return False
        try:
            model = models.load_model(self.settings.model_path or None)
            adapted = adapt.remove_lanes(model, [label])
            path = _free_path(self.out_dir, adapted.model.name)
            adapt.save_adapted(adapted, path)
        except (AdaptError, ModelError, OSError) as exc:
            self.error.emit(f"removing the lane failed: {exc}")
            return False
        self.history.append(_State(self.settings.model_path, doc.activity))
        self.settings.model_path = str(path)
        keep = [j for j, x in enumerate(doc.activity.labels) if x != label]
        times, activity = doc.activity.known()
        self._show(adapted.model, times, activity[:, keep], doc.activity.hop)
        self.message.emit(f"Lane {label!r} removed (Undo Adaptation brings it back)", 8000)
        return True

    def removable(self, doc: Document | None = None) -> tuple[str, ...]:
        """The lanes of the current model that adapting added (not the shipped eight)."""
        doc = doc or self.doc
        if doc is None or not self.settings.model_path:
            return ()
        if self._shipped_labels is None:  # read once (the card only): this runs whenever the selection changes
            try:
                card = read_card(None)
                self._shipped_labels = frozenset(str(x) for x in card["labels"])
            except (OSError, ValueError, KeyError, TypeError):
                self._shipped_labels = frozenset(models.load_model(None).labels)
        return tuple(x for x in doc.activity.labels if x not in self._shipped_labels)

    def _start(self, make: Callable[..., Adapted], text: str) -> None:
        """Run ``make(model, item, progress, should_cancel)`` on the pool on the open recording's embeddings
        (from the last analysis, the saved session, or one analysis now), save the model it gives and
        show its lanes."""
        doc = self.doc
        if doc is None or not doc.activity.is_complete or len(doc.activity.times) == 0:
            self.error.emit("adapting needs a finished analysis of the recording")
            return
        # With spans checked through Next Span to Check, those and the edited regions are what the editor
        # heard; without, the whole take counts as checked, every region left as shown taken as right.
        reviewed = checked_spans(doc.checked, doc.edits) if doc.checked else None
        review = Review(doc.path, list(doc.regions), reviewed, str(doc.path), shown=list(doc.detected))
        settings = self.settings
        # Read here, not on the worker thread: the model adapted is the one in use when the editor asked.
        model_path, device, hop = settings.model_path, settings.device, settings.hop
        cached = self._embedded
        saved = self._saved
        before = _State(model_path, doc.activity)
        out_dir = self.out_dir

        def job(emit, progress, should_cancel):
            started = time.perf_counter()
            try:
                analyzer = analysis.Analyzer(model_path or None, device=device, hop=hop,
                                             overlap_decoding=False, embeddings=True)
            except ValueError as exc:  # a model without frame embeddings (the AST reproduction)
                raise AdaptError(f"{exc}; choose an ActivityCNN model in Settings to adapt") from exc
            key = (str(doc.path), embeddings_key(analyzer.model, analyzer.hop))
            width = adapt.needed_width(analyzer.model)
            if cached is not None and cached[0] == key and cached[1].embeddings.shape[1] >= width:
                item = Embedded(review, cached[1].duration, cached[1].hop, cached[1].window, cached[1].embeddings)
            elif (restored := from_cache(review, saved, key[1], width)) is not None:
                item = restored
            else:
                item, _ = adapt.embed_review(analyzer, review, lambda f: progress(0.9 * f), should_cancel)
            adapted = make(analyzer.model, item, lambda f: progress(0.9 + 0.1 * f), should_cancel)
            path = _free_path(out_dir, adapted.model.name)
            adapt.save_adapted(adapted, path)
            emit((key, item))
            times, activity = adapt.activity_from_embeddings(adapted.model, item)
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
        self.message.emit(text, 0)

    def cancel(self) -> None:
        if self.slot.running:
            self.slot.cancel()
            self.ended.emit()
            self.message.emit("Adapting cancelled", 5000)

    def undo(self) -> None:
        """Back to the model and lanes before the last adaptation (or return to the shipped model). An
        adaptation still running is cancelled first: finishing later, it would put its model back."""
        self.cancel()
        if not self.history or self.doc is None:
            return
        state = self.history.pop()
        self.settings.model_path = state.model_path
        self.doc.set_activity_model(state.activity)
        self.message.emit("Adaptation undone", 5000)
        self.changed.emit()

    def back_to_shipped(self) -> bool:
        """The shipped model again (the one adapting started from: the default, or "accurate" when the
        editor had chosen it): its lanes from the kept embeddings at once (True), else False and the
        caller re-runs the analysis."""
        doc = self.doc
        self.cancel()  # as for undo: a running adaptation would otherwise replace the shipped model again
        if doc is None or shipped_choice(self.settings.model_path) is not None:
            return True
        before = _State(self.settings.model_path, doc.activity)
        target = adapted_from(self.settings.model_path)
        shipped = models.load_model(target or None)
        self.settings.model_path = target
        self.history.append(before)
        if self._embedded is not None and self._embedded[0] == (str(doc.path), embeddings_key(shipped, self.settings.hop)):
            times, activity = adapt.activity_from_embeddings(shipped, self._embedded[1])
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


def _slug(name: str) -> str:
    """A lane name as part of a file name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "lane"
