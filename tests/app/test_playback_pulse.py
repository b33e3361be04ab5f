"""Playback through a real audio stack: sounddevice -> PortAudio -> ALSA's pulse plugin -> a private
PulseAudio server whose only sink is a null sink. The sink's monitor is recorded, and what arrived is
compared with the recording: the right stretch, at its level, and nothing else.

Skipped, with the reason, where PulseAudio or ALSA's pulse plugin is missing or the server cannot start
(Debian packages: pulseaudio, pulseaudio-utils, libasound2-plugins; the Makefile installs them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from studio_tagger.app.files import Files
from studio_tagger.app.main_window import MainWindow

RATE = 44100
SINK = "studio_tagger_test"
START_WAIT_S = 15.0
EDGE_S = 0.025  # s lost at the ends of a played stretch by the ALSA -> PulseAudio path (measured 9 and 30 ms)  # how long the server may take to open its socket before the tests are skipped


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    """A private PulseAudio server (own runtime folder and socket, no D-Bus, no autospawn) with a null
    sink; yields its address. Running as root needs no --system: the server warns and carries on."""
    server_bin, record_bin = shutil.which("pulseaudio"), shutil.which("parecord")
    if server_bin is None or record_bin is None:
        pytest.skip("PulseAudio is not installed (Debian: pulseaudio, pulseaudio-utils, libasound2-plugins)")
    home = tmp_path_factory.mktemp("pulse")
    socket = home / "native"
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "PULSE_RUNTIME_PATH": str(home),
           "XDG_CONFIG_HOME": str(home)}
    server = subprocess.Popen(
        [server_bin, "--daemonize=no", "--exit-idle-time=-1", "-n", "--use-pid-file=no", "--disable-shm=yes",
         "--log-target=stderr", f"--load=module-null-sink sink_name={SINK} rate={RATE} channels=2",
         f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + START_WAIT_S
    while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if not socket.exists():
        server.kill()
        _, err = server.communicate(timeout=10)
        pytest.skip(f"the PulseAudio server did not start: {' '.join(err.split()[-30:])}")
    try:
        yield f"unix:{socket}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def sound(pulse, monkeypatch):
    """PortAudio re-initialised to reach the server through ALSA's pulse device (the default output
    for the test); back to how it was afterwards."""
    import sounddevice as sd

    monkeypatch.setenv("PULSE_SERVER", pulse)
    sd._terminate()  # PortAudio lists devices once, when it starts
    sd._initialize()
    names = [d["name"] for d in sd.query_devices()]
    before = sd.default.device
    try:
        if "pulse" not in names:
            pytest.skip(f"ALSA has no 'pulse' device (libasound2-plugins is missing); devices: {names}")
        sd.default.device = names.index("pulse")
        yield pulse
    finally:
        sd.default.device = before
        monkeypatch.delenv("PULSE_SERVER")
        sd._terminate()
        sd._initialize()


class Recorder:
    """Records the null sink's monitor as raw float32 stereo until stopped."""

    def __init__(self, server: str, path: Path) -> None:
        self.path = path
        self.proc = subprocess.Popen(
            ["parecord", f"--server={server}", f"--device={SINK}.monitor", "--raw", "--format=float32le",
             f"--rate={RATE}", "--channels=2", "--latency-msec=20", str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # the monitor delivers silence from the start: once some has arrived, nothing played is missed
        deadline = time.monotonic() + START_WAIT_S
        while (not path.exists() or path.stat().st_size < 4096) and self.proc.poll() is None:
            assert time.monotonic() < deadline, "parecord did not start recording"
            time.sleep(0.01)

    def stop(self) -> np.ndarray:
        """Mono (the left channel) of what the sink played."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=10)
        data = np.fromfile(self.path, np.float32)
        assert len(data), f"parecord recorded nothing: {err}"
        return data[: len(data) // 2 * 2].reshape(-1, 2)[:, 0]


@pytest.fixture
def noise_take(tmp_path) -> Path:
    """40 s of seeded noise: any stretch of it is unlike every other, so where a recorded piece came from
    is told by correlation alone."""
    x = 0.25 * np.random.default_rng(7).uniform(-1.0, 1.0, 40 * RATE)
    path = tmp_path / "noise.wav"
    sf.write(path, x.astype(np.float32), RATE, subtype="FLOAT")
    return path


def _segments(x: np.ndarray, gap_s: float = 0.1) -> list[tuple[int, int]]:
    """[start, end) sample ranges where something played, split at silences longer than ``gap_s``."""
    loud = np.flatnonzero(np.abs(x) > 1e-3)
    if not len(loud):
        return []
    breaks = np.flatnonzero(np.diff(loud) > gap_s * RATE)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _source_offset(piece: np.ndarray, source: np.ndarray, near: float, search_s: float = 0.5) -> float:
    """Where in ``source`` (seconds) ``piece`` starts, searched around ``near``; asserts it is a match."""
    lo = max(0, int((near - search_s) * RATE))
    window = source[lo: lo + len(piece) + int(2 * search_s * RATE)]
    corr = np.correlate(window, piece, mode="valid")
    best = int(np.argmax(corr))
    match = window[best: best + len(piece)]
    similarity = float(np.dot(match, piece) / (np.linalg.norm(match) * np.linalg.norm(piece)))
    assert similarity > 0.99, f"the sink received something else (similarity {similarity:.3f})"
    return (lo + best) / RATE


def _level_db(piece: np.ndarray, reference: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(piece**2)) / np.sqrt(np.mean(reference**2))))


@pytest.fixture
def player_window(qtbot, settings, sound, monkeypatch, noise_take):
    monkeypatch.setattr(Files, "confirm_discard", lambda self: True)
    w = MainWindow(settings, output=None, analysis_block_seconds=5.0)  # the real sounddevice output
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.analysisFinished, timeout=60_000):
        assert w.open_path(noise_take)
    yield w
    w.shutdown()


def test_play_selection_sends_that_stretch_at_its_level(qtbot, player_window, sound, noise_take, tmp_path) -> None:
    w = player_window
    source, _ = sf.read(noise_take, dtype="float32")
    recorder = Recorder(sound, tmp_path / "sink.raw")
    w.doc.set_time_selection((5.0, 8.0), "flute")
    qtbot.keyClick(w, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert w.player.playing, w.last_error
    qtbot.waitUntil(lambda: not w.player.playing, timeout=30_000)  # it stops by itself at the end
    qtbot.wait(300)  # the sink's last buffers reach the monitor
    received = recorder.stop()
    segments = _segments(received)
    assert len(segments) == 1
    start, end = segments[0]
    piece = received[start:end]
    # The selection, no more, no less, in one piece. ALSA's pulse plugin loses ~10 ms as a stream starts
    # and up to ~30 ms as it drains; the tolerances leave room for that, not for a wrong stretch.
    assert abs(len(piece) / RATE - 3.0) < EDGE_S * 2
    assert abs(_source_offset(piece, source, 5.0) - 5.0) < EDGE_S
    assert abs(_level_db(piece, source[5 * RATE: 8 * RATE])) < 0.5  # at the recording's level
    assert 7.9 <= w.doc.playhead <= 8.0


def test_play_pause_seek_and_close_while_playing(qtbot, player_window, sound, noise_take, tmp_path) -> None:
    w = player_window
    source, _ = sf.read(noise_take, dtype="float32")
    recorder = Recorder(sound, tmp_path / "sink.raw")
    w.doc.set_playhead(10.0)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.player.playing, w.last_error
    qtbot.waitUntil(lambda: w.doc.playhead > 10.8, timeout=30_000)
    qtbot.keyClick(w, Qt.Key.Key_Space)  # pause
    assert not w.player.playing
    paused_at = w.doc.playhead
    qtbot.wait(400)  # silence on the sink while paused
    w.doc.set_playhead(20.0)  # seek, and play on from there
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.doc.playhead > 20.8, timeout=30_000)
    assert w.close()  # closing while playing stops the stream
    assert not w.player.playing and w.player.output.position() is None
    qtbot.wait(300)
    received = recorder.stop()
    segments = _segments(received)
    assert len(segments) == 2, segments
    (a0, a1), (b0, b1) = segments
    first, second = received[a0:a1], received[b0:b1]
    assert abs(_source_offset(first, source, 10.0) - 10.0) < EDGE_S
    assert abs(_source_offset(second, source, 20.0) - 20.0) < EDGE_S
    # what was heard before the pause is what the playhead went through (up to the output's buffering)
    assert abs(len(first) / RATE - (paused_at - 10.0)) < 0.3
    assert abs(_level_db(first, source[10 * RATE: 10 * RATE + len(first)])) < 0.5


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="needs ffmpeg")
def test_a_recording_read_through_ffmpeg_plays_the_stretch_asked_for(qtbot, player_window, sound, noise_take,
                                                                     tmp_path) -> None:
    """An .m4a (ALAC: lossless, so the sink's samples can be matched) plays through ffmpeg's stream, started
    where the selection starts."""
    w = player_window
    m4a = tmp_path / "noise.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(noise_take), "-c:a", "alac", "-sample_fmt", "s32p",
                    str(m4a)], check=True, timeout=120)
    with qtbot.waitSignal(w.analysisFinished, timeout=60_000):
        assert w.open_path(m4a)
    source, _ = sf.read(noise_take, dtype="float32")
    recorder = Recorder(sound, tmp_path / "sink.raw")
    w.doc.set_time_selection((12.0, 14.0), "flute")
    qtbot.keyClick(w, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert w.player.playing, w.last_error
    qtbot.waitUntil(lambda: not w.player.playing, timeout=30_000)
    qtbot.wait(300)
    received = recorder.stop()
    segments = _segments(received)
    assert len(segments) == 1
    start, end = segments[0]
    assert abs((end - start) / RATE - 2.0) < EDGE_S * 2
    assert abs(_source_offset(received[start:end], source, 12.0) - 12.0) < EDGE_S
