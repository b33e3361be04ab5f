"""The one per-file task of a batch run, the same function on a local process pool and on a Dask cluster.

A task carries paths and settings only (a few hundred bytes). The worker process builds its Analyzer on
its first task and keeps it, so the model is loaded once per worker however many files it tags. The
worker writes the recording's outputs and then its record (see `ledger`), and returns the record: the
client needs nothing else to build the summary.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from ..analysis import Analyzer, RegionParams
from ..atomic import atomic_write
from ..oneline import one_line
from ..outputs import export_result, write_analysis_json
from .ledger import export_path, model_identity, record_path, result_path, write_record


class WorkerModelMismatch(Exception):
    """A worker whose model is not the one the client planned the run with."""


@dataclass(frozen=True)
class Task:
    path: str  # absolute, as reached by the walk: workers on other machines have other working folders
    key: str
    out: str
    model: str | None  # None: each worker's shipped model (its identity is still checked)
    model_id: str
    device: str
    hop: float
    params: dict  # RegionParams fields
    exports: tuple[str, ...] = ()

    @property
    def settings(self) -> dict:
        return settings_of(self.hop, self.params)


def settings_of(hop: float, params: dict | RegionParams) -> dict:
    """The analysis settings a record is valid for, as they read back from JSON (tuples become lists)."""
    fields = asdict(params) if isinstance(params, RegionParams) else dict(params)
    return {"hop": float(hop), "regions": json.loads(json.dumps(fields))}


# One Analyzer per (model, device, hop) in this process, built on first use.
_ANALYZERS: dict[tuple, Analyzer] = {}
_LOCK = threading.Lock()
_DEVICE: str | None = None  # set by init_pool_worker: the GPU this process owns


def _end_with_parent(poll: float = 2.0) -> None:
    """End this worker process once the client that started it is gone (killed with -9, or by a
    crash): left to itself it went on tagging the queue, then waited forever, adopted by init."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def init_pool_worker(threads: int, devices: queue.Queue | None = None) -> None:
    """Initializer of a local pool's worker: its share of the cores, and its own GPU when there are GPUs."""
    global _DEVICE
    import torch

    # Ctrl+C is the client's to handle: it stops the run and ends the workers, which would otherwise
    # each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    torch.set_num_threads(max(1, threads))
    if devices is not None:
        _DEVICE = devices.get()


def analyzer_for(model: str | None, device: str, hop: float) -> Analyzer:
    device = _DEVICE or device
    key = (model, device, hop)
    with _LOCK:  # a Dask worker may run tasks on several threads
        if key not in _ANALYZERS:
            import torch

            analyzer = Analyzer(model, device=device, hop=hop)
            # Decoding on a helper thread pays only with a core to spare (or a GPU doing the model's work);
            # a worker with one core of its own, as when the workers fill the cores, runs faster decoding in
            # line (one thread, nine one-minute takes on this project's busy 2-core CPU: 430x real time in
            # line, 290x with the helper thread).
            analyzer.overlap_decoding = analyzer.device.type == "cuda" or torch.get_num_threads() > 1
            _ANALYZERS[key] = analyzer
        return _ANALYZERS[key]


def tag_file(task: Task) -> dict:
    """Analyse one recording, write its outputs and record; a failure is recorded, never raised (except
    when even the record cannot be written)."""
    from ..session import content_hash

    started = time.perf_counter()
    out = Path(task.out)
    source = Path(task.path)
    record: dict = {"path": task.path, "key": task.key, "settings": task.settings}
    try:
        identity = model_identity(task.model)
        record["model"] = identity.to_dict()
        if identity.id != task.model_id:
            raise WorkerModelMismatch(f"this worker's model is {identity.id}, the run's is {task.model_id}")
        st = os.stat(source)
        record.update(size=st.st_size, mtime_ns=st.st_mtime_ns)  # kept even when the hash below fails
        record["content_hash"] = content_hash(source)
        analyzer = analyzer_for(task.model, task.device, task.hop)
        result = analyzer.analyze(source)
        regions = result.regions(RegionParams(**task.params))
        target = result_path(out, task.key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, "w") as f:
            write_analysis_json(result, regions, f)
        for fmt in task.exports:
            export_result(fmt, regions, export_path(out, task.key, fmt), source_audio=source, result=result)
        means = result.mean_scores()
        record.update(
            status="done", error=None, duration=round(result.duration, 6), sample_rate=result.sample_rate,
            device=result.device, labels=list(result.labels), regions=len(regions),
            seconds_active={label: round(float(sum(r.duration for r in regions if r.label == label)), 3)
                            for label in result.labels},
            mean_score={label: round(means[label], 5) for label in result.labels}, label=result.best_label(),
            notices=[*result.extra.get("notices", []), *([result.short_notice()] if result.shorter_than_window else [])],
        )
        # Exports of formats this run did not ask for are an earlier run's, of an earlier analysis.
        remove_outputs(out, task.key, keep=task.exports, result=False)
    except Exception as exc:  # any failure of one recording is that recording's, not the run's
        record.update(status="failed", error=one_line(exc))
        remove_outputs(out, task.key)
    record.setdefault("model", {"id": task.model_id})
    record["elapsed"] = round(time.perf_counter() - started, 3)
    write_record(record_path(out, task.key), record)
    return record


def remove_outputs(out: Path, key: str, keep: tuple[str, ...] = (), result: bool = True) -> None:
    """Remove a recording's results (with ``result``) and its exports in every format but ``keep``: a
    recording that now fails must not keep an older run's results beside its failure, nor one tagged
    again exports of an earlier analysis."""
    from ..interchange import FORMATS

    stale = [export_path(out, key, fmt) for fmt in FORMATS if fmt not in keep]
    for path in ([result_path(out, key)] if result else []) + stale:
        with suppress(OSError):  # a folder in its place, a vanished parent: nothing of ours to remove
            path.unlink(missing_ok=True)
