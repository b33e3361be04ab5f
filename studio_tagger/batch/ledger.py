"""The results folder is the ledger of a batch run: one small record per recording, no central database.

    RESULTS/<key>.json               the analysis, byte for byte what `analyze --json` writes
    RESULTS/<key>.<format><ext>      each export asked for (take.wav.audacity.txt, take.wav.midi.mid ...)
    RESULTS/<key>.record.json        written last: the source's size, mtime and content hash, the model's
                                     identity, the settings, the status (done or failed) and the summary row

``key`` is the recording's path below its root, extension kept (take.wav and take.flac differ); a name that
would pass 255 bytes with its suffix is cut and ends in a hash of the whole name. Every file
is written atomically and the record after the outputs, so a run killed at any moment leaves each
recording either recorded or not: a resumed run redoes only the recordings that were in flight. No
single shared file is appended to, so workers on many machines can write into one shared folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write
from ..jsontext import json_text
from .walk import Found

RECORD_FORMAT = "studio-tagger-batch-record"
RECORD_VERSION = 1


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two runs' results comparable: the card's name and version and the exact weights."""

    name: str
    version: str
    weights_sha256: str

    @property
    def id(self) -> str:
        return " ".join(part for part in (self.name, self.version, f"sha256:{self.weights_sha256[:16]}") if part)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "version": self.version, "weights_sha256": self.weights_sha256}


def model_identity(path: str | os.PathLike | None = None) -> ModelIdentity:
    """The identity of the model at ``path`` (default: the shipped one); raises ModelError if missing."""
    from ..models import ModelError
    from ..models.hashing import weights_sha256
    from ..shipped import model_files

    weights, card_path = model_files(path)
    try:
        digest = weights_sha256(weights)
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{weights}: model cannot be read ({exc})") from exc
    return ModelIdentity(str(card.get("name", weights.stem)), str(card.get("version", "")), digest)


NAME_MAX = 255
"""Bytes in one file name on the file systems archives live on (ext4, XFS, APFS, NTFS in UTF-16 units)."""


def _named(out: Path, key: str, suffix: str) -> Path:
    """``out/key`` + ``suffix``; a name that would pass NAME_MAX bytes (a long sample name plus
    ``.record.json``) keeps its start and gets a hash of the whole name instead of failing to save."""
    folder, _, name = key.rpartition("/")
    full = name + suffix
    if len(os.fsencode(full)) > NAME_MAX:
        tag = "~" + hashlib.sha1(os.fsencode(name)).hexdigest()[:10]
        room = NAME_MAX - len(os.fsencode(tag + suffix))
        head = os.fsencode(name)[:room].decode("utf-8", "ignore")  # never half a character
        full = head + tag + suffix
    return out / folder / full if folder else out / full


def result_path(out: Path, key: str) -> Path:
    return _named(out, key, ".json")


RECORD_SUFFIX = ".record.json"


def record_path(out: Path, key: str) -> Path:
    return _named(out, key, RECORD_SUFFIX)


def export_path(out: Path, key: str, fmt: str) -> Path:
    from ..interchange import FORMATS

    return _named(out, key, f".{fmt}{FORMATS[fmt].extensions[0]}")


def read_record(path: Path) -> dict | None:
    """A record, or None when there is none or it is not one (a stray or damaged file is redone)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and data.get("format") == RECORD_FORMAT and data.get("status") in ("done", "failed"):
        return data
    return None


def write_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        f.write(json_text({"format": RECORD_FORMAT, "format_version": RECORD_VERSION, **record}, indent=1))
        f.write("\n")


def needs_work(found: Found, record: dict | None, model_id: str, settings: dict, exports: tuple[str, ...],
               out: Path, retry_failed: bool) -> bool:
    """Whether ``found`` must be (re)tagged, given its record from an earlier run.

    Skipped: a record for the same model and settings whose recording is unchanged (same size and mtime,
    or, once those moved, the same content hash), and, for a success, whose outputs all exist. A failure
    is skipped too, unless ``retry_failed``: a corrupt file stays corrupt until someone replaces it.
    """
    if record is None or record.get("model", {}).get("id") != model_id or record.get("settings") != settings:
        return True
    if record["status"] == "failed" and retry_failed:
        return True
    if record["status"] == "done":
        wanted = [result_path(out, found.key), *(export_path(out, found.key, f) for f in exports)]
        if not all(p.is_file() for p in wanted):
            return True
    if (record.get("size"), record.get("mtime_ns")) == (found.size, found.mtime_ns):
        return False
    from ..session import content_hash

    try:
        return content_hash(found.path) != record.get("content_hash")
    except OSError:
        return True  # unreadable now: let the worker record why
