"""`studio-tagger batch` on a local process pool: the walk, results equal to single-file `analyze`, the
summary, skipping what is done, retrying failures, a worker killed mid-run and a client killed mid-run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
from archivegen import check_results, make_archive
from audiogen import tone_burst

from studio_tagger.batch import BatchOptions, parse_include, run_batch, walk
from studio_tagger.batch.backends import PoolBackend
from studio_tagger.batch.ledger import record_path
from studio_tagger.cli import main

pytest.importorskip("pyarrow")


def records(out: Path) -> dict[str, int]:
    """Each record file under ``out`` and its mtime: a rewritten record means a recording was redone."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*.record.json")}


def test_walk_follows_links_once_and_reports_what_it_cannot_read(tmp_path, monkeypatch):
    root = tmp_path / "archive"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    for name in ("a/one.wav", "a/deep/TWO.FLAC", "b/three.ogg", "b/four.opus", "b/readme.txt"):
        (root / name).write_bytes(b"x")
    (root / "b" / "loop").symlink_to(root)  # a link back to the root: walked once
    (root / "b" / "again").symlink_to(root / "a")  # the same folder under a second name
    (root / "b" / "alias.wav").symlink_to(root / "a" / "one.wav")  # the same file under a second name
    (root / "b" / "gone.wav").symlink_to(root / "missing.wav")
    (root / "locked").mkdir()
    (root / "results").mkdir()
    (root / "results" / "x.wav").write_bytes(b"x")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":  # as root, chmod cannot lock a folder: refuse it here instead
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = walk([root], parse_include(None), exclude=[root / "results"])
    # A folder's files come before its subfolders', names in order.
    assert [f.key for f in found.files] == ["a/one.wav", "a/deep/TWO.FLAC", "b/four.opus", "b/three.ogg"]
    assert found.problems == [(str(root / "b" / "gone.wav"), "a broken link"),
                              (str(root / "locked"), "cannot list the folder: permission denied")]
    assert [f.key for f in walk([root], parse_include("*.ogg, *.wav"), exclude=[root / "results"]).files] == [
        "a/one.wav", "b/three.ogg"]
    # Several roots: results go under each root's name, made unique.
    (tmp_path / "other" / "a").mkdir(parents=True)
    (tmp_path / "other" / "a" / "one.wav").write_bytes(b"y")
    both = walk([root / "a", tmp_path / "other" / "a", tmp_path / "nowhere"], parse_include(None))
    assert [f.key for f in both.files] == ["a/one.wav", "a/deep/TWO.FLAC", "a-2/one.wav"]
    assert both.problems == [(str(tmp_path / "nowhere"), "no such file or directory")]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool") / "archive"
    good, bad = make_archive(root, 8)
    return root, good, bad


def test_pool_run_equals_analyze_then_skips_retries_and_redoes_changes(archive, tmp_path, random_model_path,
                                                                     capsys, monkeypatch):
    root, good, bad = archive
    out = tmp_path / "results"
    argv = ["batch", str(root), "--out", str(out), "--model", str(random_model_path), "--workers", "2",
            "--export", "audacity,csv-activity"]
    monkeypatch.setenv("STUDIO_TAGGER_PROGRESS", "1")  # the bar, as on a terminal
    assert main(argv) == 1  # three recordings failed
    captured = capsys.readouterr()
    last_draw = captured.err.split("\r")[-1]
    assert last_draw.startswith("batch [") and " 100.0% 11/11 files, 3 failed " in last_draw and "x real time" in last_draw
    assert f"studio-tagger: failed: {bad[0]}: not a readable audio file" in captured.err
    assert captured.err.strip().splitlines()[-1] == (
        f"studio-tagger: error: 3 of 11 recordings failed and 0 entries were unreadable (listed in "
        f"{out / 'summary.csv'}; --retry-failed tries the failures again)")
    assert f"{out}: 11 recordings (11 tagged now, 0 already done), 3 failed, 0 unreadable" in captured.out
    check_results(out, root, good, bad, random_model_path, tmp_path)
    regions = json.loads((out / "set0" / "take00.wav.json").read_text())["regions"]
    assert len((out / "set0" / "take00.wav.audacity.txt").read_text().splitlines()) == len(regions)
    assert (out / "set0" / "take00.wav.csv-activity.csv").read_text().startswith("time,")
    assert not list(out.rglob("notes.txt*"))

    # Again: nothing is redone, the summary is the same.
    before, summary = records(out), (out / "summary.csv").read_text()
    assert main(argv) == 1
    assert "(0 tagged now, 11 already done)" in capsys.readouterr().out
    assert records(out) == before and (out / "summary.csv").read_text() == summary

    # A touched but unchanged take is not redone; a changed one and the failures with --retry-failed are.
    os.utime(good[1])
    good[2].write_bytes(good[3].read_bytes())
    assert main([*argv, "--retry-failed"]) == 1
    after = records(out)
    redone = {k for k in after if after[k] != before[k]}
    assert redone == {f"{p.relative_to(root).as_posix()}.record.json" for p in (good[2], *bad)}
    check_results(out, root, good, bad, random_model_path, tmp_path)

    # Another model means other results: everything is redone.
    other = tmp_path / "other.safetensors"
    other.write_bytes(random_model_path.read_bytes())
    other.with_suffix(".json").write_text(random_model_path.with_suffix(".json").read_text().replace(
        '"test-random"', '"test-other"'))
    assert main([*argv[:5], str(other), *argv[6:], "--quiet"]) == 1
    assert all(json.loads((out / f"{p.relative_to(root).as_posix()}.json").read_text())["model"] == "test-other"
               for p in good)


