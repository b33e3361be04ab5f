"""Times as editors read them: h:mm:ss.mmm (no Qt: the CLI, exports and the app share it)."""

from __future__ import annotations


def clock(seconds: float, decimals: int = 3) -> str:
    """``3723.5`` -> ``1:02:03.500``; ``decimals`` (0-3) digits after the second, rounded."""
    scale = 10**decimals
    units = int(round(max(0.0, seconds) * scale))
    whole, frac = divmod(units, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h}:{m:02d}:{s:02d}"
    return f"{text}.{frac:0{decimals}d}" if decimals else text
