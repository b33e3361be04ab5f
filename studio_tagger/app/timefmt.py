"""Times as editors read them: h:mm:ss.mmm."""

from __future__ import annotations

import pyqtgraph as pg


def clock(seconds: float, decimals: int = 3) -> str:
    """``3723.5`` -> ``1:02:03.500``; ``decimals`` (0-3) digits after the second."""
    scale = 10**decimals
    units = int(round(max(0.0, seconds) * scale))
    whole, frac = divmod(units, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h}:{m:02d}:{s:02d}"
    return f"{text}.{frac:0{decimals}d}" if decimals else text


class TimeAxis(pg.AxisItem):
    """A time ruler: tick labels in h:mm:ss with as many decimals as the tick spacing needs."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        decimals = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2 if spacing >= 0.01 else 3
        return [clock(v, decimals) if v >= 0 else "" for v in values]