def test_a_pool_already_broken_when_a_task_is_submitted_is_replaced(tmp_path, random_model_path):
    """A worker can die and break the pool before any of its futures reaches the runner: the next submit
    finds it broken and must start a new pool, not fail the run."""
    from concurrent.futures.process import BrokenProcessPool
    from dataclasses import asdict

    import numpy as np
    import soundfile as sf

    from studio_tagger.analysis.regions import RegionParams
    from studio_tagger.batch.ledger import model_identity
    from studio_tagger.batch.task import Task

    recording = tmp_path / "tone.wav"
    t = np.arange(4 * 16000) / 16000
    sf.write(str(recording), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    backend = PoolBackend(workers=1, device="cpu")
    try:
        dying = backend._pool.submit(os._exit, 3)
        with pytest.raises(BrokenProcessPool):
            dying.result(timeout=120)
        task = Task(str(recording), "tone.wav", str(tmp_path / "out"), str(random_model_path),
                    model_identity(str(random_model_path)).id, "cpu", 0.5, asdict(RegionParams()))
        record = backend.submit(task).result(timeout=300)
        assert record["status"] == "done" and backend.generation == 1
    finally:
        backend.close()


def test_pool_replaces_a_killed_worker_and_finishes(archive, tmp_path, random_model_path):
    import multiprocessing

    root, good, bad = archive
    out = tmp_path / "results"
    killed = []
    others = set(multiprocessing.active_children())  # the pool's processes are the ones that appear later

    def kill_a_worker(record, tally):
        if not killed:  # after the first result, while the others are in flight
            victim = next(p for p in multiprocessing.active_children() if p not in others)
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    backend = PoolBackend(workers=2, device="cpu")
    try:
        report = run_batch(BatchOptions([str(root)], out, model=str(random_model_path), device="cpu"),
                           backend=backend, on_record=kill_a_worker)
    finally:
        backend.close()
    assert killed and backend.generation >= 1  # the pool broke and was replaced
    assert report.tally.files_done == len(good) + len(bad)
    check_results(out, root, good, bad, random_model_path, tmp_path, device="cpu")


def test_a_run_killed_with_sigkill_resumes_where_it_stopped(archive, tmp_path, random_model_path):
    root, good, bad = archive
    out = tmp_path / "results"
    argv = ["batch", str(root), "--out", str(out), "--model", str(random_model_path), "--workers", "1", "--quiet",
            "--device", "cpu"]
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-m", "studio_tagger.cli", *argv], env=env,
                            start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(records(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the client and its worker, at once
    proc.wait(timeout=30)
    done_before = records(out)
    assert 3 <= len(done_before) < len(good) + len(bad), "the run must be killed mid-way"

    report = run_batch(BatchOptions([str(root)], out, model=str(random_model_path), device="cpu", workers=1))
    assert report.skipped == len(done_before)
    assert report.tally.files == len(good) + len(bad) - len(done_before)
    check_results(out, root, good, bad, random_model_path, tmp_path, device="cpu")


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_writes_the_summary_and_ends_the_workers(archive, tmp_path, random_model_path):
    """A job manager's `kill -TERM` stops the run as Ctrl+C does: summary written, workers ended (they
    were left running, adopted by init). A client killed with -9 cannot clean up: its workers end by
    themselves within a few seconds."""
    root, good, bad = archive
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)}
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGKILL, -9)):
        out = tmp_path / f"results-{sig.name}"
        argv = ["batch", str(root), "--out", str(out), "--model", str(random_model_path), "--workers", "1",
                "--quiet", "--device", "cpu"]
        proc = subprocess.Popen([sys.executable, "-m", "studio_tagger.cli", *argv], env=env,
                                start_new_session=True, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not records(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, sig)  # the client only, as a job manager does
        assert proc.wait(timeout=60) == code
        if sig == signal.SIGTERM:
            assert (out / "summary.csv").is_file()
        deadline = time.monotonic() + 20
        while _alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(proc.pid), f"worker processes outlived a client stopped by {sig.name}"


def test_batch_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["batch", str(tmp_path)])  # no --out
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), "--workers", "0"])
    assert info.value.code == 2
    capsys.readouterr()
    assert main(["batch", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "is a folder of the archive" in capsys.readouterr().err
    # a malformed or unknown export is a usage error, like analyze's and export's (exit 2, one line)
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), "--export", "audacity=x.txt"]) == 2
    assert "take a FORMAT only" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), "--export", "nope"]) == 2
    assert "unknown export format 'nope'" in capsys.readouterr().err
    (tmp_path / "victim.wav").write_bytes(b"RIFF")
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "victim.wav")]) == 1
    assert "victim.wav: is a file; --out names the folder" in capsys.readouterr().err
    assert (tmp_path / "victim.wav").read_bytes() == b"RIFF"


