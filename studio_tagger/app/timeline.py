"""All views on one time axis: overview, waveform (with the ruler), spectrogram and instrument lanes.

The detail plots share one x range (``setXLink``); the overview shows the whole recording with a
draggable box for the visible range. One playhead line per plot follows the document's playhead.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Signal
from PySide6.QtGui import QColor

from ..analysis.regions import Region
from .document import Document
from .lanes import LanesLayer
from .theme import ACCENT, BACKGROUND, CHECKED, GRID, PANEL, PLAYHEAD, WAVEFORM
from .timefmt import TimeAxis
from .viewbox import TimeViewBox
from .waveform import WaveformLayer

LEFT_AXIS = 160  # px; the same for every plot so the time axes line up
LANE_HEIGHT = 34
MIN_SPAN = 0.005  # s: a few hundred samples across the view


class Timeline(pg.GraphicsLayoutWidget):
    contextMenuRequested = Signal(QPoint)
    viewChanged = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.layout.setSpacing(2)
        self.ci.setContentsMargins(4, 4, 8, 4)
        self.doc: Document | None = None
        self.colours: dict[str, str] = {}
        self._syncing = False

        self.overview = self.addPlot(row=0, col=0)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.hideButtons()
        self.overview.setMenuEnabled(False)
        self.overview_curve = pg.PlotCurveItem(pen=pg.mkPen(QColor(WAVEFORM).darker(130)), connect="pairs")
        self.overview.addItem(self.overview_curve)
        self.overview.hideAxis("bottom")
        self.range_box = pg.LinearRegionItem(brush=pg.mkBrush(79, 163, 255, 45), pen=pg.mkPen(ACCENT, width=1.5))
        self.range_box.setZValue(10)
        self.range_box.sigRegionChanged.connect(self._overview_moved)
        self.overview.addItem(self.range_box)
        self.checked_items: list[pg.LinearRegionItem] = []  # spans checked, shaded on the overview

        self.wave = self._detail_plot(1, "Waveform", axis_items={"top": TimeAxis("top")})
        self.wave.showAxis("top")
        self.spec = self._detail_plot(2, "Spectrogram")
        self.lanes_plot = self._detail_plot(3, "", axis_items={"bottom": TimeAxis("bottom")})
        self.lanes_plot.showAxis("bottom")
        for plot in (self.spec, self.lanes_plot):
            plot.setXLink(self.wave)
        self.wave.setClipToView(True)
        self.wave.setDownsampling(auto=True, mode="peak")
        self.lanes_plot.setClipToView(True)
        self.lanes_plot.setDownsampling(auto=True, mode="peak")

        self.waveform = WaveformLayer(self.wave)
        self.spec_image = pg.ImageItem(autoDownsample=True)
        self.spec_image.setColorMap(pg.colormap.get("inferno"))
        self.spec.addItem(self.spec_image)
        self.lanes = LanesLayer(self.lanes_plot)
        self.lanes_plot.getViewBox().edge_finder = self._edge_at
        self.lanes_plot.getViewBox().sigEdgeDragged.connect(self._edge_dragged)

        self.playheads = []
        for plot, movable in ((self.overview, False), (self.wave, True), (self.spec, False), (self.lanes_plot, False)):
            line = pg.InfiniteLine(0, angle=90, movable=movable, pen=pg.mkPen(PLAYHEAD, width=1.5),
                                   hoverPen=pg.mkPen("#ffffff", width=2))
            line.setZValue(30)
            plot.addItem(line, ignoreBounds=True)
            self.playheads.append(line)
        self.playheads[1].sigPositionChanged.connect(self._playhead_dragged)

        self.selections = []
        for plot in (self.wave, self.spec, self.lanes_plot):
            sel = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 255, 255, 30), pen=pg.mkPen("#9aa4b2"))
            sel.setZValue(8)
            sel.hide()
            plot.addItem(sel, ignoreBounds=True)
            self.selections.append(sel)

        self.ci.layout.setRowStretchFactor(0, 2)
        self.ci.layout.setRowStretchFactor(1, 5)
        self.ci.layout.setRowStretchFactor(2, 4)
        self.ci.layout.setRowStretchFactor(3, 10)
        self.overview.setMaximumHeight(60)
        self.wave.getViewBox().sigXRangeChanged.connect(self._view_moved)

    def _detail_plot(self, row: int, title: str, axis_items: dict | None = None) -> pg.PlotItem:
        vb = TimeViewBox()
        plot = self.addPlot(row=row, col=0, viewBox=vb, axisItems=axis_items or {})
        plot.hideButtons()
        plot.hideAxis("bottom")
        plot.getAxis("left").setWidth(LEFT_AXIS)
        plot.getAxis("left").enableAutoSIPrefix(False)  # no "(x0.001)" in the titles of unitless axes
        if title:
            plot.setLabel("left", title)
        for name in ("left", "bottom", "top"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(GRID))
            axis.setTextPen(pg.mkPen("#aab1bc"))
        vb.setBackgroundColor(PANEL)
        vb.sigClicked.connect(lambda x, y, p=plot: self._clicked(p, x, y))
        vb.sigSelecting.connect(lambda a, b, y, finished, p=plot: self._selecting(p, a, b, y))
        vb.sigContextMenu.connect(lambda x, y, pos, p=plot: self._context(p, x, y, pos))
        return plot

    # --- document -------------------------------------------------------------------------------

    def set_document(self, doc: Document, colours: dict[str, str]) -> None:
        self.doc = doc
        self.colours = colours
        duration = max(doc.duration, MIN_SPAN)
        self.overview.getAxis("left").setWidth(LEFT_AXIS)
        self.overview.getAxis("left").setTicks([[(0.0, doc.path.name)]])
        self.overview.setXRange(0, duration, padding=0)
        self.overview.setYRange(-1, 1, padding=0)
        self.range_box.setBounds((0, duration))
        for plot in (self.wave, self.spec, self.lanes_plot):
            plot.getViewBox().setLimits(xMin=0, xMax=duration, minXRange=min(MIN_SPAN, duration),
                                        maxXRange=duration)
        spec = doc.spectrogram
        self.spec.getViewBox().setLimits(yMin=0, yMax=spec.bands)
        self.spec.setYRange(0, spec.bands, padding=0)
        ticks = [(spec.band_position(f), label) for f, label in ((100, "100 Hz"), (1000, "1 kHz"), (10000, "10 kHz"))
                 if f < doc.info.sample_rate / 2]
        self.spec.getAxis("left").setTicks([ticks, []])
        self.waveform.attach(doc)
        self.lanes.attach(doc, colours)
        doc.summaryChanged.connect(self._summary_changed)
        doc.playheadChanged.connect(self._playhead_changed)
        doc.selectionChanged.connect(self._selection_changed)
        doc.checkedChanged.connect(self._checked_changed)
        self.set_view(0.0, duration)
        self._checked_changed()
        self._summary_changed()
        self._playhead_changed(doc.playhead)
        self._selection_changed()

    def set_colours(self, colours: dict[str, str]) -> None:
        self.colours = colours
        self.lanes.set_colours(colours)

    def _checked_changed(self) -> None:
        """Shade the spans the editor checked on the overview, so what is left to check shows at a glance."""
        for item in self.checked_items:
            self.overview.removeItem(item)
        self.checked_items = []
        for span in self.doc.checked if self.doc else []:
            item = pg.LinearRegionItem(span, movable=False, brush=pg.mkBrush(CHECKED), pen=pg.mkPen(None))
            item.setZValue(5)
            self.overview.addItem(item, ignoreBounds=True)
            self.checked_items.append(item)

    def _summary_changed(self) -> None:
        doc = self.doc
        x, y = self.waveform.overview()
        self.overview_curve.setData(x, y, connect="pairs")
        spec = doc.spectrogram
        if spec.filled:
            self.spec_image.setImage(spec.image.T, levels=spec.levels(), autoLevels=False)
            self.spec_image.setRect(QRectF(0, 0, spec.columns * spec.column_seconds, spec.bands))

    # --- view range -----------------------------------------------------------------------------

    def view_range(self) -> tuple[float, float]:
        x0, x1 = self.wave.getViewBox().viewRange()[0]
        return float(x0), float(x1)

    def set_view(self, t0: float, t1: float) -> None:
        self.wave.setXRange(t0, t1, padding=0)

    def fit_all(self) -> None:
        if self.doc is not None:
            self.set_view(0.0, self.doc.duration)

    def zoom(self, factor: float) -> None:
        """Zoom around the playhead when it is in view, else around the centre."""
        x0, x1 = self.view_range()
        centre = self.doc.playhead if self.doc and x0 <= self.doc.playhead <= x1 else (x0 + x1) / 2
        self.wave.getViewBox().zoom(factor, centre)

    def ensure_visible(self, t0: float, t1: float | None = None) -> None:
        """Scroll (keeping the zoom) so that [t0, t1] is in view, with a margin; zoom out if it is wider."""
        t1 = t0 if t1 is None else t1
        x0, x1 = self.view_range()
        span = x1 - x0
        if t1 - t0 > span * 0.9:
            pad = (t1 - t0) * 0.05
            self.set_view(t0 - pad, t1 + pad)
        elif t0 < x0 or t1 > x1:
            start = t0 - span * 0.1
            self.set_view(start, start + span)

    def follow(self, t: float) -> None:
        """During playback: page forward once the playhead nears the right edge."""
        x0, x1 = self.view_range()
        if not x0 <= t <= x0 + (x1 - x0) * 0.95:
            span = x1 - x0
            self.set_view(t - span * 0.05, t + span * 0.95)

    def _view_moved(self) -> None:
        x0, x1 = self.view_range()
        if not self._syncing:
            self._syncing = True
            self.range_box.setRegion((x0, x1))
            self._syncing = False
        self.viewChanged.emit(x0, x1)

    def _overview_moved(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        a, b = self.range_box.getRegion()
        if b - a > 0:
            self.set_view(a, b)
        self._syncing = False

    # --- playhead, clicks, selection ------------------------------------------------------------

    def _playhead_changed(self, t: float) -> None:
        for line in self.playheads:
            line.blockSignals(True)
            line.setValue(t)
            line.blockSignals(False)

    def _playhead_dragged(self) -> None:
        if self.doc is not None:
            self.doc.set_playhead(self.playheads[1].value())

    def _clicked(self, plot: pg.PlotItem, x: float, y: float) -> None:
        doc = self.doc
        if doc is None:
            return
        doc.set_time_selection(None)
        if plot is self.lanes_plot:
            label = self.lanes.lane_at(y)
            if label is not None:
                doc.select_label(label)
                doc.select_region(doc.region_at(label, x))
        doc.set_playhead(x)

    def _edge_at(self, x: float, y: float, tolerance: float) -> tuple[Region, str] | None:
        """The region edge nearest to ``x`` within ``tolerance`` in the lane at ``y``: (region, 'start'|'end')."""
        label = self.lanes.lane_at(y) if self.doc is not None else None
        if label is None:
            return None
        edges = [(abs(t - x), r, which) for r in self.doc.regions_of(label)
                 for which, t in (("start", r.start), ("end", r.end)) if abs(t - x) <= tolerance]
        return min(edges, key=lambda e: e[0])[1:] if edges else None

    def _edge_dragged(self, edge: tuple[Region, str], x: float, finished: bool) -> None:
        """An edge dragged without selecting its region first: it is selected, and its handle follows."""
        region, which = edge
        self.doc.select_region(region)
        span = (x, region.end) if which == "start" else (region.start, x)
        self.lanes.move_handle(span, finished)

    def _context(self, plot: pg.PlotItem, x: float, y: float, pos) -> None:
        if self.doc is not None and plot is self.lanes_plot:
            label = self.lanes.lane_at(y)
            region = self.doc.region_at(label, x) if label else None
            if region is not None:
                self.doc.select_region(region)
            elif label is not None:
                self.doc.select_label(label)
        self.contextMenuRequested.emit(QPoint(int(pos.x()), int(pos.y())))

    def _selecting(self, plot: pg.PlotItem, a: float, b: float, y: float) -> None:
        """A span dragged in a lane belongs to that lane (where the drag started, wherever it ends); one
        dragged over the waveform or spectrogram belongs to no lane until the user says."""
        if self.doc is None:
            return
        label = self.lanes.lane_at(y) if plot is self.lanes_plot else None
        if label is not None:
            self.doc.select_label(label)
        self.doc.set_time_selection((a, b) if abs(b - a) > 0 else None, label)

    def _selection_changed(self) -> None:
        span = self.doc.time_selection if self.doc else None
        for sel in self.selections:
            if span is None:
                sel.hide()
            else:
                sel.setRegion(span)
                sel.show()
