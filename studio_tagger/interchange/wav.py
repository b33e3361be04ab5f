"""A WAV copy of the recording with the regions embedded as cue points and labelled regions.

Layout written (all fields little-endian, every chunk padded to an even length):

    RIFF <size> WAVE
      JUNK (28 zero bytes: room for an RF64 ds64 chunk, as EBU Tech 3306 recommends)
      fmt  (PCM / IEEE float; WAVE_FORMAT_EXTENSIBLE above two channels)
      fact (float data only: the frame count)
      data (the samples, copied exactly)
      cue  (count, then 24-byte points: id, position, 'data', chunk start 0, block start 0, sample offset)
      LIST adtl: a 'labl' per cue (id + UTF-8 name + NUL), then an 'ltxt' per region (id, sample length,
                 purpose 'rgn ', country/language/dialect/code page 0)

All 'labl' entries come before the first 'ltxt': RIFF allows any order, but FFmpeg's and libsndfile's cue
readers stop collecting names at the first 'ltxt', so interleaving them (name 1, length 1, name 2, ...)
left every region after the first without a name there.

REAPER, Audition, Wavelab, Sound Forge and others show a cue with an ``ltxt`` length as a region.
When the file would pass 4 GiB the header becomes RF64 and the JUNK chunk becomes ds64 with the 64-bit
sizes. The container is written here rather than by libsndfile because libsndfile cannot add cue
regions with names, and patching its output would need the same chunk code anyway.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..audio import AudioError, open_audio
from .context import ExportContext
from .errors import ExportError
from .markers import Marker

RIFF_LIMIT = 0xFFFFFFFF
DS64_BODY_SIZE = 28  # riff size (8) + data size (8) + sample count (8) + table length (4)
BLOCK_FRAMES = 1 << 16

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_GUID_TAIL = b"\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"  # KSDATAFORMAT_SUBTYPE_* after the tag


@dataclass(frozen=True)
class SampleFormat:
    """How samples are stored in the copy and how to get them from soundfile without changing them."""

    bits: int
    is_float: bool
    read_dtype: str
    to_bytes: Callable[[np.ndarray], bytes]


def _u8(block: np.ndarray) -> bytes:
    # soundfile hands 8-bit audio as int16 (value << 8); WAV stores 8-bit as unsigned with offset 128.
    return ((block.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()


def _i24(block: np.ndarray) -> bytes:
    # soundfile hands 24-bit audio as int32 (value << 8): the top three little-endian bytes are the sample.
    return np.ascontiguousarray(block, dtype="<i4").view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()


def _plain(dtype: str) -> Callable[[np.ndarray], bytes]:
    return lambda block: np.ascontiguousarray(block, dtype=dtype).tobytes()


PCM_U8 = SampleFormat(8, False, "int16", _u8)
PCM_16 = SampleFormat(16, False, "int16", _plain("<i2"))
PCM_24 = SampleFormat(24, False, "int32", _i24)
PCM_32 = SampleFormat(32, False, "int32", _plain("<i4"))
FLOAT = SampleFormat(32, True, "float32", _plain("<f4"))
DOUBLE = SampleFormat(64, True, "float64", _plain("<f8"))

# Source subtypes whose decoded samples fit one of the WAV layouts exactly. Everything else (Vorbis,
# Opus, MP3 and other lossy codecs) is decoded to 32-bit float, which holds the decoder's output as is.
_EXACT = {
    "PCM_U8": PCM_U8, "PCM_S8": PCM_U8,
    "PCM_16": PCM_16, "ULAW": PCM_16, "ALAW": PCM_16, "IMA_ADPCM": PCM_16, "MS_ADPCM": PCM_16,
    "GSM610": PCM_16, "ALAC_16": PCM_16, "DWVW_16": PCM_16,
    "PCM_24": PCM_24, "ALAC_20": PCM_24, "ALAC_24": PCM_24, "DWVW_24": PCM_24,
    "PCM_32": PCM_32, "ALAC_32": PCM_32,
    "FLOAT": FLOAT, "DOUBLE": DOUBLE,
}


def sample_format_for(subtype: str) -> SampleFormat:
    return _EXACT.get(subtype, FLOAT)


def _chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _fmt_body(fmt: SampleFormat, channels: int, rate: int) -> bytes:
    block_align = channels * fmt.bits // 8
    tag = WAVE_FORMAT_IEEE_FLOAT if fmt.is_float else WAVE_FORMAT_PCM
    # Microsoft requires WAVE_FORMAT_EXTENSIBLE for more than two channels; channel mask 0 = unassigned.
    head_tag = WAVE_FORMAT_EXTENSIBLE if channels > 2 else tag
    body = struct.pack("<HHIIHH", head_tag, channels, rate, rate * block_align, block_align, fmt.bits)
    if head_tag == WAVE_FORMAT_EXTENSIBLE:
        return body + struct.pack("<HHI", 22, fmt.bits, 0) + struct.pack("<I", tag) + _GUID_TAIL
    return body + (struct.pack("<H", 0) if fmt.is_float else b"")


def marker_frames(markers: Sequence[Marker], rate: int, frames: int) -> list[tuple[int, int]]:
    """(start frame, length in frames) per marker at the file's own rate, kept inside the audio."""
    spans = []
    for m in markers:
        start = min(round(m.start * rate), frames)
        end = min(round(m.end * rate), frames)
        spans.append((start, max(0, end - start)))
    return spans


