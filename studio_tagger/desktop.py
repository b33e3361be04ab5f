"""Desktop integration on Linux (freedesktop.org): an application-menu entry, the icon, and a MIME type for
``.stsession`` files, so the app opens from the menu and from a file manager's "Open with".

    studio-tagger install-desktop            # into $XDG_DATA_HOME (~/.local/share): this user only
    studio-tagger install-desktop --uninstall

Writes ``applications/studio-tagger.desktop``, ``mime/packages/studio-tagger.xml`` and the icon under
``icons/hicolor/scalable/`` (as the app icon and the session files' icon), then refreshes the desktop and
MIME caches with ``update-desktop-database`` and ``update-mime-database`` where they are installed (desktops
also rescan on their own). No Qt here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .atomic import atomic_write
from .session import SESSION_SUFFIX
from .shipped import icon

APP_ID = "studio-tagger"
SESSION_MIME = "application/x-studio-tagger-session"
# The audio formats the reader opens (studio_tagger.audio: WAV, FLAC, Ogg, MP3, AIFF, RF64, W64), under the
# names shared-mime-info gives them and the aliases older file managers still send.
AUDIO_MIME = ("audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/ogg",
              "audio/x-vorbis+ogg", "audio/mpeg", "audio/x-aiff", "audio/aiff", "audio/x-w64", "audio/x-rf64")


def data_home(override: str | os.PathLike[str] | None = None) -> Path:
    """Where per-user desktop files go: ``override``, else $XDG_DATA_HOME, else ~/.local/share."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("XDG_DATA_HOME")
    return Path(env) if env and Path(env).is_absolute() else Path.home() / ".local" / "share"


def launcher() -> list[str]:
    """The command that starts this copy of the program: its console script beside the running Python (a
    venv, pipx), else one on PATH, else ``python -m studio_tagger.cli``."""
    beside = Path(sys.executable).with_name(APP_ID)
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which(APP_ID)
    return [found] if found else [sys.executable, "-m", "studio_tagger.cli"]


_PLAIN_ARG = re.compile(r"[A-Za-z0-9_/.+,:@=-]+")


def exec_quote(arg: str) -> str:
    """One argument of a desktop entry's Exec key (Desktop Entry Specification, "The Exec key"): in double
    quotes when it holds anything but plain characters, with the double quote, backtick, dollar sign and
    backslash escaped by a backslash inside them; then percent signs doubled and every backslash doubled
    again, since the Exec value is itself an escaped string."""
    quoted = arg if _PLAIN_ARG.fullmatch(arg) else '"' + re.sub(r'["`$\\]', lambda m: "\\" + m.group(), arg) + '"'
    return quoted.replace("%", "%%").replace("\\", "\\\\")


def desktop_entry(command: Sequence[str]) -> str:
    exec_line = " ".join(exec_quote(a) for a in [*command, "app"]) + " %f"
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=studio-tagger",
        "GenericName=Instrument tagger",
        "Comment=Find where each instrument plays in a recording and export the places as markers",
        f"Exec={exec_line}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;",
        "Keywords=instrument;markers;regions;DAW;",
        f"MimeType={';'.join([SESSION_MIME, *AUDIO_MIME])};",
        "",
    ])


def mime_package() -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="{SESSION_MIME}">
    <comment>studio-tagger session</comment>
    <sub-class-of type="application/json"/>
    <icon name="{SESSION_MIME.replace('/', '-')}"/>
    <glob pattern="*{SESSION_SUFFIX}"/>
  </mime-type>
</mime-info>
"""


def planned_files(home: Path) -> dict[Path, bytes]:
    """What install-desktop writes under ``home``, path by path."""
    svg = icon().read_bytes()
    icons = home / "icons" / "hicolor" / "scalable"
    return {
        home / "applications" / f"{APP_ID}.desktop": desktop_entry(launcher()).encode("utf-8"),
        home / "mime" / "packages" / f"{APP_ID}.xml": mime_package().encode("utf-8"),
        icons / "apps" / f"{APP_ID}.svg": svg,
        icons / "mimetypes" / f"{SESSION_MIME.replace('/', '-')}.svg": svg,
    }


def _refresh_caches(home: Path) -> None:
    """The caches desktops read; a missing tool is fine (they rescan on their own), a failing one is not
    worth failing the install for."""
    for tool, folder in (("update-desktop-database", "applications"), ("update-mime-database", "mime")):
        path = shutil.which(tool)
        if path:
            subprocess.run([path, str(home / folder)], capture_output=True, timeout=60, check=False)


def install_desktop(home: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write the menu entry, MIME type and icons (atomically each); returns the paths written."""
    target = data_home(home)
    written = []
    for path, content in planned_files(target).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as f:
            f.write(content)
        written.append(path)
    _refresh_caches(target)
    return written


def uninstall_desktop(home: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove what :func:`install_desktop` wrote; returns the paths removed."""
    target = data_home(home)
    removed = []
    for path in planned_files(target):
        if path.is_file():
            path.unlink()
            removed.append(path)
    _refresh_caches(target)
    return removed
