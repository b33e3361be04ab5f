"""The streaming analyzer: timing, seams, order, progress, cancel, short files."""

import threading

import numpy as np
import pytest
from audiogen import tone_burst

from studio_tagger.analysis import Analyzer, Cancelled
from studio_tagger.audio import AudioError


@pytest.mark.parametrize("model_fixture", ["energy_model", "energy_clip_model"])
@pytest.mark.parametrize("hop", [0.5, 0.25])
def test_tone_burst_shows_up_where_it_was_placed(request, write_audio, model_fixture, hop):
    path = write_audio("burst.wav", tone_burst(30.0, 44100, 12.0, 14.0, channels=2), 44100)
    result = Analyzer(request.getfixturevalue(model_fixture), device="cpu", hop=hop).analyze(path)
    curve = result.activity[:, 0]
    peak = result.times[np.argmax(curve)]
    assert abs(peak - 13.0) <= hop
    active = result.times[curve > 0.5 * (curve.max() + curve.min())]
    assert abs(active.min() - 12.0) <= 1.0 + hop and abs(active.max() - 14.0) <= 1.0 + hop
    assert curve[result.times < 9.0].max() < curve.max() - 0.3


def test_times_cover_the_file_on_a_regular_grid(write_audio, energy_model):
    path = write_audio("grid.flac", tone_burst(10.3, 48000, 2.0, 3.0), 48000)
    result = Analyzer(energy_model, device="cpu", hop=0.5).analyze(path)
    assert result.duration == pytest.approx(10.3)
    assert len(result.times) == 21 and result.activity.shape == (21, 8)
    np.testing.assert_allclose(np.diff(result.times), 0.5)
    assert result.times[0] == pytest.approx(0.25)
    assert np.all((result.activity >= 0) & (result.activity <= 1))


@pytest.mark.parametrize("model_fixture", ["energy_model", "energy_clip_model", "random_model_path"])
def test_no_seam_where_blocks_meet(request, write_audio, model_fixture):
    rng = np.random.default_rng(5)
    audio = (0.1 * rng.standard_normal((44100 * 70, 2))).astype(np.float32)
    audio[44100 * 20 : 44100 * 31] *= 6  # a loud stretch across block boundaries
    path = write_audio("long.wav", audio, 44100)
    model = request.getfixturevalue(model_fixture)
    reference = Analyzer(model, device="cpu", block_seconds=300.0).analyze(path).activity
    for block in (3.7, 11.0, 30.0):
        analyzer = Analyzer(model, device="cpu", block_seconds=block)
        analyzer.segment_frames = int(block * 100)  # stretches of the model end inside blocks too
        np.testing.assert_allclose(analyzer.analyze(path).activity, reference, atol=1e-5)


def test_chunks_arrive_in_time_order_and_make_up_the_result(write_audio, random_model_path):
    path = write_audio("chunks.wav", tone_burst(75.0, 22050, 10, 20), 22050)
    chunks, fractions = [], []
    result = Analyzer(random_model_path, device="cpu", block_seconds=10.0).analyze(
        path, on_chunk=chunks.append, progress=fractions.append
    )
    assert len(chunks) >= 5
    starts = [c.times[0] for c in chunks]
    assert starts == sorted(starts)
    np.testing.assert_array_equal(np.concatenate([c.times for c in chunks]), result.times)
    np.testing.assert_array_equal(np.concatenate([c.activity for c in chunks]), result.activity)
    assert all(0.0 <= f <= 1.0 for f in fractions) and fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert all(c.done <= c.total == pytest.approx(75.0) for c in chunks)


def test_cancel_stops_and_the_analyzer_stays_usable(write_audio, random_model_path):
    path = write_audio("cancel.wav", tone_burst(120.0, 16000, 5, 6), 16000)
    analyzer = Analyzer(random_model_path, device="cpu", block_seconds=5.0)
    seen = []
    with pytest.raises(Cancelled):
        analyzer.analyze(path, on_chunk=seen.append, should_cancel=lambda: len(seen) >= 2)
    assert 2 <= len(seen) <= 3
    assert len(analyzer.analyze(path).times) == 240


