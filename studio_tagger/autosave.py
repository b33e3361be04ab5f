"""Autosave of region edits, so a crash or a killed process never loses an editor's work (no Qt).

One small JSON file per recording and app process (named from a hash of the recording's resolved path
and the process id) in the app's autosave folder, rewritten atomically a moment after each edit and
removed when the edits are saved as a session or discarded on purpose. Only the edit overlay and the
region parameters are kept: the activity comes back from the session, or from a new analysis, when the
recording is reopened. Two app instances with the same recording open each keep their own file, so
neither overwrites the other's edits, and the file of an instance still running is never offered to
another as a crash's leftover.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
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
    path: Path | None = None  # the file it was read from


def _key(recording: str | os.PathLike) -> str:
    return hashlib.sha256(os.fsencode(Path(recording).resolve())).hexdigest()[:20]  # bytes: any name


def autosave_path(folder: str | os.PathLike, recording: str | os.PathLike, pid: int | None = None) -> Path:
    """The autosave file of ``recording`` written by this process (or by process ``pid``)."""
    return Path(folder) / f"{_key(recording)}.{pid or os.getpid()}.autosave.json"


def write_autosave(folder: str | os.PathLike, autosave: Autosave) -> Path:
    """Write (atomically) and return this process's autosave file of ``autosave.recording``."""
    target = autosave_path(folder, autosave.recording)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": AUTOSAVE_FORMAT, "recording": str(autosave.recording), "source_hash": autosave.source_hash,
        "session": str(autosave.session) if autosave.session else None, "saved_at": autosave.saved_at or time.time(),
        "params": params_to_dict(autosave.params), "edits": [e.to_dict() for e in autosave.edits],
        "pid": os.getpid(), "host": socket.gethostname(),
    }
    with atomic_write(target, "w") as f:
        f.write(json_text(data))
    return target


def _files(folder: str | os.PathLike, recording: str | os.PathLike) -> list[Path]:
    """Every autosave file of ``recording``: one per process, and the single file of releases before that."""
    key = _key(recording)
    folder = Path(folder)
    try:
        return sorted(folder.glob(f"{key}.*autosave.json"))
    except OSError:
        return []


def _running_elsewhere(data: dict) -> bool:
    """Whether the autosave ``data`` belongs to another app process that is still running on this machine.
    Only POSIX can ask that without side effects (on Windows `os.kill` would end the process), so elsewhere
    every autosave counts as a crash's leftover, as before. A dead instance's process id taken since by an
    unrelated process only holds its autosave back until that process ends."""
    pid, host = data.get("pid"), data.get("host")
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    if host != socket.gethostname():
        return False  # another machine sharing the folder: nothing to ask; it counts as a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True


def _load(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("format") == AUTOSAVE_FORMAT else None


def _parse(data: dict, path: Path) -> Autosave | None:
    try:
        edits = data["edits"]
        return Autosave(
            recording=Path(str(data["recording"])), source_hash=str(data["source_hash"]),
            edits=[Edit.from_dict(e) for e in (edits if isinstance(edits, list) else [])],
            params=params_from_dict(data.get("params", {}), saved=True),
            session=Path(str(data["session"])) if data.get("session") else None, saved_at=float(data["saved_at"]),
            path=path,
        )
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def read_autosave(folder: str | os.PathLike, recording: str | os.PathLike) -> Autosave | None:
    """The newest autosave of ``recording`` left by this process or by one that is no longer running (a
    crash, a killed process), or None when there is none or none can be used (a damaged autosave file is
    left where it is, but never stops a recording from opening). Of two instances that both crashed with
    edits of one recording, the later edits are offered: the editor's last work."""
    found = []
    for path in _files(folder, recording):
        data = _load(path)
        if data is None or _running_elsewhere(data):
            continue
        saved = _parse(data, path)
        if saved is not None:
            found.append(saved)
    return max(found, key=lambda a: a.saved_at, default=None)


def autosaved_elsewhere(folder: str | os.PathLike, recording: str | os.PathLike) -> int:
    """How many other running app processes hold unsaved edits of ``recording``."""
    return sum(1 for path in _files(folder, recording) if (data := _load(path)) is not None and _running_elsewhere(data))


def remove_autosave(folder: str | os.PathLike, recording: str | os.PathLike) -> None:
    """Remove this process's autosave of ``recording`` and those left by processes no longer running (the
    edits were saved, restored and saved, or discarded); a running instance's file stays."""
    own = autosave_path(folder, recording)
    for path in _files(folder, recording):
        if path != own:
            data = _load(path)
            if data is None or _running_elsewhere(data):
                continue  # damaged (left where it is, as reading leaves it), or another instance's
        with suppress(FileNotFoundError):
            path.unlink()


def describe(edits: Sequence[Edit]) -> str:
    """'3 region edits' for a dialog."""
    return counted(len(edits), "region edit")
