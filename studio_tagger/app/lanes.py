"""Instrument lanes: per instrument a heat strip and curve of its activity, and its regions as blocks.

Lane i (0 = top) spans y in [n-1-i, n-i). Regions are painted by one item that draws only the
blocks in view, so a 3-hour take with thousands of regions pans as fast as an empty one; the
selected region gets a draggable handle (a LinearRegionItem) for its edges.
"""

from __future__ import annotations

import bisect

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from ..analysis.regions import Region
from .document import Document

BLOCK_TOP = 0.34  # blocks fill the lower part of a lane, the curve the upper part
HEAT_ALPHA = 170
REDRAW_MS = 200


def lane_base(index: int, n: int) -> float:
    return float(n - 1 - index)


def curve_y(activity):
    """Height in a lane (0-1 from its base) of an activity value: the upper part, above the blocks."""
    return BLOCK_TOP + 0.04 + activity * (0.92 - BLOCK_TOP)


class RegionBlocks(pg.GraphicsObject):
    """All region blocks, painted from a sorted list; only those in the visible time range are drawn."""

    def __init__(self, viewbox: pg.ViewBox) -> None:
        super().__init__()
        self._vb = viewbox
        self._regions: list[Region] = []
        self._starts: list[float] = []
        self._longest = 0.0
        self._lanes: dict[str, int] = {}
        self._colours: dict[str, QColor] = {}
        self._selected: Region | None = None
        self._rect = QRectF()

    def set_data(self, regions: list[Region], labels: tuple[str, ...], colours: dict[str, str],
                 duration: float, selected: Region | None) -> None:
        self.prepareGeometryChange()
        self._regions = sorted(regions, key=lambda r: r.start)
        self._starts = [r.start for r in self._regions]
        self._longest = max((r.duration for r in self._regions), default=0.0)
        self._lanes = {label: i for i, label in enumerate(labels)}
        self._colours = {label: QColor(colours.get(label, "#aaaaaa")) for label in labels}
        self._selected = selected
        self._rect = QRectF(0, 0, max(duration, 1e-3), max(1, len(labels)))
        self.update()

    def set_selected(self, region: Region | None) -> None:
        self._selected = region
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return self._rect

    def visible(self) -> list[Region]:
        x0, x1 = self._vb.viewRange()[0]
        lo = bisect.bisect_left(self._starts, x0 - self._longest)
        hi = bisect.bisect_right(self._starts, x1)
        return [r for r in self._regions[lo:hi] if r.end >= x0]

    def paint(self, p: QPainter, *args) -> None:
        n = len(self._lanes)
        pen = QPen()
        pen.setCosmetic(True)
        for r in self.visible():
            lane = self._lanes.get(r.label)
            if lane is None:
                continue
            colour = QColor(self._colours[r.label])
            selected = r == self._selected
            colour.setAlpha(235 if selected else 170)
            pen.setColor(QColor("#ffffff") if selected else colour.lighter(140))
            pen.setWidthF(2.0 if selected else 1.0)
            p.setPen(pen)
            p.setBrush(QBrush(colour))
            base = lane_base(lane, n)
            p.drawRect(QRectF(r.start, base + 0.06, max(r.duration, 0.0), BLOCK_TOP - 0.06))