@pytest.mark.parametrize("overlap", [False, True])
def test_a_cancelled_analysis_leaves_its_thread_able_to_take_gradients(write_audio, random_model_path, overlap):
    """The app's worker threads run one job after another: an analysis cancelled there must not leave
    inference mode on for the next job (fitting an adapted head needs gradients)."""
    import torch

    path = write_audio("cancel.wav", tone_burst(120.0, 16000, 5, 6), 16000)
    analyzer = Analyzer(random_model_path, device="cpu", block_seconds=5.0, overlap_decoding=overlap)
    seen = []
    with pytest.raises(Cancelled):
        analyzer.analyze(path, on_chunk=seen.append, should_cancel=lambda: len(seen) >= 2)
    assert not torch.is_inference_mode_enabled() and torch.is_grad_enabled()
    w = torch.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    assert w.grad is not None


def test_file_shorter_than_one_window_gets_one_row_per_hop(write_audio, energy_model):
    path = write_audio("short.wav", tone_burst(0.8, 44100, 0.1, 0.7), 44100)
    result = Analyzer(energy_model, device="cpu").analyze(path)
    assert len(result.times) == 2
    assert result.activity[:, 0].max() > 0.5


def test_too_short_to_analyse_is_a_clear_error(write_audio, energy_model):
    path = write_audio("tiny.wav", np.zeros(100, np.float32), 16000)
    with pytest.raises(AudioError, match="tiny.wav: too short"):
        Analyzer(energy_model, device="cpu").analyze(path)


def test_hop_must_fit_the_window(energy_model):
    with pytest.raises(ValueError, match="hop"):
        Analyzer(energy_model, device="cpu", hop=3.0)
    with pytest.raises(ValueError, match="hop"):
        Analyzer(energy_model, device="cpu", hop=0.001)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model_fixture", ["random_model_path", "energy_clip_model"])
def test_cuda_matches_cpu(request, write_audio, model_fixture):
    path = write_audio("gpu.wav", tone_burst(65.0, 48000, 20, 30, channels=2), 48000)
    model = request.getfixturevalue(model_fixture)
    cpu = Analyzer(model, device="cpu").analyze(path)
    gpu_analyzer = Analyzer(model, device="cuda")
    assert gpu_analyzer.device.type == "cuda"
    gpu = gpu_analyzer.analyze(path)
    assert gpu.device.startswith("cuda")
    np.testing.assert_allclose(gpu.activity, cpu.activity, atol=2e-3)


def test_device_auto_and_explicit_cpu(energy_model):
    import torch

    auto = Analyzer(energy_model, device="auto").device.type
    assert auto == ("cuda" if torch.cuda.is_available() else "cpu")
    assert Analyzer(energy_model, device="cpu").device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            Analyzer(energy_model, device="cuda")


def test_decoding_in_the_calling_thread_gives_the_same_activity(write_audio, random_model_path):
    path = write_audio("inline.wav", tone_burst(40.0, 44100, 10, 20, channels=2), 44100)
    overlapped = Analyzer(random_model_path, device="cpu", block_seconds=7.0).analyze(path)
    inline = Analyzer(random_model_path, device="cpu", block_seconds=7.0, overlap_decoding=False)
    np.testing.assert_array_equal(inline.analyze(path).activity, overlapped.activity)


@pytest.fixture
def log_mel_threads(monkeypatch) -> list[str]:
    """The name of the thread each block's log-mel is computed on, in order (clear it before the run of interest)."""
    from studio_tagger.analysis.frontend import ResilientLogMel

    threads: list[str] = []
    push = ResilientLogMel.push

    def recording_push(self, block):
        threads.append(threading.current_thread().name)
        return push(self, block)

    monkeypatch.setattr(ResilientLogMel, "push", recording_push)
    return threads


def test_log_mel_moves_to_the_model_thread_without_changing_activity(write_audio, random_model_path, monkeypatch,
                                                                      log_mel_threads):
    """Where decoding is the slower side (a FLAC), the model thread takes the log-mel over at a block's
    edge: the activity is what one thread computes."""
    from studio_tagger.analysis import analyzer as analyzer_module

    path = write_audio("handover.flac", tone_burst(60.0, 44100, 10, 40, channels=2), 44100)
    inline = Analyzer(random_model_path, device="cpu", block_seconds=7.0, overlap_decoding=False).analyze(path)
    log_mel_threads.clear()
    asked = []
    monkeypatch.setattr(analyzer_module.Pace, "decoder_is_slower", lambda self: asked.append(1) or len(asked) > 3)
    threads = log_mel_threads
    handed = Analyzer(random_model_path, device="cpu", block_seconds=7.0).analyze(path)
    assert threads[:3] == ["prefetch"] * 3 and set(threads[3:]) == {threading.main_thread().name}
    np.testing.assert_allclose(handed.activity, inline.activity, atol=1e-6)


