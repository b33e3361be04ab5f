"""Where a batch run's tasks execute: a local process pool, or an existing Dask distributed cluster.

Both hand out `concurrent.futures` futures of the same `task.tag_file`, so the runner has one loop. A
local pool whose worker process dies (killed, out of memory) is rebuilt and the runner resubmits what
was in flight; Dask reschedules a lost worker's tasks by itself.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .task import Task, init_pool_worker, tag_file


def local_plan(workers: int | None, device: str) -> tuple[int, list[str] | None]:
    """Worker count and per-worker devices on this machine: one worker per GPU when inference goes to
    GPUs (decoding overlaps on each worker's helper thread), else one per core."""
    import torch

    gpus = torch.cuda.device_count() if device != "cpu" and torch.cuda.is_available() else 0
    if gpus:
        n = workers or gpus
        return n, [f"cuda:{i % gpus}" for i in range(n)]
    if device.startswith("cuda"):
        from ..analysis.device import DeviceError

        raise DeviceError("the CUDA device was asked for, but no CUDA GPU is available (choose auto or cpu)")
    return workers or os.cpu_count() or 1, None


class PoolBackend:
    """N worker processes on this machine, each with its share of the cores and its own model."""

    def __init__(self, workers: int | None = None, device: str = "auto", threads: int | None = None) -> None:
        """``threads``: torch threads per worker (default: the cores shared out among the workers; a
        worker with more than one also decodes on a helper thread while its model runs)."""
        self.slots, self._devices = local_plan(workers, device)
        self._threads = threads or max(1, (os.cpu_count() or 1) // self.slots)
        # spawn, not fork: a forked child inherits the client's torch thread pools and locks half-held.
        self._context = multiprocessing.get_context("spawn")
        self.generation = 0
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        devices = None
        if self._devices:
            devices = self._context.Queue()
            for name in self._devices:
                devices.put(name)
        return ProcessPoolExecutor(self.slots, mp_context=self._context, initializer=init_pool_worker,
                                   initargs=(self._threads, devices))

    def submit(self, task: Task) -> Future:
        try:
            future = self._pool.submit(tag_file, task)
        except BrokenProcessPool:
            # A worker died and the pool knew before any of its futures was reported to the runner: replace
            # it now; those futures still fail, and the runner resubmits their tasks.
            self._replace()
            future = self._pool.submit(tag_file, task)
        future.generation = self.generation  # type: ignore[attr-defined]
        return future

    def recover(self, future: Future) -> None:
        """After a future failed: a broken pool is replaced once, whichever of its futures reports first."""
        current = getattr(future, "generation", -1) == self.generation
        if current and isinstance(future.exception(), BrokenProcessPool):
            self._replace()

    def _replace(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.generation += 1
        self._pool = self._start()

    def describe(self) -> str:
        if self._devices:
            return f"{self.slots} local worker process(es) on {', '.join(sorted(set(self._devices)))}"
        return f"{self.slots} local worker process(es), {self._threads} thread(s) each"

    def close(self) -> None:
        """Stop at once: when the run ends normally the workers are idle, and when it was interrupted the
        recordings in flight are given up (their writes are atomic; the next run redoes them)."""
        # The executor forgets its processes on shutdown, and before Python 3.14 has no public way to end them.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


class DaskBackend:
    """Tasks submitted to a Dask distributed scheduler; the client only collects the small records."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError("--scheduler needs Dask: pip install 'studio-tagger[cluster]'") from exc
        self.address = address
        self._client = Client(address, set_as_default=False, timeout="30s")
        self._executor = self._client.get_executor(pure=False)
        self._slots, self._slots_asked = 1, -1e9

    @property
    def slots(self) -> int:
        # Asked again every few seconds (each ask is a round trip to the scheduler): workers may join or
        # leave while the run goes on.
        now = time.monotonic()
        if now - self._slots_asked > 5.0:
            self._slots = max(1, sum(self._client.nthreads().values()))
            self._slots_asked = now
        return self._slots

    def submit(self, task: Task) -> Future:
        return self._executor.submit(tag_file, task)

    def recover(self, future: Future) -> None:
        """Nothing to do: the scheduler already moved a lost worker's tasks elsewhere."""

    def describe(self) -> str:
        return f"Dask scheduler {self.address} ({len(self._client.nthreads())} workers, {self.slots} threads)"

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self._client.close()
