"""The time ruler of the app's views."""

from __future__ import annotations

import pyqtgraph as pg

from ..timefmt import clock

__all__ = ["TimeAxis", "clock"]


class TimeAxis(pg.AxisItem):
    """A time ruler: tick labels in h:mm:ss with as many decimals as the tick spacing needs."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        decimals = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2 if spacing >= 0.01 else 3
        return [clock(v, decimals) if v >= 0 else "" for v in values]
