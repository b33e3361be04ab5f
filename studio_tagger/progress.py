"""A one-line progress bar on stderr, for the command line and training scripts."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


class ProgressBar:
    """Redraws one line with percentage, rate and ETA. Silent unless the stream is a terminal
    (or STUDIO_TAGGER_PROGRESS=1, or ``force``), so logs and pipes stay clean."""

    def __init__(self, desc: str, *, enabled: bool = True, force: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        forced = force or os.environ.get("STUDIO_TAGGER_PROGRESS") == "1"
        self.enabled = enabled and (forced or self.stream.isatty())
        self.desc = desc
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, fraction: float, rate: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        fraction = min(1.0, max(0.0, fraction))
        if fraction < 1.0 and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        elapsed = now - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        filled = int(fraction * 30)
        bar = "#" * filled + "-" * (30 - filled)
        extra = f" {rate}" if rate else ""
        self.stream.write(f"\r{self.desc} [{bar}] {fraction * 100:5.1f}%{extra} {elapsed:5.1f}s eta {eta:5.1f}s")
        self.stream.flush()
        self._drawn = True

    def message(self, text: str, stream: TextIO | None = None) -> None:
        """One line on ``stream`` (default the bar's; always, even when the bar is off), the bar redrawn
        below it at its next update."""
        if self._drawn:
            self.stream.write("\r\033[K")  # clear the bar's line first
            self.stream.flush()
        out = stream or self.stream
        out.write(text + "\n")
        out.flush()
        self._last_draw = 0.0
        self._drawn = False  # its line was cleared: close() owes no newline until it is drawn again

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def progress(iterable: Iterable[T], total: int, desc: str = "", *, force: bool = False) -> Iterator[T]:
    """Yield from ``iterable`` while the bar shows ``done/total`` and items per second (training scripts)."""
    bar = ProgressBar(desc, force=force)
    done = 0
    try:
        for item in iterable:
            yield item
            done += 1
            elapsed = max(time.monotonic() - bar.started, 1e-9)
            bar.update(done / max(total, 1), f"{done}/{total} {done / elapsed:.2f}/s")
    finally:
        bar.close()
