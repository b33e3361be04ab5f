"""Recordings libsndfile cannot read (AAC and ALAC in .m4a, a video's soundtrack, WMA, ...), decoded by
the system's ffmpeg when it is installed.

`FfmpegReader` stands in for the few `soundfile.SoundFile` methods the project uses (``read``, ``seek``,
``blocks``, the length, rate and channels): one ffmpeg process streams 32-bit float samples through a
pipe from the position asked for, so an hour-long take is never held whole. Only files whose extension
says they need it come here (`NEEDS_FFMPEG`): a damaged WAV is still reported as damaged, not guessed at.
The length comes from the container's duration, and reads are padded or cut to it, so every reader of a
file agrees on its frame count whatever the codec's priming and padding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

NEEDS_FFMPEG = frozenset({".m4a", ".m4b", ".mp4", ".m4v", ".mov", ".aac", ".3gp", ".wma", ".wmv", ".asf",
                          ".mkv", ".mka", ".webm", ".avi", ".ac3", ".eac3", ".dts", ".ape", ".wv", ".amr"})
"""Extensions of recordings (and videos) that libsndfile does not read and ffmpeg does."""
PROBE_TIMEOUT = 60.0  # seconds; a probe reads the header, however long the file


class FfmpegError(Exception):
    """ffmpeg is missing or cannot read the file; ``str()`` is the reason, without the path."""


def available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _url(path: str | Path) -> str:
    """The file as ffmpeg's ``file:`` URL: a name that starts with "-" or holds a colon ("take:2.m4a")
    would otherwise be read as an option or a protocol."""
    return f"file:{path}"


def wanted(path: Path) -> bool:
    """Whether ``path`` is a file for ffmpeg rather than libsndfile (by its extension)."""
    return path.suffix.lower() in NEEDS_FFMPEG


def probe(path: Path) -> tuple[int, int, int, str]:
    """(sample rate, channels, frames, codec) of the file's first audio stream."""
    if not available():
        raise FfmpegError("reading this format needs ffmpeg, which is not installed (Debian: apt install ffmpeg)")
    command = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
               "stream=codec_name,sample_rate,channels,duration:format=duration", "-of", "json", _url(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FfmpegError(f"ffprobe failed ({exc})") from exc
    try:
        info = json.loads(done.stdout or "{}")
    except ValueError:
        info = {}
    streams = info.get("streams") or []
    if done.returncode != 0 or not streams:
        reason = (done.stderr or "").strip().splitlines()
        raise FfmpegError(reason[-1].split(": ")[-1] if reason else "no audio stream")
    stream = streams[0]
    try:
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
        # A stream's own duration is exact where the container keeps one (MP4); Matroska keeps only the file's.
        duration = stream.get("duration")
        if duration in (None, "N/A"):
            duration = (info.get("format") or {}).get("duration")
        seconds = float(duration)
    except (KeyError, TypeError, ValueError) as exc:
        raise FfmpegError("cannot tell the rate, channels or length of its audio") from exc
    if rate <= 0 or channels <= 0 or not np.isfinite(seconds) or seconds <= 0:
        raise FfmpegError("its audio stream has no length, rate or channels")
    return rate, channels, int(round(seconds * rate)), str(stream.get("codec_name", "?"))


class FfmpegReader:
    """The audio of ``path`` as 32-bit float frames, read in order from wherever `seek` put it."""

    format = "FFMPEG"
    subtype = "FLOAT"  # what the samples arrive as (a WAV copy writes them so)
    _proc: subprocess.Popen | None = None  # so that __del__ holds even when probing failed

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        self.samplerate, self.channels, self.frames, self.codec = probe(Path(path))
        self._pos = 0

    def _start(self) -> subprocess.Popen:
        self._delivered = 0  # frames this process has given
        command = ["ffmpeg", "-nostdin", "-v", "error"]
        if self._pos:
            command += ["-ss", f"{self._pos / self.samplerate:.6f}"]
        command += ["-i", _url(self.name), "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
                    "-ar", str(self.samplerate), "-ac", str(self.channels), "pipe:1"]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)

    def seek(self, frame: int) -> int:
        self._stop()
        self._pos = max(0, min(int(frame), self.frames))
        # Started now, not at the first read: playback seeks before its stream opens, and ffmpeg's
        # start-up then passes before the audio callback first asks for frames.
        if self._pos < self.frames:
            self._proc = self._start()
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, frames: int = -1, dtype: str = "float32", always_2d: bool = False) -> np.ndarray:
        """Up to ``frames`` frames (all that is left for -1); float32 in [-1, 1] whatever ``dtype``
        asks (the project only asks for floats of files it decodes this way)."""
        want = self.frames - self._pos if frames < 0 else min(frames, self.frames - self._pos)
        if want <= 0:
            out = np.zeros((0, self.channels), np.float32)
        else:
            if self._proc is None:
                self._proc = self._start()
            raw = self._proc.stdout.read(want * self.channels * 4) if self._proc.stdout else b""
            got = np.frombuffer(raw, np.float32)[: len(raw) // (4 * self.channels) * self.channels]
            out = got.reshape(-1, self.channels)
            self._delivered += len(out)
            if len(out) < want:  # the decoder ended short of the container's duration: silence to it
                if not self._delivered and self._proc.wait() != 0:
                    # Nothing decoded at all (an encrypted or broken stream): an error, not a silent take.
                    raise RuntimeError("ffmpeg could not decode its audio")
                out = np.concatenate([out, np.zeros((want - len(out), self.channels), np.float32)])
            self._pos += want
        return out if always_2d or self.channels > 1 else out[:, 0]

    def blocks(self, blocksize: int, dtype: str = "float32", always_2d: bool = False) -> Iterator[np.ndarray]:
        while self._pos < self.frames:
            yield self.read(blocksize, dtype, always_2d)

    def _stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc.wait()
            self._proc = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> FfmpegReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._stop()
