"""Rendering MIDI with the Sonivox EAS synthesizer (Debian ``libsonivox3``), for evaluation only.

EAS is the General MIDI wavetable synthesizer of Android's early years: its own small set of recorded
samples, shared with none of the SoundFonts, FreePats or the real sources, so a second independent sampled
family to test on. The project's rule keeps it out of training and tuning (`soundfonts.EVALUATION_ONLY`).

Debian ships the library only, no command-line player, so it is driven through ctypes: the MIDI file is
handed over from memory through EAS's file-locator callbacks and rendered buffer by buffer until the
stream stops. EAS renders 16-bit stereo at its own rate (22,050 Hz in Debian's build).
"""

from __future__ import annotations

import ctypes
import sysconfig
from functools import cache
from pathlib import Path

import numpy as np

LIBRARY = Path("/usr/lib") / (sysconfig.get_config_var("MULTIARCH") or "") / "libsonivox.so.3"
"""Where Debian puts the library: the bank's path, so a machine without it skips the bank as one without a
SoundFont file does."""

PRESETS: dict[tuple[int, int], str] = {**{(0, p): f"EAS program {p}" for p in range(128)}, (128, 0): "EAS drums"}
"""EAS's built-in set plays every General MIDI program and the GM drum kit (bank 128, as SoundFonts keep kits)."""

_STATE_STOPPED = 4  # E_EAS_STATE: READY, PLAY, STOPPING, PAUSING, STOPPED, PAUSED, OPEN, ERROR, EMPTY
_STATE_ERROR = 7

# EAS's file locator: an opaque handle and two callbacks (read at an offset; total size)
_READ_AT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)
_SIZE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _File(ctypes.Structure):
    _fields_ = [("handle", ctypes.c_void_p), ("readAt", _READ_AT), ("size", _SIZE)]


class _Config(ctypes.Structure):
    _fields_ = [("libVersion", ctypes.c_ulong), ("checkedVersion", ctypes.c_int), ("maxVoices", ctypes.c_long),
                ("numChannels", ctypes.c_long), ("sampleRate", ctypes.c_long), ("mixBufferSize", ctypes.c_long),
                ("filterEnabled", ctypes.c_int), ("buildTimeStamp", ctypes.c_ulong), ("buildGUID", ctypes.c_char_p)]


@cache
def _library() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(str(LIBRARY) if LIBRARY.exists() else LIBRARY.name)
    except OSError:
        raise RuntimeError("the Sonivox bank needs the EAS library (Debian package libsonivox3)") from None
    handle, result = ctypes.c_void_p, ctypes.c_long
    lib.EAS_Config.restype = ctypes.POINTER(_Config)
    lib.EAS_Init.argtypes, lib.EAS_Init.restype = [ctypes.POINTER(handle)], result
    lib.EAS_Shutdown.argtypes, lib.EAS_Shutdown.restype = [handle], result
    lib.EAS_OpenFile.argtypes = [handle, ctypes.POINTER(_File), ctypes.POINTER(handle)]
    lib.EAS_OpenFile.restype = result
    lib.EAS_Prepare.argtypes, lib.EAS_Prepare.restype = [handle, handle], result
    lib.EAS_Render.argtypes = [handle, ctypes.c_void_p, ctypes.c_long, ctypes.POINTER(ctypes.c_long)]
    lib.EAS_Render.restype = result
    lib.EAS_State.argtypes, lib.EAS_State.restype = [handle, handle, ctypes.POINTER(ctypes.c_long)], result
    lib.EAS_CloseFile.argtypes, lib.EAS_CloseFile.restype = [handle, handle], result
    return lib


def sample_rate() -> int:
    """The rate EAS renders at."""
    return int(_library().EAS_Config().contents.sampleRate)


def render_midi(midi: bytes, frames: int) -> np.ndarray:
    """Mono float32 audio (in [-1, 1], at `sample_rate`) of a standard MIDI file, ``frames`` samples at most:
    rendering stops there or when the file has played out, whichever comes first."""
    lib = _library()
    config = lib.EAS_Config().contents

    def read_at(_handle, buffer, offset, size):  # EAS reads the file in pieces, wherever it likes
        piece = midi[offset:offset + size]
        ctypes.memmove(buffer, piece, len(piece))
        return len(piece)

    # the callbacks must outlive the stream: kept in locals until the file is closed
    read_cb, size_cb = _READ_AT(read_at), _SIZE(lambda _handle: len(midi))
    locator = _File(ctypes.c_void_p(1), read_cb, size_cb)  # a null handle reads as "no file" to EAS
    data, stream = ctypes.c_void_p(), ctypes.c_void_p()
    _check(lib.EAS_Init(ctypes.byref(data)), "EAS_Init")
    try:
        _check(lib.EAS_OpenFile(data, ctypes.byref(locator), ctypes.byref(stream)), "EAS_OpenFile")
        try:
            _check(lib.EAS_Prepare(data, stream), "EAS_Prepare")
            return _render(lib, data, stream, config, frames)
        finally:
            lib.EAS_CloseFile(data, stream)
    finally:
        lib.EAS_Shutdown(data)


def _render(lib: ctypes.CDLL, data: ctypes.c_void_p, stream: ctypes.c_void_p, config: _Config,
            frames: int) -> np.ndarray:
    channels, block = int(config.numChannels), int(config.mixBufferSize)
    buffer = (ctypes.c_short * (block * channels))()
    made, state = ctypes.c_long(), ctypes.c_long()
    pieces, total = [], 0
    while total < frames:
        _check(lib.EAS_Render(data, buffer, block, ctypes.byref(made)), "EAS_Render")
        pieces.append(np.frombuffer(buffer, dtype=np.int16, count=made.value * channels).copy())
        total += made.value
        _check(lib.EAS_State(data, stream, ctypes.byref(state)), "EAS_State")
        if state.value == _STATE_ERROR:
            raise RuntimeError("Sonivox EAS: the stream stopped with an error")
        if state.value == _STATE_STOPPED or made.value == 0:  # played out: the caller pads the rest
            break
    pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    audio = pcm.reshape(-1, channels).astype(np.float32).mean(axis=1) / 32768.0
    return audio[:frames]


def _check(result: int, call: str) -> None:
    if result != 0:
        raise RuntimeError(f"Sonivox EAS: {call} failed with error {result}")
