"""`studio-tagger batch --scheduler` on a real Dask LocalCluster (2 worker processes): every result equals
single-file `analyze` although a worker is killed mid-run, and an interrupted run resumes."""

import os
import re
import signal

import pytest
from archivegen import check_results, make_archive

from studio_tagger.batch import BatchOptions, run_batch
from studio_tagger.batch.backends import DaskBackend
from studio_tagger.cli import main

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask") / "archive"
    good, bad = make_archive(root, 30)
    return root, good, bad


def test_cluster_run_equals_analyze_with_a_worker_killed(cluster, archive, tmp_path, random_model_path):
    root, good, bad = archive
    out = tmp_path / "results"
    killed = []

    def kill_a_worker(record, tally):
        if not killed:  # after the first result: both workers hold tasks
            nanny = next(iter(cluster.workers.values()))
            killed.append(nanny.pid)
            os.kill(nanny.pid, signal.SIGKILL)

    backend = DaskBackend(cluster.scheduler_address)
    try:
        report = run_batch(BatchOptions([str(root)], out, model=str(random_model_path), device="cpu"),
                           backend=backend, on_record=kill_a_worker)
    finally:
        backend.close()
    assert killed and report.tally.files_done == len(good) + len(bad)
    assert {r["key"] for r in report.records} == {p.relative_to(root).as_posix() for p in good + bad}
    check_results(out, root, good, bad, random_model_path, tmp_path, device="cpu")


def test_cluster_run_interrupted_then_resumed(cluster, archive, tmp_path, random_model_path, capsys):
    root, good, bad = archive
    out = tmp_path / "results"

    def interrupt(record, tally):
        if tally.files_done == 5:
            raise KeyboardInterrupt  # what Ctrl+C does to the client

    backend = DaskBackend(cluster.scheduler_address)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(BatchOptions([str(root)], out, model=str(random_model_path)), backend=backend,
                      on_record=interrupt)
    finally:
        backend.close()
    # The summary written on the way out holds the five recordings done.
    assert len((out / "summary.csv").read_text().splitlines()) == 1 + 5
    done = len(list(out.rglob("*.record.json")))
    assert 5 <= done < len(good) + len(bad)

    argv = ["batch", str(root), "--out", str(out), "--model", str(random_model_path),
            "--scheduler", cluster.scheduler_address]
    assert main(argv) == 1  # the three bad files
    # Tasks already running when the client stopped may still have finished after the count above.
    tagged, skipped = map(int, re.search(r"\((\d+) tagged now, (\d+) already done\), 3 failed",
                                         capsys.readouterr().out).groups())
    assert tagged + skipped == len(good) + len(bad) and skipped >= done
    check_results(out, root, good, bad, random_model_path, tmp_path)
