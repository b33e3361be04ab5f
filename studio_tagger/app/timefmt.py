"""The time ruler of the app's views."""

from __future__ import annotations

import pyqtgraph as pg

from ..timefmt import clock

__all__ = ["STEPS", "TimeAxis", "clock", "ruler_steps"]

# Tick spacings as editors use them: 1-2-5 below a second, then the steps of a clock face, so ticks land
# on 0:15, 0:30, 1:00, never on 0:50 or 8:20 as pyqtgraph's decimal steps would.
STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0,
         60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 86400.0)
LABEL_PX = 90  # room for one "0:00:00.000" label between two major ticks
MINOR_PX = 12


def ruler_steps(span: float, pixels: float) -> tuple[float, float | None]:
    """(major, minor) tick spacing for ``span`` seconds over ``pixels``: the smallest step whose labels
    fit, and the finest step dividing it that still leaves room between ticks (None: no minor ticks)."""
    per_px = max(span, 1e-9) / max(pixels, 1.0)
    major = next((s for s in STEPS if s / per_px >= LABEL_PX), STEPS[-1])
    minor = next((s for s in STEPS if s < major and s / per_px >= MINOR_PX
                  and abs(major / s - round(major / s)) < 1e-9), None)
    return major, minor


class TimeAxis(pg.AxisItem):
    """A time ruler: ticks at editor steps, labels in h:mm:ss with as many decimals as the step needs."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        major, minor = ruler_steps(maxVal - minVal, size)
        self._major = major
        return [(major, 0.0)] + ([(minor, 0.0)] if minor else [])

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        if spacing < getattr(self, "_major", spacing):  # minor ticks go unlabelled
            return ["" for _ in values]
        decimals = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2 if spacing >= 0.01 else 3
        return [clock(v, decimals) if v >= 0 else "" for v in values]
