"""A tiny progress bar on stderr: count, rate and ETA, drawn only on a terminal unless forced."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", *, force: bool = False,
             min_interval: float = 0.2) -> Iterator[T]:
    """Yield from ``iterable`` while drawing ``desc  done/total  rate/s  ETA`` on stderr.

    Silent when stderr is not a terminal (logs, CI) unless ``force``; redraws at most every
    ``min_interval`` seconds so tight loops do not pay for printing.
    """
    show = force or sys.stderr.isatty()
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    start = last = time.monotonic()
    done = 0

    def draw(final: bool) -> None:
        elapsed = max(time.monotonic() - start, 1e-9)
        rate = done / elapsed
        text = f"{desc}  {done}" + (f"/{total}" if total else "") + f"  {rate:.2f}/s"
        if total and rate > 0 and not final:
            text += f"  ETA {_clock((total - done) / rate)}"
        elif final:
            text += f"  in {_clock(elapsed)}"
        sys.stderr.write("\r" + text.ljust(70) + ("\n" if final else ""))
        sys.stderr.flush()

    for item in iterable:
        yield item
        done += 1
        now = time.monotonic()
        if show and now - last >= min_interval:
            last = now
            draw(False)
    if show:
        draw(True)
