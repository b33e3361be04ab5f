"""The analyzer under faults: GPU out of memory (simulated), and cancelling at random moments."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch
from audiogen import tone_burst
from faults import wrapped as _wrapped

from studio_tagger.analysis import Analyzer, Cancelled
from studio_tagger.models import LoadedModel, load_model


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    import soundfile as sf

    path = tmp_path_factory.mktemp("faults") / "take.wav"
    sf.write(str(path), tone_burst(40.0, 16000, 12.0, 20.0), 16000)
    return path


@pytest.fixture(scope="module")
def random_model(random_model_path) -> LoadedModel:
    return load_model(random_model_path)


def test_out_of_memory_retries_with_shorter_stretches(recording, random_model):
    reference = Analyzer(random_model, device="cpu").analyze(recording)
    assert reference.extra["notices"] == []
    model = _wrapped(random_model, limit=1000, axis=-2)
    notices: list[str] = []
    result = Analyzer(model, device="cpu").analyze(recording, notice=notices.append)
    np.testing.assert_allclose(result.activity, reference.activity, atol=1e-5)
    assert notices == result.extra["notices"]
    assert notices == ["GPU out of memory; retrying with stretches of 14.96 s",
                       "GPU out of memory; retrying with stretches of 7.44 s"]
    assert max(model.module.calls[-3:]) <= 1000  # later stretches stay short


def test_out_of_memory_at_the_floor_continues_on_the_cpu(recording, random_model):
    reference = Analyzer(random_model, device="cpu").analyze(recording)
    model = _wrapped(random_model, limit=100, axis=-2)
    result = Analyzer(model, device="cpu").analyze(recording)
    np.testing.assert_allclose(result.activity, reference.activity, atol=1e-5)
    notices = result.extra["notices"]
    assert notices[-1] == "GPU out of memory even in small pieces; continuing on the CPU (slower)"
    assert len(notices) == 1 + sum("retrying" in n for n in notices)


def test_clip_models_halve_the_batch_then_fall_back(recording, energy_clip_model):
    reference = Analyzer(energy_clip_model, device="cpu").analyze(recording)
    halved = Analyzer(_wrapped(energy_clip_model, limit=5, axis=0), device="cpu").analyze(recording)
    np.testing.assert_allclose(halved.activity, reference.activity, atol=1e-6)
    assert halved.extra["notices"] == [f"GPU out of memory; retrying with batches of {n} windows" for n in (16, 8, 4)]
    cpu = Analyzer(_wrapped(energy_clip_model, limit=0, axis=0), device="cpu").analyze(recording)
    np.testing.assert_allclose(cpu.activity, reference.activity, atol=1e-6)
    assert cpu.extra["notices"][-1].endswith("continuing on the CPU (slower)")


def test_the_cli_prints_each_notice_as_one_line(recording, random_model, monkeypatch, capsys, tmp_path):
    from studio_tagger import cli
    from studio_tagger.analysis import analyzer

    monkeypatch.setattr(analyzer, "load_model", lambda path: _wrapped(random_model, limit=100, axis=-2))
    out = tmp_path / "a.json"
    assert cli.main(["analyze", str(recording), "--device", "cpu", "--json", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith(f"studio-tagger: notice: {recording}: GPU out of memory") for line in err)
    assert err[-1].endswith("continuing on the CPU (slower)") and out.exists()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _ask(asked: list[float], stop: threading.Event) -> None:
    asked.append(time.monotonic())
    stop.set()


def test_cancel_at_random_moments_a_hundred_times(recording, random_model):
    """Cancel from another thread (as the app does) at seeded random moments: the run stops within a
    second, leaves no decoding thread or open file behind, and the next run is exact."""
    analyzer = Analyzer(random_model, device="cpu", block_seconds=1.0)
    reference = analyzer.analyze(recording)
    started = time.monotonic()
    analyzer.analyze(recording)
    full = time.monotonic() - started
    rng = np.random.default_rng(6)
    fds = _open_fds()
    cancelled = 0
    for _ in range(100):
        stop = threading.Event()
        asked: list[float] = []
        timer = threading.Timer(rng.uniform(0.0, 1.1 * full), _ask, args=(asked, stop))
        timer.start()
        try:
            result = analyzer.analyze(recording, should_cancel=stop.is_set)
        except Cancelled:
            assert time.monotonic() - asked[0] < 1.0
            cancelled += 1
        else:
            np.testing.assert_array_equal(result.activity, reference.activity)
        timer.join()
        assert not [t for t in threading.enumerate() if t.name == "prefetch"]
    assert cancelled >= 50  # most requests land while the analysis runs
    # none left open (one an earlier test left to the garbage collector may close meanwhile)
    assert _open_fds() <= fds
    np.testing.assert_array_equal(analyzer.analyze(recording).activity, reference.activity)


def test_a_recording_of_a_few_frames_is_padded_for_the_model(write_audio, random_model):
    """The CNN's pooling needs more frames than 40 ms give; the analyzer pads with silence, and the
    result does not depend on how many blocks the file came in."""
    path = write_audio("blip.wav", tone_burst(0.04, 44100, 0.0, 0.04), 44100)
    result = Analyzer(random_model, device="cpu").analyze(path)
    assert result.activity.shape == (1, 8) and np.isfinite(result.activity).all()
    again = Analyzer(random_model, device="cpu", block_seconds=0.01).analyze(path)
    np.testing.assert_array_equal(again.activity, result.activity)


def test_front_end_out_of_memory_cuts_blocks_then_moves_to_the_cpu(recording, random_model):
    from faults import LogMelOutOfMemoryAbove

    reference = Analyzer(random_model, device="cpu").analyze(recording)
    analyzer = Analyzer(random_model, device="cpu")
    analyzer.logmel = LogMelOutOfMemoryAbove(random_model.features, limit=10 * 16000)
    result = analyzer.analyze(recording)
    np.testing.assert_array_equal(result.activity, reference.activity)
    assert result.extra["notices"] == ["GPU out of memory; retrying with audio blocks of 15 s",
                                       "GPU out of memory; retrying with audio blocks of 7.5 s"]
    analyzer.logmel = LogMelOutOfMemoryAbove(random_model.features, limit=1000)
    result = analyzer.analyze(recording)
    np.testing.assert_array_equal(result.activity, reference.activity)
    assert result.extra["notices"][-1] == ("GPU out of memory even for short audio blocks; computing features "
                                           "on the CPU")


def test_chunks_hold_only_their_own_rows(recording, random_model):
    """Each chunk's arrays own their memory: a view of a file-long array per chunk made memory grow with
    the square of the length (10 hours took 1 GB instead of 350 MB)."""
    chunks = []
    Analyzer(random_model, device="cpu", block_seconds=2.0).analyze(recording, on_chunk=chunks.append)
    assert len(chunks) >= 10
    for c in chunks:
        for array in (c.times, c.activity):
            assert array.base is None or array.base.nbytes <= 2 * array.nbytes


def test_the_cpu_copy_is_made_from_the_model_as_loaded(random_model):
    """The analyzer's module is already prepared for its device (BatchNorm folded); the CPU fallback
    copies the loaded model instead, and gives the same scores."""
    from studio_tagger.analysis.device import place_module
    from studio_tagger.analysis.windows import ModelRunner

    cpu = torch.device("cpu")
    prepared = place_module(random_model.module, cpu)
    notices: list[str] = []
    runner = ModelRunner(prepared, cpu, notices.append, cpu_source=random_model.module)
    x = torch.randn(1, 300, 128)
    with torch.inference_mode():
        before = runner(x)
        runner.out_of_memory(None)
        after = runner(x)
    assert notices == ["GPU out of memory even in small pieces; continuing on the CPU (slower)"]
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    with pytest.raises(torch.OutOfMemoryError):
        runner.out_of_memory(None)  # out of memory on the CPU as well: nowhere left to go
