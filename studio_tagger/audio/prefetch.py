"""Runs a block iterator on a helper thread so decoding overlaps inference.

soundfile and soxr release the GIL, so on a two-core laptop decoding and resampling the next block
costs the model almost nothing. Free of torch: `DecodeAhead` starts decoding before torch is imported.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from .reader import iter_blocks

T = TypeVar("T")
_DONE = object()
POLL_S = 0.05  # how often a consumer waiting for a slow decoder looks at its `poll` hook


class Prefetch(Iterator[T]):
    """``poll`` is called while the consumer waits for the next item (a slow disk, a network drive);
    it may raise, e.g. to cancel, and the wait ends with that exception."""

    def __init__(self, source: Iterator[T], depth: int = 2, poll: Callable[[], None] | None = None) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._poll = poll
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True, name="prefetch")
        self._thread.start()

    def _run(self, source: Iterator[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator closes its file now, not whenever it is collected
                close()
        self._put(_DONE)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> T:
        while True:
            try:
                item = self._queue.get(timeout=POLL_S)
                break
            except queue.Empty:
                if self._poll is not None:
                    self._poll()
        if item is _DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the producer (it may be blocked on a full queue) and wait for it."""
        self._stop.set()
        self._thread.join(timeout=5.0)


class DecodeAhead(Prefetch[np.ndarray]):
    """A recording decoded at ``rate`` in blocks of ``block_seconds`` on a helper thread, started before the
    model is loaded: importing torch takes a second or more, in which a FLAC's first ten minutes decode.
    `Analyzer.analyze` takes these blocks in place of decoding ``path`` itself. ``depth`` blocks may wait
    (24 of 30 s at 16 kHz: 46 MB); a fault in the file reaches whoever reads the blocks."""

    def __init__(self, path: str | os.PathLike, rate: int, block_seconds: float = 30.0, depth: int = 24) -> None:
        self.path, self.rate = Path(path), rate
        super().__init__(iter_blocks(self.path, rate, block_seconds), depth=depth)
