"""The open recording and everything known about it, shared by all views (the app's single model).

Data lives in Qt-free pieces (``ActivityModel``, ``PeakPyramid``, ``SpectrogramBuilder``, the edit
overlay of :mod:`studio_tagger.session`); this QObject owns them and tells views what changed.
Views subscribe to the signals and never change each other directly.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..analysis.regions import Region, RegionParams, lane_name, on_lanes
from ..audio.peaks import PeakPyramid
from ..audio.reader import AudioInfo
from ..labels import LABELS
from ..session import Edit, apply_edits
from .activity import ActivityModel
from .spectrogram import SpectrogramBuilder

UNLABELLED = "unlabelled"
"""The lane of imported markers that have no name (Audacity leaves new labels empty)."""


class EditCommand(QUndoCommand):
    """Region edits as one step on the undo stack; edits are a stack too, so undo removes the last ones."""

    def __init__(self, document: Document, edits: list[Edit], text: str) -> None:
        super().__init__(text)
        self.document = document
        self.edits = edits

    def redo(self) -> None:
        self.document._push_edits(self.edits)

    def undo(self) -> None:
        self.document._pop_edits(self.edits)


class RestoreEditsCommand(QUndoCommand):
    """Replaces all edits at once (restoring an autosave); undo brings back the edits before it."""

    def __init__(self, document: Document, edits: list[Edit]) -> None:
        super().__init__("Restore autosaved edits")
        self.document = document
        self.before, self.after = list(document.edits), list(edits)

    def redo(self) -> None:
        self.document._set_edits(self.after)

    def undo(self) -> None:
        self.document._set_edits(self.before)


class CheckSpanCommand(QUndoCommand):
    """A span the editor checked (Analysis > Next Span to Check) as a step on the undo stack, so undo takes
    it back and the document counts as changed until saved."""

    def __init__(self, document: Document, span: tuple[float, float]) -> None:
        super().__init__("Check span")
        self.document = document
        self.span = span

    def redo(self) -> None:
        self.document._set_checked([*self.document.checked, self.span])

    def undo(self) -> None:
        self.document._set_checked([s for s in self.document.checked if s != self.span])


class Document(QObject):
    activityChanged = Signal(float, float)  # time range whose activity changed
    modelChanged = Signal()  # a new ActivityModel (labels may differ): lanes rebuild
    regionsChanged = Signal()
    summaryChanged = Signal()  # waveform peaks or spectrogram grew
    playheadChanged = Signal(float)
    selectionChanged = Signal()  # selected region, lane or time selection
    editsChanged = Signal()  # the user's edits changed (an edit, undo, redo or restore)
    checkedChanged = Signal()  # a span was checked, or the check undone

    def __init__(self, info: AudioInfo, params: RegionParams | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.params = params or RegionParams()
        self.activity = ActivityModel(LABELS, 0.5, info.duration)
        self.edits: list[Edit] = []
        self.detected: list[Region] = []
        self.regions: list[Region] = []
        self.peaks = PeakPyramid(info.sample_rate, info.frames)
        self.spectrogram = SpectrogramBuilder(info.sample_rate, info.frames)
        self.playhead = 0.0
        self.selected_label: str | None = self.activity.labels[0]
        self.selected_region: Region | None = None
        self.time_selection: tuple[float, float] | None = None
        self.selection_label: str | None = None  # the lane the time selection was made in; None: not in a lane
        self.by_hand: set[Region] = set()  # regions the user drew (or moved after drawing), not detected
        self.extra_labels: tuple[str, ...] = ()  # lanes of the user's regions that the model does not know
        self.checked: list[tuple[float, float]] = []  # spans checked through "Next Span to Check"
        self.undo = QUndoStack(self)

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def duration(self) -> float:
        return self.info.duration

    @property
    def labels(self) -> tuple[str, ...]:
        """Every lane: the model's, then one per label of imported or edited regions it does not know."""
        return self.activity.labels + self.extra_labels

    # --- analysis data -------------------------------------------------------------------------

    def set_activity_model(self, model: ActivityModel) -> None:
        self.activity = model
        if self.selected_label not in model.labels:
            self.selected_label = model.labels[0] if model.labels else None
        self.modelChanged.emit()
        self.recompute_regions()

    def append_activity(self, times, activity) -> None:
        t0, t1 = self.activity.append(times, activity)
        self.activityChanged.emit(t0, t1)

    def set_params(self, params: RegionParams) -> None:
        self.params = params
        self.recompute_regions()

    def recompute_regions(self) -> None:
        """Detected regions from the activity as it stands, then the user's edits on top."""
        self.detected = self.activity.detect(self.params)
        self._apply()

    def _apply(self) -> None:
        self.regions = apply_edits(self.detected, self.edits)
        extra = tuple(sorted({r.label for r in self.regions} - set(self.activity.labels)))
        if extra != self.extra_labels:
            self.extra_labels = extra
            self.modelChanged.emit()
        self.by_hand = set()
        for e in self.edits:
            if e.kind == "add" or (e.kind == "replace" and e.old in self.by_hand):
                self.by_hand.discard(e.old)
                self.by_hand.add(e.new)
        if self.selected_region is not None and self.selected_region not in self.regions:
            self.selected_region = None
            self.selectionChanged.emit()
        self.regionsChanged.emit()

    # --- edits (through the undo stack) --------------------------------------------------------

    def edit(self, edit: Edit, text: str) -> None:
        self.undo.push(EditCommand(self, [edit], text))

    def _push_edits(self, edits: list[Edit]) -> None:
        self.edits.extend(edits)
        self._apply()
        self.editsChanged.emit()
        if edits and edits[-1].new is not None:
            self.select_region(edits[-1].new)

    def _pop_edits(self, edits: list[Edit]) -> None:
        if self.edits[len(self.edits) - len(edits):] == edits:
            del self.edits[len(self.edits) - len(edits):]
        self._apply()
        self.editsChanged.emit()
        if len(edits) == 1 and edits[0].old is not None and edits[0].old in self.regions:
            self.select_region(edits[0].old)

    def restore_edits(self, edits: list[Edit]) -> None:
        self.undo.push(RestoreEditsCommand(self, edits))

    def _set_edits(self, edits: list[Edit]) -> None:
        self.edits = list(edits)
        self._apply()
        self.editsChanged.emit()

    def add_region(self, label: str, start: float, end: float) -> Region:
        start, end = sorted((max(0.0, start), min(self.duration, end)))
        region = Region(label, round(start, 6), round(end, 6), 1.0)
        self.edit(Edit("add", new=region), f"Add {label} region")
        return region

    def add_regions(self, regions: list[Region], text: str) -> list[Region]:
        """Many regions as one undo step (imported markers); those outside the recording are dropped. A
        marker's "Trumpet" or "trumpet " lands in the trumpet lane, not in a second one; a marker with no
        name in the `UNLABELLED` lane. A point marker (no length: an Audacity point label, a REAPER marker)
        is kept as a region of no length, drawn as a line and exported as a marker again."""
        kept = []
        named = [r if lane_name(r.label) else replace(r, label=UNLABELLED) for r in regions]
        for r in on_lanes(named, self.labels):
            start, end = max(0.0, r.start), min(self.duration, r.end)
            if end > start or (r.start == r.end and 0.0 <= r.start <= self.duration):
                kept.append(Region(r.label, round(start, 6), round(end, 6), r.score))
        if kept:
            self.undo.push(EditCommand(self, [Edit("add", new=r) for r in kept], text))
        return kept

    def delete_region(self, region: Region) -> None:
        self.edit(Edit("delete", old=region), f"Delete {region.label} region")

    def change_region(self, region: Region, *, label: str | None = None, start: float | None = None,
                      end: float | None = None) -> Region:
        s = region.start if start is None else max(0.0, start)
        e = region.end if end is None else min(self.duration, end)
        s, e = sorted((s, e))
        new = Region(label or region.label, round(s, 6), round(e, 6), region.score)
        if new != region:
            what = "Relabel" if new.label != region.label else "Move"
            self.edit(Edit("replace", old=region, new=new), f"{what} {region.label} region")
        return new

    def check_span(self, start: float, end: float) -> None:
        """Count ``start``..``end`` as checked by the editor (once; undoable)."""
        span = (round(max(0.0, start), 6), round(min(self.duration, end), 6))
        if span[1] > span[0] and span not in self.checked:
            self.undo.push(CheckSpanCommand(self, span))

    def _set_checked(self, spans: list[tuple[float, float]]) -> None:
        self.checked = spans
        self.checkedChanged.emit()

    # --- playhead, selection, navigation -------------------------------------------------------

    def set_playhead(self, t: float) -> None:
        t = min(max(0.0, float(t)), self.duration)
        if t != self.playhead:
            self.playhead = t
            self.playheadChanged.emit(t)

    def select_label(self, label: str | None) -> None:
        if label != self.selected_label:
            self.selected_label = label
            self.selectionChanged.emit()

    def select_region(self, region: Region | None) -> None:
        changed = region != self.selected_region or (region is not None and region.label != self.selected_label)
        self.selected_region = region
        if region is not None:
            self.selected_label = region.label
        if changed:
            self.selectionChanged.emit()

    def set_time_selection(self, span: tuple[float, float] | None, label: str | None = None) -> None:
        """``label``: the lane the span was selected in (None when it was not selected in a lane)."""
        if span is not None:
            a, b = sorted(span)
            span = (max(0.0, a), min(self.duration, b))
        self.time_selection = span
        self.selection_label = label if span is not None else None
        self.selectionChanged.emit()

    def regions_of(self, label: str) -> list[Region]:
        return [r for r in self.regions if r.label == label]

    def next_region(self, label: str, after: float) -> Region | None:
        """The first region of ``label`` starting after ``after`` (a hair's breadth, so repeats advance)."""
        regions = self.regions_of(label)
        i = bisect.bisect_right([r.start for r in regions], after + 1e-6)
        return regions[i] if i < len(regions) else None

    def previous_region(self, label: str, before: float) -> Region | None:
        regions = self.regions_of(label)
        i = bisect.bisect_left([r.start for r in regions], before - 1e-6)
        return regions[i - 1] if i > 0 else None

    def region_at(self, label: str, t: float) -> Region | None:
        hits = [r for r in self.regions_of(label) if r.start <= t <= r.end]
        return min(hits, key=lambda r: r.duration) if hits else None
