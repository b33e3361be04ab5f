"""A corpus of awkward inputs, generated on the fly, shared by the CLI and app reliability tests.

Each `Case` makes one file (or a missing path, or a folder) under a given folder and says what must
happen: ``reason`` is the exact one-line reason after ``<path>: `` for input that cannot be analysed,
or None for unusual but valid audio, which must be analysed like any other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    make: Callable[[Path], None]
    reason: str | None  # None: valid audio

    def build(self, folder: Path) -> Path:
        path = folder / self.name
        self.make(path)
        return path


def _tone(seconds: float, rate: int, channels: int = 1, level: float = 0.4) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    x = level * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def _audio(data: np.ndarray | Callable[[], np.ndarray], rate: int, **kwargs) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        sf.write(str(path), data() if callable(data) else data, rate, **kwargs)

    return make


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _truncated_data(path: Path) -> None:
    sf.write(str(path), _tone(3.0, 16000), 16000, subtype="PCM_16")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2 + 1])  # half the samples and an odd byte: a recorder that died


def _unreadable(path: Path) -> None:
    sf.write(str(path), _tone(1.0, 16000), 16000)
    path.chmod(0)


def _nan_inf() -> np.ndarray:
    x = _tone(3.0, 44100)
    x[1000:5000] = np.nan
    x[7000] = np.inf
    x[9000] = -np.inf
    return x


def _clipped() -> np.ndarray:
    return np.clip(8.0 * _tone(3.0, 44100, 2), -1.0, 1.0)


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(3).bytes(50_000))


TOO_SHORT = "too short to analyse (0.000 s; needs at least 0.025 s)"

BAD = [
    Case("missing", "missing.wav", lambda p: None, "no such file"),
    Case("folder", "folder.wav", lambda p: p.mkdir(), "is a folder, not an audio file"),
    Case("unreadable", "locked.wav", _unreadable, "permission denied"),
    Case("fifo", "pipe.wav", lambda p: os.mkfifo(p), "not a regular file"),
    Case("empty", "empty.wav", _bytes(b""), "file is empty"),
    Case("zero-samples", "zero.wav", _audio(np.zeros((0, 1), np.float32), 16000), TOO_SHORT),
    Case("one-sample", "one.wav", _audio(np.full((1, 1), 0.5, np.float32), 16000), TOO_SHORT),
    Case("truncated-header", "head.wav", _bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00"),
         "not a readable audio file (Error in WAV/W64/RF64 file. Short 'fmt ' chunk)"),
    Case("text-named-wav", "notes.wav", _bytes("Take 3, mic 2 – check levels.\n".encode() * 40),
         "not a readable audio file (it looks like a text file)"),
    Case("png-named-wav", "picture.wav", _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)),
         "not a readable audio file (it looks like a PNG image)"),
    Case("random-bytes", "noise.bin", _random_bytes, "not a readable audio file (Format not recognised)"),
    Case("broken-link", "link.wav", lambda p: p.symlink_to(p.with_name("moved-away.wav")), "a broken link"),
]

VALID = [
    Case("truncated-data", "cut.wav", _truncated_data, None),
    Case("40-ms", "blip.wav", _audio(_tone(0.04, 44100), 44100), None),
    Case("shorter-than-a-window", "short.wav", _audio(_tone(0.6, 44100), 44100), None),
    Case("silence", "silence.wav", _audio(np.zeros((3 * 48000, 2), np.float32), 48000), None),
    Case("full-scale-clipping", "clipped.wav", _audio(_clipped, 44100, subtype="PCM_16"), None),
    Case("dc-offset", "dc.wav", _audio(lambda: 0.5 + _tone(3.0, 44100, level=0.2), 44100), None),
    Case("nan-inf-float", "nan.wav", _audio(_nan_inf, 44100, subtype="FLOAT"), None),
    Case("8-khz", "phone.wav", _audio(_tone(3.0, 8000), 8000), None),
    Case("192-khz", "hires.wav", _audio(_tone(3.0, 192000, 2), 192000, subtype="PCM_24"), None),
    Case("8-channels", "surround.wav", _audio(_tone(3.0, 48000, 8), 48000), None),
    Case("int-8", "u8.wav", _audio(_tone(3.0, 22050), 22050, subtype="PCM_U8"), None),
    Case("int-16", "i16.wav", _audio(_tone(3.0, 22050), 22050, subtype="PCM_16"), None),
    Case("int-24", "i24.wav", _audio(_tone(3.0, 22050), 22050, subtype="PCM_24"), None),
    Case("int-32", "i32.wav", _audio(_tone(3.0, 22050), 22050, subtype="PCM_32"), None),
    Case("float-32", "f32.wav", _audio(_tone(3.0, 22050), 22050, subtype="FLOAT"), None),
    Case("float-64", "f64.wav", _audio(_tone(3.0, 22050), 22050, subtype="DOUBLE"), None),
    Case("rf64", "take.rf64", _audio(_tone(3.0, 48000, 2), 48000, format="RF64", subtype="PCM_24"), None),
    Case("w64", "take.w64", _audio(_tone(3.0, 48000, 2), 48000, format="W64", subtype="FLOAT"), None),
    Case("wav-named-mp3", "mislabelled.mp3", _audio(_tone(3.0, 44100), 44100, format="WAV"), None),
    Case("flac-named-wav", "mislabelled.wav", _audio(_tone(3.0, 44100), 44100, format="FLAC"), None),
    Case("spaces-and-non-ascii", "Prise 3 – Ölçü ñandú 録音.flac", _audio(_tone(3.0, 44100, 2), 44100), None),
]

ALL = BAD + VALID


def honour_permissions(monkeypatch) -> None:
    """Root reads any file; make the reader's permission check see the mode bits as a user would."""
    if os.geteuid() != 0:
        return
    real = os.access

    def access(path, mode, **kwargs) -> bool:
        if mode & os.R_OK and not os.stat(path).st_mode & 0o444:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
