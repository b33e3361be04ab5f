"""The time-axis ViewBox shared by the detail views: editors' mouse habits on one time axis.

Left drag pans, shift+left drag selects a time span, a click places the playhead, the wheel scrolls
in time and ctrl+wheel zooms around the pointer. Vertical zoom and pan are off. Where ``edge_finder``
is set (the lanes), a left drag that starts on a region's edge moves that edge instead of panning.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

EDGE_PX = 6  # a drag starting this close to a region's edge grabs the edge


class TimeViewBox(pg.ViewBox):
    sigClicked = Signal(float, float)  # x (s), y (view units)
    sigSelecting = Signal(float, float, float, bool)  # from, to (s), y where the drag started, finished
    sigContextMenu = Signal(float, float, object)  # x, y, screen position
    sigEdgeDragged = Signal(object, float, bool)  # what edge_finder found, x (s), finished

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)
        # (x, y, tolerance in s) -> an edge under the pointer, or None
        self.edge_finder: Callable[[float, float, float], object | None] | None = None
        self._edge: object | None = None

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        p = self.mapSceneToView(ev.scenePos())
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigClicked.emit(p.x(), p.y())
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.sigContextMenu.emit(p.x(), p.y(), ev.screenPos())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            down = self.mapSceneToView(ev.buttonDownScenePos())
            b = self.mapSceneToView(ev.scenePos()).x()
            self.sigSelecting.emit(down.x(), b, down.y(), ev.isFinish())
        elif ev.button() == Qt.MouseButton.LeftButton and self._drag_edge(ev):
            ev.accept()
        else:
            super().mouseDragEvent(ev, axis)

    def hoverEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        """Over a region's edge the pointer says it can be dragged."""
        if self.edge_finder is None:
            return
        near = None
        if not ev.isExit():
            p = self.mapSceneToView(ev.scenePos())
            near = self.edge_finder(p.x(), p.y(), EDGE_PX * self.viewPixelSize()[0])
        if near is None:
            self.unsetCursor()
        else:
            self.setCursor(Qt.CursorShape.SizeHorCursor)

    def _drag_edge(self, ev) -> bool:
        """Move a region's edge when the drag started on one; False: not an edge drag (pan instead)."""
        if ev.isStart():
            down = self.mapSceneToView(ev.buttonDownScenePos())
            tolerance = EDGE_PX * self.viewPixelSize()[0]
            self._edge = self.edge_finder(down.x(), down.y(), tolerance) if self.edge_finder else None
        edge = self._edge
        if edge is None:
            return False
        if ev.isFinish():
            self._edge = None
        self.sigEdgeDragged.emit(edge, self.mapSceneToView(ev.scenePos()).x(), ev.isFinish())
        return True

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        steps = ev.delta() / 120.0
        x0, x1 = self.viewRange()[0]
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(0.8**steps, self.mapSceneToView(ev.scenePos()).x())
        else:
            self.translateBy(x=-steps * 0.1 * (x1 - x0))
        ev.accept()

    def zoom(self, factor: float, centre: float) -> None:
        """Scale the visible time span by ``factor`` (< 1 zooms in), keeping ``centre`` in place."""
        x0, x1 = self.viewRange()[0]
        self.setXRange(centre - (centre - x0) * factor, centre + (x1 - centre) * factor, padding=0)
