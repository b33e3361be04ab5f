"""Autosave of region edits, so a crash or a killed process never loses an editor's work (no Qt).

One small JSON file per recording (named from a hash of its resolved path) in the app's autosave
folder, rewritten atomically a moment after each edit and removed when the edits are saved as a
session or discarded on purpose. Only the edit overlay and the region parameters are kept: the
activity comes back from the session, or from a new analysis, when the recording is reopened.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from .analysis.regions import RegionParams
from .atomic import atomic_write
from .counted import counted
from .jsontext import json_text
from .session import Edit, params_from_dict, params_to_dict

AUTOSAVE_FORMAT = "studio-tagger-autosave"


@dataclass
class Autosave:
    recording: Path
    source_hash: str
    edits: list[Edit]
    params: RegionParams = field(default_factory=RegionParams)
    session: Path | None = None  # the session the edits started from, if any
    saved_at: float = 0.0  # seconds since the epoch


def autosave_path(folder: str | os.PathLike, recording: str | os.PathLike) -> Path:
    key = hashlib.sha256(os.fsencode(Path(recording).resolve())).hexdigest()[:20]  # bytes: any name
    return Path(folder) / f"{key}.autosave.json"


def write_autosave(folder: str | os.PathLike, autosave: Autosave) -> Path:
    """Write (atomically) and return the autosave file of ``autosave.recording``."""
    target = autosave_path(folder, autosave.recording)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": AUTOSAVE_FORMAT, "recording": str(autosave.recording), "source_hash": autosave.source_hash,
        "session": str(autosave.session) if autosave.session else None, "saved_at": autosave.saved_at or time.time(),
        "params": params_to_dict(autosave.params), "edits": [e.to_dict() for e in autosave.edits],
    }
    with atomic_write(target, "w") as f:
        f.write(json_text(data))
    return target


def read_autosave(folder: str | os.PathLike, recording: str | os.PathLike) -> Autosave | None:
    """The autosave of ``recording``, or None when there is none or it cannot be used (a damaged
    autosave file is left where it is, but never stops a recording from opening)."""
    path = autosave_path(folder, recording)
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
        if not isinstance(data, dict) or data.get("format") != AUTOSAVE_FORMAT:
            return None
        edits = data["edits"]
        return Autosave(
            recording=Path(str(data["recording"])), source_hash=str(data["source_hash"]),
            edits=[Edit.from_dict(e) for e in (edits if isinstance(edits, list) else [])],
            params=params_from_dict(data.get("params", {}), saved=True),
            session=Path(str(data["session"])) if data.get("session") else None, saved_at=float(data["saved_at"]),
        )
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError):
        return None


def remove_autosave(folder: str | os.PathLike, recording: str | os.PathLike) -> None:
    with suppress(FileNotFoundError):
        autosave_path(folder, recording).unlink()


def describe(edits: Sequence[Edit]) -> str:
    """'3 region edits' for a dialog."""
    return counted(len(edits), "region edit")