def test_mac_metadata_is_passed_over_and_an_include_that_matches_nothing_says_so(tmp_path, random_model_path,
                                                                                capsys):
    kit = tmp_path / "lib" / "Kit"
    (tmp_path / "lib" / "__MACOSX" / "Kit").mkdir(parents=True)
    kit.mkdir(parents=True)
    sf.write(str(kit / "snare.wav"), tone_burst(2.5, 16000, 0.2, 2.3)[:, 0], 16000)
    apple_double = b"\x00\x05\x16\x07" + bytes(60)  # a Mac's resource fork beside the sample
    (kit / "._snare.wav").write_bytes(apple_double)
    (tmp_path / "lib" / "__MACOSX" / "Kit" / "._snare.wav").write_bytes(apple_double)
    (kit / "notes.txt").write_text("kick and snare")
    argv = ["batch", str(tmp_path / "lib"), "--out", str(tmp_path / "r"), "--model", str(random_model_path),
            "--workers", "1"]
    assert main(argv) == 0  # the metadata files are neither recordings nor failures
    out = capsys.readouterr().out
    assert ("1 recording (1 tagged now, 0 already done), 0 failed, 0 unreadable, 1 other file passed over, "
            "1 Mac metadata file (._NAME) passed over") in out
    assert main([*argv, "--include", "wav"]) == 1  # a pattern without its star matches no name
    assert "no recordings: 2 files under the roots matched none of --include wav" in capsys.readouterr().err


def test_a_name_too_long_for_its_results_is_cut_and_hashed(tmp_path, random_model_path, capsys):
    root = tmp_path / "lib"
    root.mkdir()
    names = ["Violin_sustain_C4_ff_" + "x" * 220 + ".wav", "Violin_sustain_C4_ff_" + "x" * 219 + "y.wav",
             "バイオリン" + "音" * 75 + ".wav"]  # three bytes a character: cut between characters, never inside
    for name in names:  # 245-244 bytes: fine as a sample, too long with .record.json after it
        sf.write(str(root / name), tone_burst(2.5, 16000, 0.2, 2.3)[:, 0], 16000)
    argv = ["batch", str(root), "--out", str(tmp_path / "r"), "--model", str(random_model_path), "--workers", "1",
            "--export", "audacity"]
    assert main(argv) == 0
    assert "3 recordings (3 tagged now, 0 already done), 0 failed" in capsys.readouterr().out
    records = [record_path(tmp_path / "r", name) for name in names]
    assert all(p.exists() and len(p.name.encode()) <= 255 for p in records) and len(set(records)) == 3
    assert records[2].name.startswith("バイオリン音")
    assert len(list((tmp_path / "r").glob("*.audacity.txt"))) == 3
    assert main(argv) == 0
    assert "(0 tagged now, 3 already done)" in capsys.readouterr().out


