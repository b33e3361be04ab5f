"""Garbage collection runs on the GUI thread only: a collection on an analysis worker destroying Qt
objects while the GUI thread destroyed others deadlocked the app (PySide's GIL against Qt's lock)."""

from __future__ import annotations

import gc
import threading


class _Cycle:
    died_on: list[str] = []

    def __init__(self) -> None:
        self.me = self  # only the cyclic collector frees it

    def __del__(self) -> None:
        _Cycle.died_on.append(threading.current_thread().name)


def test_cycles_made_on_a_worker_die_on_the_gui_thread(qtbot, qapp) -> None:
    assert not gc.isenabled()

    kept: list = []

    def work() -> None:
        _Cycle()
        kept.extend([] for _ in range(20_000))  # enough new objects to make a collection due, as an analysis does

    worker = threading.Thread(target=work, name="worker")
    worker.start()
    worker.join()
    assert _Cycle.died_on == []  # automatic collection would have freed it there, on the worker
    qtbot.waitUntil(lambda: bool(_Cycle.died_on), timeout=5000)
    assert _Cycle.died_on == [threading.main_thread().name]
    kept.clear()
