"""Whether a WAV file holds less audio than its header promises: a copy or download cut short.

libsndfile reads what is there and reports that length, so a take cut off after a few seconds is tagged
as a short take, silently. Archives are where this happens (an interrupted transfer, a full card), and an
archivist wants it named. Only RIFF WAV is checked: its header states the data size in bytes; RF64, W64
and compressed formats are left alone.
"""

from __future__ import annotations

import struct
from pathlib import Path

# Writers that stream (a recorder that lost power, a pipe) leave the size unset as 0 or 0xFFFFFFFF:
# nothing was promised, so nothing is missing.
_UNSET = {0, 0xFFFFFFFF}
_MAX_CHUNKS = 64  # a header wanders through a few chunks (fmt, bext, LIST, ...) before the data


def promised_seconds(path: str | Path) -> float | None:
    """The duration a RIFF WAV's header promises (its data chunk's size over the byte rate), when the file
    holds less than that; None when it holds it all, or is no RIFF WAV, or the size is unset."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = Path(path).stat().st_size
            byte_rate = 0
            for _ in range(_MAX_CHUNKS):
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                kind, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"fmt ":
                    fmt = f.read(min(length, 16))
                    if len(fmt) < 12:
                        return None
                    byte_rate = struct.unpack("<I", fmt[8:12])[0]
                    f.seek(length - len(fmt) + (length & 1), 1)
                elif kind == b"data":
                    if length in _UNSET or byte_rate <= 0:
                        return None
                    missing = length - (size - f.tell())
                    # A tenth of a second of slack: some writers leave a pad byte or a last block out.
                    return length / byte_rate if missing > byte_rate / 10 else None
                else:
                    f.seek(length + (length & 1), 1)
    except (OSError, struct.error):
        return None
    return None