def test_local_workers_are_one_per_gpu_or_one_per_core(monkeypatch):
    import torch

    from studio_tagger.batch.backends import local_plan

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert local_plan(None, "auto") == (os.cpu_count(), None)
    assert local_plan(3, "cpu") == (3, None)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        local_plan(None, "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert local_plan(None, "auto") == (2, ["cuda:0", "cuda:1"])
    assert local_plan(3, "cuda") == (3, ["cuda:0", "cuda:1", "cuda:0"])  # more workers than GPUs share them
    assert local_plan(None, "cpu") == (os.cpu_count(), None)


class DyingBackend:
    """Every task's worker dies: what a file that crashes the decoder does to a pool."""

    slots = 2

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, task):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        self.submitted += 1
        future = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future

    def recover(self, future) -> None:
        pass

    def describe(self) -> str:
        return "dying"


def test_a_recording_that_kills_its_worker_every_time_is_failed_after_three_tries(tmp_path, random_model_path):
    root, out = tmp_path / "archive", tmp_path / "results"
    root.mkdir()
    sf.write(str(root / "crash.wav"), tone_burst(1.0, 16000, 0.2, 0.8), 16000)
    options = BatchOptions([str(root)], out, model=str(random_model_path))
    backend = DyingBackend()
    report = run_batch(options, backend=backend)
    assert backend.submitted == 3
    [record] = report.failed
    assert record["error"] == ("3 attempts ended outside the analysis (a worker lost, or results that could not "
                               "be written): a child process terminated abruptly")
    again = DyingBackend()
    assert run_batch(options, backend=again).skipped == 1 and again.submitted == 0  # kept as failed
    assert run_batch(BatchOptions([str(root)], out, model=str(random_model_path), retry_failed=True),
                     backend=again).failed and again.submitted == 3


def test_a_worker_with_another_model_records_a_failure_instead_of_mixing_models(tmp_path, random_model_path):
    from dataclasses import asdict

    from studio_tagger.analysis import RegionParams
    from studio_tagger.batch.task import Task, tag_file

    take = tmp_path / "take.wav"
    sf.write(str(take), tone_burst(1.0, 16000, 0.2, 0.8), 16000)
    task = Task(str(take), "take.wav", str(tmp_path / "out"), str(random_model_path), "the client's model 1.0",
                "cpu", 0.5, asdict(RegionParams()))
    record = tag_file(task)
    assert record["status"] == "failed" and not (tmp_path / "out" / "take.wav.json").exists()
    assert record["error"].startswith("this worker's model is test-random sha256:")
    assert record["error"].endswith(", the run's is the client's model 1.0")
    assert json.loads((tmp_path / "out" / "take.wav.record.json").read_text())["error"] == record["error"]


def test_what_the_ledger_counts_as_done(tmp_path):
    from studio_tagger.analysis import RegionParams
    from studio_tagger.batch.ledger import needs_work, read_record, record_path, result_path, write_record
    from studio_tagger.batch.task import settings_of
    from studio_tagger.batch.walk import Found
    from studio_tagger.session import content_hash

    take, out = tmp_path / "take.wav", tmp_path / "out"
    take.write_bytes(b"RIFF" + bytes(100))
    st = take.stat()
    found = Found(take, "take.wav", st.st_size, st.st_mtime_ns)
    settings = settings_of(0.5, RegionParams())
    write_record(record_path(out, "take.wav"), {
        "key": "take.wav", "status": "done", "model": {"id": "m 1"}, "settings": settings, "size": st.st_size,
        "mtime_ns": st.st_mtime_ns, "content_hash": content_hash(take)})
    result_path(out, "take.wav").write_text("{}")
    record = read_record(record_path(out, "take.wav"))

    def work(**changes) -> bool:
        args = {"record": record, "model_id": "m 1", "settings": settings, "exports": (), "retry_failed": False,
                **changes}
        return needs_work(found, args["record"], args["model_id"], args["settings"], args["exports"], out,
                          args["retry_failed"])

    assert not work()
    assert work(model_id="m 2")
    assert work(settings=settings_of(0.25, RegionParams()))
    assert work(settings=settings_of(0.5, RegionParams(threshold_on=0.6)))
    assert work(exports=("midi",))  # an export asked for now that the earlier run did not write
    assert work(record=None)
    assert not work(retry_failed=True)  # only failures are retried
    record_path(out, "take.wav").write_text('{"format": "studio-tagger-batch-record", "status": "do')
    assert read_record(record_path(out, "take.wav")) is None  # a damaged record: the recording is redone


