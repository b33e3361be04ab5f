"""A weights file's identity (no torch): sessions and adapted models name the network they came from."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path


def weights_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a weights file (raises OSError when it cannot be read). Cached by path, size and
    modification time: batch workers ask for every recording and adapting for every job, while the
    weights change only when a model is trained or adapted again."""
    p = Path(path).resolve()
    st = p.stat()
    return _file_sha256(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()
