"""Playback through sounddevice, behind a small output interface so that tests can use a fake one.

sounddevice (and PortAudio under it) is imported only when playback starts: a machine without a
sound card, or without PortAudio, gets a clear message and the rest of the app works as before.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..audio import AudioError, open_audio

POLL_MS = 30
# Seconds of audio queued ahead: the callback runs in Python and waits for the GIL while the GUI thread
# paints; with PortAudio's default ("high": tens of ms) through a sound server, a busy repaint left the
# queue empty and the listener heard gaps. The playhead subtracts it, so it still marks what is heard.
OUTPUT_LATENCY_S = 0.25


class PlaybackError(Exception):
    """Playback cannot start; one line for the user."""


class AudioOutput(Protocol):
    def start(self, path: Path, start: float, stop: float | None) -> None:
        """Begin playing [start, stop) of the file; raises PlaybackError."""

    def stop(self) -> None: ...

    def position(self) -> float | None:
        """Seconds into the file now sounding; None once the stretch has finished."""


class SoundDeviceOutput:
    """Streams the file from disk through the default output device."""

    def __init__(self) -> None:
        self._stream = None
        self._file = None  # the open recording (a SoundFile, or ffmpeg's stream)
        self._lock = threading.Lock()
        self._played = 0
        self._length = 0  # frames of the stretch being played
        self._start = 0.0
        self._finished = threading.Event()

    def start(self, path: Path, start: float, stop: float | None) -> None:
        self.stop()
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:
            raise PlaybackError(f"audio playback is unavailable: {exc}") from exc
        try:
            device = sd.query_devices(kind="output")
        except Exception as exc:  # PortAudio raises its own error types when there is no device
            raise PlaybackError("no audio output device found; playback is off (everything else works)") from exc
        try:
            f = open_audio(path)  # libsndfile's formats, or ffmpeg's stream for an .m4a or a video
        except AudioError as exc:
            raise PlaybackError(str(exc)) from exc
        first = int(round(start * f.samplerate))
        last = f.frames if stop is None else min(f.frames, int(round(stop * f.samplerate)))
        f.seek(first)
        out_channels = max(1, min(2, int(device.get("max_output_channels", 2) or 2)))
        length = max(0, last - first)
        remaining = [length]
        # After the stretch, as much silence as the output queues: ending the stream at once dropped the
        # queued end of the stretch (the last quarter second of a region never sounded).
        silence = [0]

        def callback(outdata: np.ndarray, frames: int, _time, _status) -> None:
            n = min(frames, remaining[0])
            data = f.read(n, dtype="float32", always_2d=True) if n else np.zeros((0, f.channels), np.float32)
            if data.shape[1] != out_channels:  # mono to both speakers, or many channels folded to stereo
                data = np.repeat(data.mean(axis=1, keepdims=True), out_channels, axis=1)
            outdata[: len(data)] = data
            outdata[len(data):] = 0.0
            remaining[0] -= len(data)
            silence[0] -= frames - len(data)
            with self._lock:
                self._played += frames
            if remaining[0] == 0 and silence[0] <= 0:
                raise sd.CallbackStop

        self._finished.clear()
        self._played, self._start, self._file, self._length = 0, first / f.samplerate, f, length
        try:
            self._stream = sd.OutputStream(samplerate=f.samplerate, channels=out_channels, dtype="float32",
                                           latency=OUTPUT_LATENCY_S, callback=callback,
                                           finished_callback=self._finished.set)
            silence[0] = int(np.ceil(float(self._stream.latency) * f.samplerate))
            self._stream.start()
        except Exception as exc:
            f.close()
            self._stream = self._file = None
            raise PlaybackError(f"cannot open the audio output: {' '.join(str(exc).split())}") from exc

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            finally:
                self._stream = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def position(self) -> float | None:
        if self._stream is None or self._finished.is_set():
            return None
        with self._lock:
            played = self._played
        rate = self._file.samplerate
        heard = min(played / rate - float(self._stream.latency or 0.0), self._length / rate)
        return self._start + max(0.0, heard)


class Player(QObject):
    """Play/pause from the playhead; reports the position while playing."""

    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    error = Signal(str)

    def __init__(self, output: AudioOutput | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.output: AudioOutput = output if output is not None else SoundDeviceOutput()
        self.playing = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    def play(self, path: Path, start: float, stop: float | None = None) -> bool:
        """Start playing; on failure emits ``error`` with the reason and returns False."""
        self.stop()
        try:
            self.output.start(path, start, stop)
        except (PlaybackError, OSError, RuntimeError) as exc:
            self.error.emit(str(exc))
            return False
        self.playing = True
        self._timer.start()
        self.playingChanged.emit(True)
        return True

    def stop(self) -> None:
        if self.playing:
            self._timer.stop()
            self.output.stop()
            self.playing = False
            self.playingChanged.emit(False)

    def _poll(self) -> None:
        position = self.output.position()
        if position is None:
            self.stop()
        else:
            self.positionChanged.emit(position)