def test_entries_the_walk_could_not_read_are_rows_of_the_summary(tmp_path):
    import csv

    import pyarrow.parquet as pq

    from studio_tagger.batch.summary import write_summary

    record = {"path": "/a/take.wav", "key": "take.wav", "status": "done", "duration": 3.0, "regions": 1,
              "model": {"id": "m 1"}, "labels": ["flute"], "seconds_active": {"flute": 2.5},
              "mean_score": {"flute": 0.7}}
    paths = write_summary(tmp_path, [record], [("/a/locked", "cannot list the folder: permission denied")])
    assert [p.name for p in paths] == ["summary.csv", "summary.parquet"]
    with paths[0].open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["flute: seconds active"] == "2.5" and rows[0]["model"] == "m 1"
    assert (rows[1]["path"], rows[1]["status"], rows[1]["error"], rows[1]["duration"]) == (
        "/a/locked", "unreadable", "cannot list the folder: permission denied", "")
    table = pq.read_table(paths[1])
    assert table.schema.field("duration").type == "double" and table.schema.field("regions").type == "int64"
    assert table.to_pylist()[1]["flute: mean score"] is None


def test_threads_per_worker_can_be_chosen_for_local_workers_only(tmp_path, capsys):
    one_each = PoolBackend(workers=2, device="cpu", threads=1)
    shared = PoolBackend(workers=1, device="cpu")
    try:
        assert one_each.describe() == "2 local worker process(es), 1 thread(s) each"
        assert shared.describe() == f"1 local worker process(es), {os.cpu_count()} thread(s) each"
    finally:
        one_each.close()
        shared.close()
    with pytest.raises(SystemExit) as info:
        main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), "--threads", "0"])
    assert info.value.code == 2
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), "--threads", "1",
                 "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--nthreads" in capsys.readouterr().err


def test_a_file_name_that_is_not_utf8_is_tagged_like_any_other(tmp_path, random_model_path, capsys):
    # A Latin-1 name on a Linux disk ('Crescendo' with é as byte 0xE9): Python holds it with a surrogate.
    # It stopped a whole batch (its record could not be written) and classify called the file unreadable.
    root = tmp_path / "library"
    root.mkdir()
    data = tone_burst(2.5, 16000, 0.2, 2.3)[:, 0]
    try:
        odd = Path(os.fsdecode(bytes(root) + b"/Cr\xe9scendo.wav"))
        sf.write(os.fsencode(odd), data, 16000)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    sf.write(str(root / "plain.wav"), data, 16000)
    model = ["--model", str(random_model_path)]
    assert main(["classify", str(odd), *model, "--csv", str(tmp_path / "c.csv"), "-q"]) == 0
    assert (tmp_path / "c.csv").read_bytes().count(b"Cr\xe9scendo.wav") == 1  # named as the disk names it
    assert main(["analyze", str(odd), *model, "--json", str(tmp_path / "a.json"), "-q"]) == 0
    # JSON stays valid UTF-8 for every reader (the odd byte escaped) and reads back to the very name
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["file"] == str(odd)
    argv = ["batch", str(root), "--out", str(tmp_path / "out"), *model, "--workers", "1", "--export", "audacity"]
    assert main(argv) == 0
    assert "2 recordings (2 tagged now, 0 already done), 0 failed" in capsys.readouterr().out
    assert main(argv) == 0  # its record reads back: nothing is redone
    assert "(0 tagged now, 2 already done)" in capsys.readouterr().out
    record = json.loads((tmp_path / "out" / "Cr\udce9scendo.wav.record.json").read_text(encoding="utf-8"))
    assert record["path"] == str(odd)
    from studio_tagger.jsontext import json_text

    assert json_text({"name": "音.wav"}) == '{"name": "音.wav"}'  # a UTF-8 name stays readable
