"""Python's cyclic garbage collection, run on the GUI thread only.

Left automatic, a collection runs on whichever thread happens to allocate, an analysis worker included,
and frees whatever cycles it finds there, Qt objects among them (a closed window, a finished job's
signals). Destroying a Qt object takes Qt's lock on its connections and, in PySide, the GIL: a worker
destroying one held that lock and waited for the GIL, while the GUI thread, holding the GIL as it
destroyed another, waited for the lock, and the app froze for good (caught in the app tests, stacks read
with gdb: the worker's collection in `QObject::~QObject` waiting for the GIL, the GUI thread in shiboken's
deferred deletion of a `QMenu`, in another `~QObject`, waiting for Qt's lock). Collected from a timer on
the GUI thread instead, every Qt object dies there.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500  # how often the GUI thread looks whether a generation is due


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects a generation when the GUI thread finds it due, by the
    same counts and thresholds Python itself uses. Create it on the GUI thread; `stop` turns automatic
    collection back on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        gc.disable()

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):  # the oldest that is due takes the younger ones with it
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()