class LanesLayer:
    """Everything drawn in the lanes plot, kept in step with a Document."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.vb = plot.getViewBox()
        self.doc: Document | None = None
        self.colours: dict[str, str] = {}
        # downsampled to the screen before drawing: a 3-hour take is 21600 bins wide
        self.heat = pg.ImageItem(autoDownsample=True)
        self.heat.setZValue(-10)
        plot.addItem(self.heat)
        self.highlight = pg.QtWidgets.QGraphicsRectItem()
        self.highlight.setBrush(QBrush(QColor(255, 255, 255, 18)))
        self.highlight.setPen(QPen(Qt.PenStyle.NoPen))
        self.highlight.setZValue(-20)
        plot.addItem(self.highlight)
        self.blocks = RegionBlocks(self.vb)
        plot.addItem(self.blocks)
        self.curves: list[pg.PlotDataItem] = []
        self.own_marks: dict[str, pg.InfiniteLine] = {}  # a lane's own opening threshold, dashed
        self.handle: pg.LinearRegionItem | None = None
        self._handle_region: Region | None = None
        self._rgba = np.zeros((0, 0, 4), np.uint8)
        self._dirty_from = float("inf")
        self._curves_stale = True
        self._redraw = QTimer(self.vb)  # goes with the plot: a pending redraw never reaches a deleted one
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._redraw_now)
        self.vb.sigXRangeChanged.connect(self._level_of_detail)

    def attach(self, doc: Document, colours: dict[str, str]) -> None:
        self.doc = doc
        self.colours = colours
        doc.modelChanged.connect(self.rebuild)
        doc.activityChanged.connect(self._activity_later)
        doc.regionsChanged.connect(self.on_regions)
        doc.selectionChanged.connect(self.on_selection)
        self.rebuild()

    def set_colours(self, colours: dict[str, str]) -> None:
        self.colours = colours
        self.rebuild()

    def rebuild(self) -> None:
        doc = self.doc
        if doc is None:
            return
        labels = doc.labels
        n = len(labels)
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.curves = []
        for label in doc.activity.labels:  # the model's lanes come first; lanes of other labels have no curve
            curve = self.plot.plot(pen=pg.mkPen(self.colours.get(label, "#aaaaaa"), width=1.2))
            curve.setZValue(5)
            self.curves.append(curve)
        self.plot.getAxis("left").setTicks([[(lane_base(i, n) + 0.5, label) for i, label in enumerate(labels)]])
        self.vb.setYRange(0, n, padding=0)
        self.vb.setLimits(yMin=0, yMax=n)
        self._rgba = np.zeros((n, len(doc.activity.times), 4), np.uint8)
        for i, label in enumerate(labels):
            c = QColor(self.colours.get(label, "#aaaaaa"))
            self._rgba[n - 1 - i, :, :3] = (c.red(), c.green(), c.blue())
        self.heat.setImage(self._rgba, levels=(0, 255), autoLevels=False)
        self.heat.setRect(QRectF(0, 0, len(doc.activity.times) * doc.activity.hop, n))
        self._dirty_from = float("inf")
        self._level_of_detail()
        self.on_activity(0.0, doc.duration)
        self.on_regions()
        self.on_selection()

    def _activity_later(self, t0: float, t1: float) -> None:
        """Chunks can arrive many times a second; the lanes redraw at most every REDRAW_MS."""
        self._dirty_from = min(self._dirty_from, t0)
        if not self._redraw.isActive():
            self._redraw.start()

    def _level_of_detail(self) -> None:
        """Curves only where they can be read (at most one bin per pixel); wider, the heat strips say it all
        and a window of overdrawn curves would cost more to paint than everything else together."""
        if self.doc is None:
            return
        x0, x1 = self.vb.viewRange()[0]
        readable = (x1 - x0) / self.doc.activity.hop <= max(1.0, self.vb.width())
        for curve in self.curves:
            curve.setVisible(readable)
        if readable and self._curves_stale:
            self._update_curves()

    def flush(self) -> None:
        """Draw any activity still waiting for the redraw timer (the analysis ended or stopped)."""
        self._redraw.stop()
        self._redraw_now()

    def _redraw_now(self) -> None:
        t0, self._dirty_from = self._dirty_from, float("inf")
        if t0 != float("inf"):
            self.on_activity(t0, t0)

    def on_activity(self, t0: float, t1: float) -> None:
        doc = self.doc
        if doc is None or not len(self._rgba):
            return
        model = doc.activity
        first = max(0, int(t0 / model.hop))
        last = model.filled
        if last > first:
            # squared: a lane that is barely active stays dark, a confident one lights up
            alpha = np.clip(model.activity[first:last], 0, 1) ** 2 * HEAT_ALPHA
            self._rgba[::-1][: alpha.shape[1], first:last, 3] = alpha.T.astype(np.uint8)
            self.heat.updateImage(self._rgba)
        self._curves_stale = True
        if self.curves and self.curves[0].isVisible():
            self._update_curves()

    def _update_curves(self) -> None:
        """Curve data for the whole known activity; skipped while curves are hidden (wide views), where
        re-feeding eight curves of a growing 3-hour take cost the GUI thread more than anything else."""
        model = self.doc.activity
        n = len(model.labels)
        times, activity = model.known()
        for i, curve in enumerate(self.curves):
            base = lane_base(i, n)
            curve.setData(times, base + curve_y(activity[:, i]))
        self._curves_stale = False

    def on_regions(self) -> None:
        doc = self.doc
        if doc is None:
            return
        self.blocks.set_data(doc.regions, doc.labels, self.colours, doc.duration, doc.selected_region)
        self._mark_own_thresholds()
        self.on_selection()

    def _mark_own_thresholds(self) -> None:
        """A dashed line at the opening threshold of each lane that has its own, on the curve's scale."""
        doc = self.doc
        for line in self.own_marks.values():
            self.plot.removeItem(line)
        self.own_marks = {}
        n = len(doc.labels)
        for label, (on, _off) in doc.params.per_label.items():
            if label not in doc.labels:
                continue
            y = lane_base(doc.labels.index(label), n) + curve_y(on)
            line = pg.InfiniteLine(y, angle=0, pen=pg.mkPen(self.colours.get(label, "#aaaaaa"), width=1,
                                                                style=Qt.PenStyle.DashLine))
            line.setZValue(6)
            self.plot.addItem(line, ignoreBounds=True)
            self.own_marks[label] = line

    def on_selection(self) -> None:
        doc = self.doc
        if doc is None:
            return
        n = len(doc.labels)
        if doc.selected_label in doc.labels:
            base = lane_base(doc.labels.index(doc.selected_label), n)
            self.highlight.setRect(QRectF(0, base, max(doc.duration, 1e-3), 1))
            self.highlight.show()
        else:
            self.highlight.hide()
        self.blocks.set_selected(doc.selected_region)
        self._update_handle()

    def _update_handle(self) -> None:
        """A draggable handle on the selected region; releasing it moves the region's edges."""
        doc = self.doc
        region = doc.selected_region if doc is not None else None
        if region is None or region.label not in doc.labels:
            if self.handle is not None:
                self.plot.removeItem(self.handle)
                self.handle = None
            self._handle_region = None
            return
        n = len(doc.labels)
        base = lane_base(doc.labels.index(region.label), n)
        if self.handle is None:
            self.handle = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 25), hoverBrush=pg.mkBrush(255, 255, 255, 45),
                                              pen=pg.mkPen("#ffffff", width=2), bounds=(0, doc.duration))
            self.handle.setZValue(20)
            self.handle.sigRegionChangeFinished.connect(self._handle_moved)
            self.plot.addItem(self.handle)
        self._handle_region = region
        self.handle.blockSignals(True)
        self.handle.setRegion((region.start, region.end))
        self.handle.blockSignals(False)
        self.handle.setSpan(base / n, (base + 1) / n)

    def move_handle(self, span: tuple[float, float], finished: bool) -> None:
        """Move the selected region's handle as a drag of its edge would; ``finished`` applies it."""
        if self.handle is None:
            return
        self.handle.blockSignals(True)
        self.handle.setRegion(span)
        self.handle.blockSignals(False)
        if finished:
            self._handle_moved()

    def _handle_moved(self) -> None:
        if self.doc is None or self._handle_region is None or self.handle is None:
            return
        start, end = self.handle.getRegion()
        if end - start < 0.01:  # an edge dragged onto the other: keep the region as it was
            self._update_handle()
            return
        self.doc.change_region(self._handle_region, start=float(start), end=float(end))

    def lane_at(self, y: float) -> str | None:
        if self.doc is None:
            return None
        n = len(self.doc.labels)
        i = n - 1 - int(np.floor(y))
        return self.doc.labels[i] if 0 <= i < n else None