def test_pace_hands_the_log_mel_over_only_when_decoding_is_slower():
    """The model thread waits d + l - m per item; a wait longer than the log-mel l means decoding d is
    slower than the model m. Medians of the last five items: one slow item does not decide."""
    from studio_tagger.analysis.analyzer import Pace

    pace = Pace()
    for seconds in (5.0, 0.2, 0.2, 0.2, 0.2, 0.2):  # the first of each side (opening, warming up) is left out
        pace.log_mel(1000, seconds)
    for seconds in (9.0, 0.7, 0.1, 0.1, 0.1):
        pace.waited(1000, seconds)
    assert not pace.decoder_is_slower()  # four measured waits are not enough
    pace.waited(1000, 0.1)
    assert not pace.decoder_is_slower()  # the pipeline filling (0.7) is one slow item among short waits
    for _ in range(3):
        pace.waited(1000, 0.5)
    assert pace.decoder_is_slower()  # most recent waits outlast the log-mel: decoding is the slower side
    pace.waited(0, 30.0)  # an empty item says nothing
    assert pace.decoder_is_slower()


@pytest.mark.parametrize("name", ["ahead.wav", "ahead.flac"])
def test_decoding_started_ahead_gives_the_same_activity(write_audio, random_model_path, monkeypatch, name,
                                                        log_mel_threads):
    from studio_tagger.audio.prefetch import DecodeAhead

    path = write_audio(name, tone_burst(40.0, 44100, 10, 20, channels=2), 44100)
    analyzer = Analyzer(random_model_path, device="cpu", block_seconds=11.0)
    reference = analyzer.analyze(path).activity
    threads = log_mel_threads
    threads.clear()
    ahead = DecodeAhead(path, 16000, block_seconds=7.0, depth=2)
    np.testing.assert_allclose(analyzer.analyze(path, decoded=ahead).activity, reference, atol=1e-5)
    assert not ahead._thread.is_alive()
    # A FLAC decoded ahead keeps its own thread busy: the log-mel is the model thread's from the start.
    assert len(threads) == 6 and (set(threads) == {threading.main_thread().name}) == name.endswith(".flac")
    monkeypatch.undo()
    wrong_rate = DecodeAhead(path, 22050)  # not what this model reads: set aside, the file decoded again
    np.testing.assert_allclose(analyzer.analyze(path, decoded=wrong_rate).activity, reference, atol=1e-5)
    assert not wrong_rate._thread.is_alive()
    missing = path.with_name("gone.wav")
    gone = DecodeAhead(missing, 16000)
    with pytest.raises(AudioError, match="no such file"):
        analyzer.analyze(missing, decoded=gone)
    assert not gone._thread.is_alive()


def test_a_recording_of_one_block_is_decoded_in_line(write_audio, random_model_path, monkeypatch):
    """A helper thread per one-shot sample cost a sample library a third of its time: one block has nothing
    to overlap. A longer recording still decodes on the helper thread."""
    import studio_tagger.analysis.analyzer as analyzer_module

    started = []
    real = analyzer_module.Prefetch
    monkeypatch.setattr(analyzer_module, "Prefetch", lambda *a, **k: started.append(1) or real(*a, **k))
    analyzer = Analyzer(random_model_path, device="cpu", block_seconds=2.0)
    assert analyzer.overlap_decoding
    one_shot = write_audio("shot.wav", tone_burst(1.5, 16000, 0.1, 1.4), 16000)
    take = write_audio("take.wav", tone_burst(5.0, 16000, 0.1, 4.9), 16000)
    in_line = analyzer.analyze(one_shot)
    assert started == []
    analyzer.analyze(take)
    assert started == [1]
    analyzer.overlap_decoding = False
    np.testing.assert_array_equal(analyzer.analyze(one_shot).activity, in_line.activity)
