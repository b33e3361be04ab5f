"""Atomic file writes: a new file appears complete or not at all.

Everything the project writes (exports, sessions, reports) goes through :func:`atomic_write`: the data is
written to a hidden temporary file in the destination folder, flushed to disk, then renamed over the
target. A crash, an exception or a cancel inside the ``with`` block removes the temporary file and leaves
any existing file at the target exactly as it was.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any


class AtomicWriteError(Exception):
    """A write could not be done; ``str(e)`` is one line naming the file and why."""


# Errors raised by the caller's own writes inside the block that mean "the disk refused the data".
# Other OSErrors from the block (e.g. reading a missing source file) pass through unchanged, because
# relabelling them as write failures would mislead.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def describe_write_error(path: Path, exc: OSError) -> str:
    """One line for a user: which file could not be written and the likely reason."""
    folder = path.parent
    reasons = {
        errno.EACCES: f"no permission to write in folder {folder}",
        errno.EPERM: f"no permission to write in folder {folder}",
        errno.EROFS: f"folder {folder} is on a read-only file system",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EFBIG: "the file is too large for this file system",
        errno.ENOENT: f"folder {folder} does not exist",
        errno.ENOTDIR: f"{folder} is not a folder",
        errno.EISDIR: "a folder with that name exists",
        errno.ENAMETOOLONG: "the file name is too long",
    }
    reason = reasons.get(exc.errno, exc.strerror or str(exc))
    return f"cannot write {path}: {reason}"


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise AtomicWriteError now if `atomic_write` could not write ``path`` for a reason already
    visible (a folder of that name, a missing or unwritable folder): a command checks its outputs before
    an hour's work rather than after it. A full disk still shows only when writing."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise _refused(target, errno.EISDIR)
    if not folder.exists():
        raise _refused(target, errno.ENOENT)
    if not folder.is_dir():
        raise _refused(target, errno.ENOTDIR)
    if not os.access(folder, os.W_OK):
        raise _refused(target, errno.EACCES)


def _refused(target: Path, code: int) -> AtomicWriteError:
    """A write refused before trying it, in the words a failed write with ``code`` would use."""
    return AtomicWriteError(describe_write_error(target, OSError(code, os.strerror(code))))


def _create_temp(target: Path) -> tuple[Path, int]:
    # os.open with mode 0o666 lets the umask decide permissions, as for any new file (mkstemp would
    # force 0o600). The name is hidden and ends in .tmp so no DAW or file watcher picks it up.
    # Cut in bytes, between characters: 200 characters of a Japanese name are 600 bytes, past a file
    # name's 255.
    stem = os.fsencode(target.name)[:200].decode("utf-8", "ignore") if os.name != "nt" else target.name[:200]
    for _ in range(100):
        tmp = target.with_name(f".{stem}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            raise AtomicWriteError(describe_write_error(target, e)) from e
        return tmp, fd
    raise AtomicWriteError(f"cannot write {target}: could not create a temporary file next to it")


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and the data is already safe.
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", *, encoding: str = "utf-8",
                 newline: str | None = None) -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it is replaced only once the block completes without error.

    ``mode`` is ``"w"`` (text, with ``encoding`` and ``newline`` as for :func:`open`) or ``"wb"``.
    Raises :class:`AtomicWriteError` for unwritable or missing folders, full disks and the like; any
    exception from the block (a cancel included) is re-raised after the temporary file is removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    target = Path(path)
    if target.is_dir():
        raise _refused(target, errno.EISDIR)
    tmp, fd = _create_temp(target)
    try:
        # A file name that is not valid UTF-8 (a Latin-1 name on a Linux disk) reaches Python as lone
        # surrogates; written back as the bytes it was, a record or export naming it never fails to save.
        text_args = {} if mode == "wb" else {"encoding": encoding, "newline": newline, "errors": "surrogateescape"}
        with os.fdopen(fd, mode, **text_args) as f:
            try:
                yield f
            except OSError as e:
                if e.errno in _WRITE_ERRNOS:
                    raise AtomicWriteError(describe_write_error(target, e)) from e
                raise
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as e:
                raise AtomicWriteError(describe_write_error(target, e)) from e
        try:
            if target.exists():
                # Replacing a file keeps its permissions, as saving in place would.
                os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
            os.replace(tmp, target)
        except OSError as e:
            raise AtomicWriteError(describe_write_error(target, e)) from e
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)
