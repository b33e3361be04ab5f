"""Cue names of a WAV file as other programs' readers see them: libsndfile's (through soundfile's own
binding of ``sf_command``) and FFmpeg's (``ffprobe``, where installed)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import soundfile as sf
from soundfile import _ffi, _snd

# sndfile.h: SFC_GET_CUE_COUNT / SFC_GET_CUE; an SF_CUE_POINT is six 32-bit fields and a 256-byte name.
SFC_GET_CUE_COUNT = 0x10CD
SFC_GET_CUE = 0x10CE
CUE_POINT_SIZE = 24 + 256


def libsndfile_cues(path: Path) -> list[tuple[int, str]]:
    """(sample offset, name) per cue point as libsndfile reports them."""
    with sf.SoundFile(str(path)) as f:
        count = _ffi.new("uint32_t*")
        if not _snd.sf_command(f._file, SFC_GET_CUE_COUNT, count, 4):
            return []
        buf = _ffi.new("char[]", 4 + count[0] * CUE_POINT_SIZE)
        assert _snd.sf_command(f._file, SFC_GET_CUE, buf, len(buf)) == 1
        raw = bytes(_ffi.buffer(buf))
    cues = []
    for i in range(struct.unpack_from("<I", raw)[0]):
        at = 4 + i * CUE_POINT_SIZE
        offset = struct.unpack_from("<I", raw, at + 20)[0]
        cues.append((offset, raw[at + 24: at + CUE_POINT_SIZE].split(b"\0")[0].decode("utf-8")))
    return cues


FFPROBE = shutil.which("ffprobe")


def ffprobe_chapters(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, title) per chapter: FFmpeg turns cue points and regions into chapters."""
    assert FFPROBE is not None
    out = subprocess.run([FFPROBE, "-v", "error", "-show_chapters", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [(float(c["start_time"]), float(c["end_time"]), c.get("tags", {}).get("title", ""))
            for c in json.loads(out)["chapters"]]
