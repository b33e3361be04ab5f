"""Atomic writes: complete file or nothing, old file untouched on failure, clear one-line errors.

Tests run as root in CI, and root ignores folder permissions, so the read-only and full-disk cases are
simulated by making the OS calls raise the errors the kernel would (a real chmod test runs too when
not root). Missing folders and paths under a file are real.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from studio_tagger import atomic
from studio_tagger.atomic import AtomicWriteError, atomic_write


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_bytes_and_leaves_no_temp(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "a.txt", "w") as f:
        f.write("héllo\n")
    with atomic_write(tmp_path / "b.bin", "wb") as f:
        f.write(b"\x00\x01\xff")
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01\xff"
    assert leftovers(tmp_path) == []


def test_nothing_appears_before_the_block_completes(tmp_path: Path) -> None:
    target = tmp_path / "late.txt"
    with atomic_write(target, "w") as f:
        f.write("data")
        f.flush()
        assert not target.exists()
        assert len(leftovers(tmp_path)) == 1
    assert target.read_text() == "data"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_mid_write_keeps_old_file_and_removes_temp(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old contents")
    with pytest.raises(type(exc)), atomic_write(target, "w") as f:
        f.write("new partial")
        raise exc
    assert target.read_text() == "old contents"
    assert leftovers(tmp_path) == []


def test_failed_new_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_write(tmp_path / "new.bin") as f:
        f.write(b"x" * 1000)
        raise ValueError("cancelled")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_during_fsync_is_reported_and_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "full.txt"
    target.write_text("old")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(AtomicWriteError) as info, atomic_write(target, "w") as f:
        f.write("new")
    assert str(info.value) == f"cannot write {target}: the disk is full"
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_full_disk_raised_by_a_write_in_the_block(tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    with pytest.raises(AtomicWriteError, match="the disk is full"), atomic_write(target) as f:
        f.write(b"abc")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_from_the_block_pass_through_unchanged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "y.txt", "w"):
        (tmp_path / "missing-source.wav").read_bytes()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("code", "reason"), [
    (errno.EACCES, "no permission to write in folder"),
    (errno.EROFS, "is on a read-only file system"),
])
def test_unwritable_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(AtomicWriteError) as info, atomic_write(tmp_path / "z.txt", "w") as f:
        f.write("never")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "z.txt") in message and reason in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_for_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(AtomicWriteError, match="no permission"), atomic_write(folder / "a.txt", "w") as f:
            f.write("x")
    finally:
        folder.chmod(stat.S_IRWXU)


def test_missing_folder_and_path_under_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "a.txt"
    with pytest.raises(AtomicWriteError, match=r"folder .*nope does not exist"), atomic_write(missing, "w") as f:
        f.write("x")
    (tmp_path / "plain").write_text("I am a file")
    with pytest.raises(AtomicWriteError, match="is not a folder"), atomic_write(tmp_path / "plain" / "a.txt") as f:
        f.write(b"x")


def test_target_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(AtomicWriteError, match="a folder with that name exists"), atomic_write(tmp_path / "dir.txt"):
        pass


def test_failed_rename_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rename(src: object, dst: object) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", no_rename)
    with pytest.raises(AtomicWriteError, match="no permission"), atomic_write(tmp_path / "r.txt", "w") as f:
        f.write("x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_follow_umask_or_the_replaced_file(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.txt", "w") as f:
            f.write("x")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644
        existing = tmp_path / "existing.txt"
        existing.write_text("old")
        existing.chmod(0o600)
        with atomic_write(existing, "w") as f:
            f.write("new")
        assert stat.S_IMODE(existing.stat().st_mode) == 0o600
        assert existing.read_text() == "new"
    finally:
        os.umask(umask)


def test_unicode_file_name(tmp_path: Path) -> None:
    target = tmp_path / "Aufnahme – Flöte 🎵.txt"
    with atomic_write(target, "w") as f:
        f.write("ok")
    assert target.read_text() == "ok"
    assert leftovers(tmp_path) == []


def test_rejects_other_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_write(tmp_path / "a", "a"):
        pass
