"""Finding the recordings of an archive: folders walked recursively, each folder and file visited once.

A folder reached again through a symlink (or a link loop) is not walked twice, and a file reached under
two names (a symlink, a hard link) is tagged once. What cannot be listed or followed is reported and
the walk goes on: one locked folder must not stop a night's run over an archive.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .summary import BASE_COLUMNS, SUMMARY_STEM

# What the decoder reads (see studio_tagger.audio): the default of --include.
DEFAULT_INCLUDE = ("*.wav", "*.flac", "*.ogg", "*.oga", "*.opus", "*.mp3", "*.aif", "*.aiff", "*.aifc", "*.rf64", "*.w64")


MAC_FORKS = "__MACOSX"
"""The folder a Mac's zip keeps resource forks in; they and the ``._NAME`` files beside recordings copied
from a Mac (AppleDouble metadata, not audio) are never recordings."""


@dataclass(frozen=True)
class Found:
    """One recording: ``path`` as reached from its root, ``key`` its name inside the results folder."""

    path: Path
    key: str
    size: int
    mtime_ns: int


@dataclass
class Walk:
    files: list[Found] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    unmatched: int = 0
    """Files left out for not matching the include patterns."""
    mac_metadata: int = 0
    """A Mac's AppleDouble companions (``._NAME``) left out; files inside ``__MACOSX`` are not counted."""


def parse_include(text: str | None) -> tuple[str, ...]:
    """'*.wav,*.flac' -> ('*.wav', '*.flac'); None or empty gives the default set."""
    patterns = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    return patterns or DEFAULT_INCLUDE


def _matches(name: str, patterns: Sequence[str]) -> bool:
    lowered = name.lower()  # archives mix TAKE.WAV and take.wav
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def root_prefixes(roots: Sequence[Path]) -> list[str]:
    """The folder each root's results go under: none for a single root, else the root's name (made
    unique with -2, -3 ... when two roots share a name)."""
    if len(roots) == 1:
        return [""]
    prefixes: list[str] = []
    for root in roots:
        name = root.resolve().name or "root"
        candidate, n = name, 1
        while candidate in prefixes:
            n += 1
            candidate = f"{name}-{n}"
        prefixes.append(candidate)
    return prefixes


def walk(roots: Sequence[str | os.PathLike], include: Sequence[str] = DEFAULT_INCLUDE,
         exclude: Iterable[str | os.PathLike] = ()) -> Walk:
    """Every file under ``roots`` whose name matches ``include``, in a stable order.

    A root that is a file is taken whatever its name; Mac metadata (`MAC_FORKS`) is passed over. Folders in
    ``exclude`` (the results folder, when
    it lies inside the archive) are skipped, and so is any results folder of an earlier run found below a
    root (`is_results_folder`): its `.wav.wav` copies with markers are not recordings of the archive.
    """
    paths = [Path(r) for r in roots]
    out = Walk()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    skipped: set[tuple[int, int]] = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
        except OSError:
            continue
        skipped.add((st.st_dev, st.st_ino))

    def add(path: Path, key: str, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            # A named pipe would block the worker that opens it forever; a device is no recording either.
            out.problems.append((str(path), "not a regular file (a pipe, socket or device)"))
            return
        ident = (st.st_dev, st.st_ino)
        if ident not in seen_files:
            seen_files.add(ident)
            out.files.append(Found(path, key, st.st_size, st.st_mtime_ns))

    for root, prefix in zip(paths, root_prefixes(paths), strict=True):
        try:
            st = os.stat(root)
        except OSError as exc:
            out.problems.append((str(root), _reason(exc)))
            continue
        if not os.path.isdir(root):
            add(root, _join(prefix, root.name), st)
            continue
        stack: list[tuple[Path, str]] = [(root, prefix)]
        while stack:
            folder, key = stack.pop()
            try:
                st = os.stat(folder)
                ident = (st.st_dev, st.st_ino)
                if ident in seen_dirs or ident in skipped:
                    continue
                seen_dirs.add(ident)
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                out.problems.append((str(folder), f"cannot list the folder: {_reason(exc)}"))
                continue
            if folder != root and is_results_folder(folder, {e.name for e in entries}):
                continue
            subfolders = []
            for entry in entries:
                path = Path(entry.path)
                try:
                    if entry.is_dir():
                        if entry.name != MAC_FORKS:
                            subfolders.append((path, _join(key, entry.name)))
                        continue
                    if entry.name.startswith("._"):
                        out.mac_metadata += 1
                        continue
                    if not _matches(entry.name, include):
                        out.unmatched += 1
                        continue
                    if entry.is_symlink() and not path.exists():
                        out.problems.append((str(path), "a broken link"))
                        continue
                    add(path, _join(key, entry.name), entry.stat())
                except OSError as exc:
                    out.problems.append((str(path), _reason(exc)))
            stack.extend(reversed(subfolders))  # depth first, in name order
    return out


def is_results_folder(folder: Path, names: set[str]) -> bool:
    """Whether ``folder`` (holding the file ``names``) is a `batch` results folder: its summary, told by
    the summary's own first columns (the records themselves mostly lie in subfolders, one per folder of
    the archive)."""
    if f"{SUMMARY_STEM}.csv" not in names:
        return False
    try:
        with open(folder / f"{SUMMARY_STEM}.csv", encoding="utf-8", errors="surrogateescape") as f:
            return f.readline().startswith(",".join(BASE_COLUMNS[:3]))
    except (OSError, UnicodeDecodeError):
        return False


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
