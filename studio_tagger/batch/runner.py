"""A batch run: walk the archive, skip what the results folder already holds, tag the rest on a backend,
then rebuild the summary from the records.

The client keeps a bounded number of tasks in flight (twice the backend's slots), so a run over a hundred
thousand files holds a few dozen futures, Ctrl+C stops at once, and a lost local worker costs only the
tasks it held. A task whose worker died (or that could not write its record) is resubmitted; after three
such ends its recording is recorded as failed (a file that crashes the decoder must not stop the archive).
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..analysis import RegionParams
from ..oneline import one_line
from .ledger import model_identity, needs_work, read_record, record_path, write_record
from .summary import write_summary
from .task import Task, settings_of
from .walk import DEFAULT_INCLUDE, Walk, walk

ATTEMPTS = 3


@dataclass
class BatchOptions:
    roots: Sequence[str]
    out: Path
    model: str | None = None
    device: str = "auto"
    workers: int | None = None
    threads: int | None = None  # torch threads per local worker (default: the cores shared out)
    scheduler: str | None = None
    exports: tuple[str, ...] = ()
    include: tuple[str, ...] = DEFAULT_INCLUDE
    hop: float = 0.5
    params: RegionParams = field(default_factory=RegionParams)
    retry_failed: bool = False


@dataclass
class Tally:
    """What the progress bar and the final summary show for this run's share of the archive."""

    files: int = 0  # to tag in this run
    bytes: int = 0
    files_done: int = 0
    bytes_done: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        # Bytes, not files: one three-hour take among short clips would otherwise stall the bar at 99 %.
        return self.bytes_done / self.bytes if self.bytes else 1.0

    @property
    def speed(self) -> float:
        """Seconds of audio tagged per second of wall time."""
        elapsed = time.monotonic() - self.started
        return self.audio_seconds / elapsed if elapsed > 0 else 0.0

    def describe(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{self.files_done}/{self.files} files{failed} {self.audio_seconds / 3600:.2f} h "
                f"{self.speed:.0f}x real time")


@dataclass
class BatchReport:
    records: list[dict]  # one per recording found, from this run or an earlier one, in walk order
    problems: list[tuple[str, str]]  # entries the walk could not read
    skipped: int
    tally: Tally
    summary: list[Path]
    backend: str = ""
    wall: float = 0.0
    unmatched: int = 0  # files under the roots that --include leaves out
    mac_metadata: int = 0  # a Mac's ._NAME companions, passed over

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] == "failed"]


def plan(options: BatchOptions, model_id: str) -> tuple[Walk, list[Task], dict]:
    """The walk (recordings found, problems, files passed over), the tasks to run and the records that
    stand."""
    out = options.out
    found = walk([Path(os.path.abspath(r)) for r in options.roots], options.include, exclude=[out])
    settings = settings_of(options.hop, options.params)
    params = asdict(options.params)
    standing: dict[str, dict] = {}
    tasks: list[Task] = []
    for f in found.files:
        record = read_record(record_path(out, f.key))
        if needs_work(f, record, model_id, settings, options.exports, out, options.retry_failed):
            tasks.append(Task(str(f.path), f.key, str(out), options.model, model_id, options.device, options.hop,
                              params, options.exports))
        else:
            standing[f.key] = record
    return found, tasks, standing


def open_backend(options: BatchOptions):
    from .backends import DaskBackend, PoolBackend

    if options.scheduler:
        return DaskBackend(options.scheduler)
    return PoolBackend(options.workers, options.device, options.threads)


def run_batch(options: BatchOptions, *, backend=None,
              on_record: Callable[[dict, Tally], None] | None = None) -> BatchReport:
    """Tag every recording under ``options.roots`` that the results folder does not hold yet.

    ``backend`` (PoolBackend, DaskBackend or anything with submit/recover/slots/close) defaults to the one
    the options name; a backend passed in is left open. ``on_record`` sees each record as it arrives.
    The summary is written even when the run is interrupted, then the interruption goes on up.
    """
    started = time.monotonic()
    identity = model_identity(options.model)
    options.out.mkdir(parents=True, exist_ok=True)
    found, tasks, records = plan(options, identity.id)
    files, problems = found.files, found.problems
    sizes = {f.key: f.size for f in files}
    tally = Tally(files=len(tasks), bytes=sum(sizes[t.key] for t in tasks))
    own = backend is None
    report = BatchReport([], problems, skipped=len(records), tally=tally, summary=[], unmatched=found.unmatched,
                         mac_metadata=found.mac_metadata)

    def arrived(record: dict) -> None:
        records[record["key"]] = record
        tally.files_done += 1
        tally.bytes_done += sizes.get(record["key"], 0)
        if record["status"] == "done":
            tally.audio_seconds += record.get("duration") or 0.0
        else:
            tally.failed += 1
        if on_record is not None:
            on_record(record, tally)

    try:
        if tasks:
            backend = backend if backend is not None else open_backend(options)
            report.backend = backend.describe()
            tally.started = time.monotonic()  # the speed shown counts from the first task, not the walk
            run_tasks(tasks, backend, arrived)
    finally:
        if own and backend is not None:
            backend.close()
        report.records = [records[f.key] for f in files if f.key in records]
        report.summary = write_summary(options.out, report.records, problems)
        report.wall = time.monotonic() - started
    return report


def run_tasks(tasks: Sequence[Task], backend, arrived: Callable[[dict], None]) -> None:
    """Run ``tasks`` on ``backend`` with a bounded number in flight; ``arrived`` gets each record."""
    pending = deque(tasks)
    running: dict = {}
    deaths: Counter[str] = Counter()
    try:
        while pending or running:
            while pending and len(running) < 2 * backend.slots:
                task = pending.popleft()
                running[backend.submit(task)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                if future.exception() is None:
                    arrived(future.result())
                    continue
                # The worker died under the task (or could not write its record): try again elsewhere.
                backend.recover(future)
                deaths[task.key] += 1
                if deaths[task.key] < ATTEMPTS:
                    pending.appendleft(task)
                else:
                    arrived(_lost(task, future.exception()))
    finally:
        for future in running:
            future.cancel()


def _lost(task: Task, exc: BaseException | None) -> dict:
    """The record of a recording whose every attempt failed outside `tag_file`, written by the client."""
    record = {"path": task.path, "key": task.key, "settings": task.settings, "model": {"id": task.model_id},
              "status": "failed", "error": f"{ATTEMPTS} attempts ended outside the analysis (a worker lost, or "
                                           f"results that could not be written): {one_line(exc) if exc else '?'}"}
    from ..session import content_hash

    with suppress(OSError):  # the recording's identity, so that the next run keeps this failure
        st = Path(task.path).stat()
        record.update(size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=content_hash(task.path))
    with suppress(OSError, ValueError):  # else it stays in this run's summary only; the next run tries again
        write_record(record_path(Path(task.out), task.key), record)
    return record
