"""Decoding: any file soundfile reads, in blocks, down-mixed to mono and resampled with soxr.

A 3-hour 48 kHz stereo take is 4 GB as float64, so nothing here reads a file whole unless asked to:
`iter_blocks` yields bounded float32 blocks and resamples them with a streaming resampler, so block
boundaries leave no seam.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from . import ffmpeg
from .ffmpeg import FfmpegReader

# Samples (frames x channels) read at once: a 30 s block of a 192 kHz 8-channel take would otherwise
# be 180 MB of float32, and a damaged header claiming huge rates or channel counts far more.
MAX_READ_SAMPLES = 1 << 23

# What a file that libsndfile refuses most often is: said so, the user sees the mix-up at once.
_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "a gzip archive"),
)


class AudioError(Exception):
    """A recording that cannot be read; ``str()`` is one line naming the file and why."""


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _why(exc: BaseException) -> str:
    """libsndfile's messages repeat the path; keep only the reason."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[1]
    return text.rstrip(".")


def _looks_like(path: Path) -> str | None:
    """'a PNG image', 'a text file'... for a file that is plainly not audio; None when unsure."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut in two at the end of the sample is fine
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "a text file"
    return None


def _check_path(path: Path) -> None:
    if not path.exists():
        # a link whose target is gone is there to see in the folder: "no such file" would puzzle
        raise AudioError(f"{path}: {'a broken link' if path.is_symlink() else 'no such file'}")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not path.is_file():  # a pipe or device would block the reader or never end
        raise AudioError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def _open(path: Path) -> sf.SoundFile | FfmpegReader:
    _check_path(path)
    try:
        # libsndfile takes bytes as they are; a str it encodes strictly, which fails on a name that is not
        # valid UTF-8 (Python holds its bytes as surrogates). Windows paths are UTF-16 and go as str.
        return sf.SoundFile(str(path) if os.name == "nt" else os.fsencode(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        what = _looks_like(path)
        if what is None and ffmpeg.wanted(path):
            try:
                return FfmpegReader(path)
            except ffmpeg.FfmpegError as why:
                raise AudioError(f"{path}: not a readable audio file ({why})") from exc
        why = f"it looks like {what}" if what else _why(exc)
        raise AudioError(f"{path}: not a readable audio file ({why})") from exc
    except OSError as exc:  # e.g. permission refused by the file system despite os.access
        raise AudioError(f"{path}: cannot open ({exc.strerror or exc})") from exc


def open_audio(path: str | os.PathLike) -> sf.SoundFile | FfmpegReader:
    """The recording opened for reading its frames (``read``, ``seek``, ``blocks``, ``frames``,
    ``samplerate``, ``channels``): libsndfile's formats, or through ffmpeg those it lacks (AAC in .m4a,
    a video's soundtrack). Raises AudioError with one line naming the file and why."""
    return _open(Path(path))


def probe(path: str | os.PathLike) -> AudioInfo:
    """Read the header only."""
    path = Path(path)
    with _open(path) as f:
        frames = f.frames
        if frames < 0 or frames >= 2**62:  # streams with unknown length report huge counts
            raise AudioError(f"{path}: cannot tell the length of this file")
        if f.samplerate <= 0 or f.channels <= 0:
            raise AudioError(f"{path}: header has no sample rate or channels")
        return AudioInfo(path, int(f.samplerate), int(f.channels), int(frames), f.format, f.subtype)


# Integer PCM is read as integers and scaled here (the same values as libsndfile's floats): its own
# conversion to float cost about as much as the resampling on a 16-bit WAV.
_INTEGER_READS = {"PCM_16": ("int16", 2.0**-15), "PCM_24": ("int32", 2.0**-31), "PCM_32": ("int32", 2.0**-31)}


def _to_mono(block: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(frames, channels) samples -> mono float32 in [-1, 1] (``scale`` turns integers into that range);
    NaN and Inf (broken float files) become silence, not poison."""
    # Channel by channel into one float32 buffer. numpy's mean over the short channel axis is ~30x
    # slower, and a matrix-vector product goes to a multi-threaded BLAS whose threads, on a two-core
    # laptop, wait for the core the model is using (7 ms a block, a fifth of the decoding).
    mono = block[:, 0].astype(np.float32)
    for channel in range(1, block.shape[1]):
        if _opposite(block[:, 0], block[:, channel]):
            mono -= block[:, channel]
        else:
            mono += block[:, channel]
    mono *= np.float32(scale / block.shape[1])
    if block.dtype.kind == "f" and not np.isfinite(mono).all():
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    return mono


OPPOSITE_CORRELATION = -0.3
"""Below this correlation with the first channel a channel is taken as wired in opposite polarity."""


def _opposite(first: np.ndarray, other: np.ndarray) -> bool:
    """Whether ``other`` is, over this block, the first channel's mirror image (a channel wired in
    opposite polarity, a miked pair with one cable swapped): summed, the two would cancel the music to
    silence (every lane went dark on such takes), so it is subtracted instead. Ordinary stereo is
    positively correlated or unrelated and is summed as before. Judged on every 32nd sample (half a millisecond
    per 30 s block of CD stereo here), without BLAS (whose threads wait for the model's core on a two-core laptop)."""
    a, b = first[::32].astype(np.float32), other[::32].astype(np.float32)
    power = float(np.einsum("i,i->", a, a)) * float(np.einsum("i,i->", b, b))
    return power > 0.0 and float(np.einsum("i,i->", a, b)) < OPPOSITE_CORRELATION * power ** 0.5


def iter_blocks(
    path: str | os.PathLike,
    target_rate: int | None = None,
    block_seconds: float = 30.0,
    start: float = 0.0,
    stop: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of about ``block_seconds`` at ``target_rate`` (the file's own if None).

    The concatenation of the blocks is the resampled file (or its [start, stop) part): the resampler
    is streamed and flushed at the end.
    """
    path = Path(path)
    info = probe(path)
    rate = info.sample_rate
    first = max(0, int(round(start * rate)))
    last = info.frames if stop is None else min(info.frames, int(round(stop * rate)))
    block = max(1024, min(int(block_seconds * rate), MAX_READ_SAMPLES // info.channels))
    resampler = None
    if target_rate is not None and target_rate != rate:
        resampler = soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality="HQ")
    dtype, scale = _INTEGER_READS.get(info.subtype, ("float32", 1.0))
    with _open(path) as f:
        if first:
            f.seek(first)
        pos = first
        while pos < last:
            try:
                raw = f.read(min(block, last - pos), dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise AudioError(f"{path}: read failed at {pos / rate:.1f} s ({_why(exc)})") from exc
            if len(raw) == 0:  # truncated data: the header promised more than the file holds
                break
            pos += len(raw)
            mono = _to_mono(raw, scale)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=pos >= last)
            if len(mono):
                yield mono
        if resampler is not None and pos < last:
            tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            if len(tail):
                yield tail


def read_mono(
    path: str | os.PathLike, target_rate: int | None = None, start: float = 0.0, stop: float | None = None
) -> np.ndarray:
    """The [start, stop) part of a file as one mono float32 array (for short files and excerpts)."""
    blocks = list(iter_blocks(path, target_rate, start=start, stop=stop))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
