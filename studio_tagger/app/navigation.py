"""Moving through the document: region to region, lane to lane, and playback from the playhead."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

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
        player.positionChanged.connect(self._play_position)

    def set_document(self, doc: Document | None) -> None:
        self.player.stop()
        self.doc = doc

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
