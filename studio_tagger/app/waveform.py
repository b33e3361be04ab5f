"""The waveform: drawn from the peak pyramid at the level the zoom needs; raw samples only up close.

At wide zoom each visible bucket becomes one vertical min-max stroke (a 'pairs' curve), at most two
points per pixel. When a pixel covers fewer samples than the finest bucket, the visible stretch
(with a margin either side for panning) is read from the file on a worker and drawn as a line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject

from ..audio.peaks import PeakPyramid
from ..audio.reader import read_mono
from .document import Document
from .theme import WAVEFORM
from .workers import JobSlot


@dataclass(frozen=True)
class Excerpt:
    start: float  # seconds
    rate: int
    samples: np.ndarray

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / self.rate


def envelope(peaks: PeakPyramid, t0: float, t1: float, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y of one vertical min-max stroke per pixel column (for ``connect='pairs'``).

    The level chosen has between one and four buckets per pixel; they are folded into exactly one
    stroke per pixel, so there are no gaps between strokes and no more lines than the screen shows.
    """
    s = peaks.select(t0, t1, 4 * pixels)
    n = len(s.mins)
    if n > pixels:
        edges = np.linspace(0, n, pixels + 1).astype(np.int64)[:-1]
        edges = np.unique(edges)
        mins, maxs = np.minimum.reduceat(s.mins, edges), np.maximum.reduceat(s.maxs, edges)
        x = np.repeat(s.starts[edges] + s.bucket_seconds / 2, 2)
    else:
        mins, maxs = s.mins, s.maxs
        x = np.repeat(s.starts + s.bucket_seconds / 2, 2)
    y = np.empty(2 * len(mins), np.float32)
    y[0::2], y[1::2] = mins, maxs
    return x, y


class WaveformLayer(QObject):
    # A QObject so that worker signals connected to its methods are delivered on the GUI thread.
    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.vb = plot.getViewBox()
        pen = pg.mkPen(WAVEFORM, width=1)
        self.envelope = pg.PlotCurveItem(pen=pen, connect="pairs")
        plot.addItem(self.envelope)
        self.raw = plot.plot(pen=pen)  # a PlotDataItem: clipped to view, peak-downsampled
        self.doc: Document | None = None
        self.excerpt: Excerpt | None = None
        self._shown: Excerpt | None = None  # the excerpt the raw curve holds
        self.excerpts = JobSlot()
        self.excerpts_read = 0  # for tests and benchmarks: how often the file was read up close
        self._wanted: tuple[float, float] | None = None
        self.plot.setYRange(-1.0, 1.0, padding=0.02)
        self.vb.sigXRangeChanged.connect(self.refresh)

    def attach(self, doc: Document) -> None:
        self.excerpts.cancel()
        self.doc = doc
        self.excerpt = self._shown = None
        doc.summaryChanged.connect(self.refresh)
        self.refresh()

    def pixels(self) -> int:
        return max(200, int(self.vb.width()))

    def refresh(self) -> None:
        doc = self.doc
        if doc is None:
            return
        x0, x1 = self.vb.viewRange()[0]
        pixels = self.pixels()
        close = (x1 - x0) * doc.info.sample_rate / pixels < doc.peaks.base
        if close and self.excerpt is not None and self.excerpt.start <= max(0.0, x0) and (
                self.excerpt.end >= min(doc.duration, x1)):
            ex = self.excerpt
            self.envelope.hide()
            if self._shown is not ex:  # panning within the excerpt: the item clips to the view itself
                self.raw.setData(ex.start + np.arange(len(ex.samples)) / ex.rate, ex.samples)
                self._shown = ex
            self.raw.show()
            return
        if close:
            self._request(x0, x1)
        self.raw.hide()
        self.envelope.show()
        x, y = envelope(doc.peaks, x0, x1, pixels)
        self.envelope.setData(x, y, connect="pairs")

    def _request(self, x0: float, x1: float) -> None:
        doc = self.doc
        span = x1 - x0
        a, b = max(0.0, x0 - span), min(doc.duration, x1 + span)
        if self._wanted == (a, b) and self.excerpts.running:
            return
        self._wanted = (a, b)
        path, rate = doc.path, doc.info.sample_rate
        self.excerpts.start(lambda emit, progress, cancelled: Excerpt(a, rate, read_mono(path, None, a, b)),
                            finished=self._on_excerpt)

    def _on_excerpt(self, generation: int, excerpt: Excerpt) -> None:
        if not self.excerpts.is_current(generation):
            return
        self.excerpt = excerpt
        self.excerpts_read += 1
        self.refresh()

    def overview(self, pixels: int = 1600) -> tuple[np.ndarray, np.ndarray]:
        doc = self.doc
        return envelope(doc.peaks, 0.0, doc.duration, pixels) if doc else (np.zeros(0), np.zeros(0))
