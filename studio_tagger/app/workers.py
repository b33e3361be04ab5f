"""Background work on the global thread pool, reporting to the GUI thread through signals.

A job is a plain function ``job(emit, progress, should_cancel) -> result`` run on a pool thread.
``emit(item)`` hands a partial result to the GUI, ``progress(fraction)`` reports progress, and
``should_cancel()`` turns true after :meth:`Worker.cancel`. Every signal carries the worker's
generation so that the receiver can drop results of a run it has since replaced or cancelled.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

Job = Callable[[Callable[[Any], None], Callable[[float], None], Callable[[], bool]], Any]


class WorkerSignals(QObject):
    item = Signal(int, object)
    progress = Signal(int, float)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


class Worker(QRunnable):
    def __init__(self, job: Job, generation: int, cancel_errors: tuple[type[BaseException], ...] = (),
                 user_errors: tuple[type[BaseException], ...] = ()) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it to cancel and to wait on
        self.job = job
        self.generation = generation
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._cancel_errors = cancel_errors
        self._user_errors = user_errors

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def run(self) -> None:
        gen = self.generation
        try:
            result = self.job(lambda item: self.signals.item.emit(gen, item),
                              lambda fraction: self.signals.progress.emit(gen, float(fraction)),
                              self._cancel.is_set)
        except self._cancel_errors:
            self.signals.cancelled.emit(gen)
        except Exception as exc:  # shown to the user as one line; the trace of a bug goes to stderr
            if not isinstance(exc, self._user_errors):
                traceback.print_exc()
            text = " ".join(str(exc).split()) or type(exc).__name__
            self.signals.failed.emit(gen, text)
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit(gen)
            else:
                self.signals.finished.emit(gen, result)
        finally:
            self._done.set()


class JobSlot:
    """At most one running job of a kind: starting a new one cancels the old; stale signals are marked."""

    def __init__(self, cancel_errors: tuple[type[BaseException], ...] = (),
                 user_errors: tuple[type[BaseException], ...] = ()) -> None:
        """``cancel_errors`` mean the job stopped on request; ``user_errors`` are failures with a message
        for the user (a missing model, an unreadable file) rather than bugs."""
        self.generation = 0
        self.started = 0  # jobs started in this slot, ever
        self.worker: Worker | None = None
        self._alive: list[Worker] = []  # cancelled workers may still run; Python must keep them
        self._cancel_errors = cancel_errors
        self._user_errors = user_errors

    def start(self, job: Job, **handlers: Callable) -> Worker:
        """Run ``job``; ``handlers`` (item=, progress=, finished=, failed=, cancelled=) are connected to
        the worker's signals before it starts, so not even a very quick job's result is missed."""
        self.cancel()
        self.generation += 1
        self.started += 1
        self.worker = Worker(job, self.generation, self._cancel_errors, self._user_errors)
        for name, handler in handlers.items():
            getattr(self.worker.signals, name).connect(handler)
        self._alive = [w for w in self._alive if not w.done] + [self.worker]
        QThreadPool.globalInstance().start(self.worker)
        return self.worker

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.done and not self.worker.cancelled

    def cancel(self) -> None:
        """Ask the running job to stop and forget it: its later signals are stale."""
        if self.worker is not None:
            self.worker.cancel()
        self.generation += 1

    def wait(self, timeout: float) -> bool:
        """Wait for every job of this slot, cancelled ones included; False on timeout."""
        return all(w.wait(timeout) for w in self._alive)