def cue_chunk(spans: Sequence[tuple[int, int]]) -> bytes:
    points = b"".join(
        struct.pack("<II4sIII", cue_id, start, b"data", 0, 0, start)
        for cue_id, (start, _) in enumerate(spans, start=1)
    )
    return _chunk(b"cue ", struct.pack("<I", len(spans)) + points)


def adtl_chunk(names: Sequence[str], spans: Sequence[tuple[int, int]]) -> bytes:
    numbered = list(enumerate(zip(names, spans, strict=True), start=1))
    labels = [_chunk(b"labl", struct.pack("<I", cue_id) + name.encode("utf-8") + b"\0")
              for cue_id, (name, _) in numbered]
    lengths = [_chunk(b"ltxt", struct.pack("<II4sHHHH", cue_id, length, b"rgn ", 0, 0, 0, 0))
               for cue_id, (_, (_, length)) in numbered if length > 0]
    return _chunk(b"LIST", b"adtl" + b"".join(labels + lengths))


def write_wav_with_markers(out: BinaryIO, source: Path, markers: Sequence[Marker], *,
                           ctx: ExportContext | None = None, rf64_threshold: int = RIFF_LIMIT,
                           block_frames: int = BLOCK_FRAMES) -> None:
    """Copy ``source`` (any format soundfile reads) into ``out`` (seekable) as WAV with the markers.

    ``rf64_threshold``: largest RIFF size still written as plain WAV (tests lower it to force RF64).
    """
    ctx = ctx or ExportContext()
    try:
        audio = open_audio(source)
    except AudioError as e:
        raise ExportError(f"cannot read {source}: {e}") from e
    with audio:
        fmt = sample_format_for(audio.subtype)
        rate, channels = audio.samplerate, audio.channels
        out.write(b"RIFF" + struct.pack("<I", 0) + b"WAVE")
        junk_at = out.tell()
        out.write(_chunk(b"JUNK", bytes(DS64_BODY_SIZE)))
        out.write(_chunk(b"fmt ", _fmt_body(fmt, channels, rate)))
        fact_at = out.tell() + 8 if fmt.is_float else None
        if fmt.is_float:
            out.write(_chunk(b"fact", struct.pack("<I", 0)))
        data_at = out.tell()
        out.write(b"data" + struct.pack("<I", 0))
        frames = 0
        for block in audio.blocks(blocksize=block_frames, dtype=fmt.read_dtype, always_2d=True):
            ctx.check_cancel()
            out.write(fmt.to_bytes(block))
            frames += len(block)
    data_size = frames * channels * fmt.bits // 8
    if data_size % 2:
        out.write(b"\0")

    # A region that starts after the audio ends (a JSON of a longer recording) is left out: clamped, it
    # became a marker at the last frame, where nothing of it ever was. One running past the end is cut there.
    markers = [m for m in markers if round(m.start * rate) < frames or (m.start == m.end and round(m.start * rate) == frames)]
    if markers:
        spans = marker_frames(markers, rate, frames)
        if any(start + length > RIFF_LIMIT for start, length in spans):
            raise ExportError("a region lies beyond the 2^32 frames that WAV cue points can address")
        out.write(cue_chunk(spans))
        out.write(adtl_chunk([m.name for m in markers], spans))
    riff_size = out.tell() - 8

    if riff_size > rf64_threshold:
        out.seek(0)
        out.write(b"RF64" + struct.pack("<I", RIFF_LIMIT))
        out.seek(junk_at)
        out.write(b"ds64" + struct.pack("<IQQQI", DS64_BODY_SIZE, riff_size, data_size, frames, 0))
        sizes = (RIFF_LIMIT, RIFF_LIMIT)  # data size and fact count: "see ds64"
    else:
        out.seek(4)
        out.write(struct.pack("<I", riff_size))
        sizes = (data_size, frames)
    out.seek(data_at + 4)
    out.write(struct.pack("<I", sizes[0]))
    if fact_at is not None:
        out.seek(fact_at)
        out.write(struct.pack("<I", sizes[1]))
    out.seek(0, 2)


def write(out: BinaryIO, markers: Sequence[Marker], ctx: ExportContext) -> None:
    if ctx.source_audio is None:
        raise ExportError("the WAV export needs the source recording")
    write_wav_with_markers(out, ctx.source_audio, markers, ctx=ctx)
