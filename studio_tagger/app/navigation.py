"""Moving through the document: region to region, lane to lane, and playback from the playhead."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..adapt.doubt import SpanToCheck, spans_to_check
from ..analysis.regions import Region
from .document import Document
from .playback import Player
from .timefmt import clock
from .timeline import Timeline


class Navigator(QObject):
    message = Signal(str, int)

    def __init__(self, timeline: Timeline, player: Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.player = player
        self.doc: Document | None = None
        self.asked: tuple[float, float] | None = None  # the span to check shown last, not yet counted checked
        player.positionChanged.connect(self._play_position)

    def set_document(self, doc: Document | None) -> None:
        self.player.stop()
        self.doc = doc
        self.asked = None

    # --- regions and lanes ----------------------------------------------------------------------

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
            self.message.emit(f"No {'earlier' if backwards else 'later'} {label} region", 3000)
            return None
        self.jump_to(region)
        return region

    def jump_to(self, region: Region | None) -> None:
        doc = self.doc
        if doc is None or region is None:
            return
        doc.select_region(region)
        doc.set_playhead(region.start)
        self.timeline.ensure_visible(region.start, region.end)
        self.message.emit(f"{region.label}: {clock(region.start)} – {clock(region.end)}", 4000)

    def next_span_to_check(self) -> SpanToCheck | None:
        """Analysis > Next Span to Check: the span shown before counts as checked (the editor has heard it
        and fixed what was wrong), and the next place where the lanes are least sure is selected, in the
        lane it asks about, for the editor to play and correct. Adapting then learns from the spans checked."""
        doc = self.doc
        if doc is None:
            return None
        model = doc.activity
        if not model.is_complete or len(model.times) == 0:
            self.message.emit("Spans to check come from a finished analysis", 4000)
            return None
        if self.asked is not None:
            doc.check_span(*self.asked)
            self.asked = None
        spans = spans_to_check(model.times, model.activity, model.labels, doc.params, duration=doc.duration,
                               checked=doc.checked)
        heard = sum(b - a for a, b in doc.checked)
        if not spans:
            self.message.emit(f"No doubtful span left: outside the {len(doc.checked)} spans checked every lane is "
                              "clearly on or off", 6000)
            return None
        span = spans[0]
        self.asked = (span.start, span.end)
        doc.select_region(None)
        doc.set_time_selection((span.start, span.end), span.label)
        doc.select_label(span.label)
        doc.set_playhead(span.start)
        self.timeline.ensure_visible(span.start, span.end)
        on = doc.params.thresholds(span.label)[0]
        self.message.emit(
            f"Check {clock(span.start)} – {clock(span.end)}: {span.label} {span.activity:.2f} against its threshold "
            f"{on:.2f}. Play it (Shift+Space), fix what is wrong, then C for the next "
            f"({len(doc.checked)} checked, {heard:.0f} s)", 0)
        return span

    def step_lane(self, step: int) -> None:
        doc = self.doc
        if doc is None or not doc.labels:
            return
        i = doc.labels.index(doc.selected_label) if doc.selected_label in doc.labels else -step
        doc.select_label(doc.labels[(i + step) % len(doc.labels)])

    def to_start(self) -> None:
        if self.doc is not None:
            self.doc.set_playhead(0.0)

    def to_end(self) -> None:
        if self.doc is not None:
            self.doc.set_playhead(self.doc.duration)

    # --- playback -------------------------------------------------------------------------------

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
            # A point marker (a region of no length) plays on from where it stands.
            self.player.play(doc.path, span[0], span[1] if span[1] > span[0] else None)

    def play_region(self, region: Region) -> None:
        """Go to ``region`` and play it to its end."""
        self.jump_to(region)
        self.play_selected()

    def _play_position(self, t: float) -> None:
        if self.doc is not None:
            self.doc.set_playhead(t)
            self.timeline.follow(t)
