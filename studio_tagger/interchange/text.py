"""Shared pieces of the text formats: number layout, reading clock times, reading files of unknown encoding."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from .context import ExportContext
from .errors import MarkerFileError
from .markers import Marker

WriteFn = Callable[[BinaryIO, Sequence[Marker], ExportContext], None]


def seconds_text(t: float) -> str:
    """Seconds with 6 decimals and '.' whatever the locale (f-strings never localise)."""
    return f"{t:.6f}"


def parse_time(text: str) -> float:
    """Seconds from ``12.5``, ``12,5`` (comma locales), ``M:SS.mmm`` or ``H:MM:SS.mmm``."""
    parts = text.strip().replace(",", ".").split(":")
    if len(parts) > 3 or not parts[-1]:
        raise ValueError(f"not a time: {text!r}")
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a time: {text!r}")
    return value


def read_text(path: Path) -> str:
    """A marker file's text: UTF-8 (with or without BOM), else Windows-1252 as older tools wrote."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def text_writer(render: Callable[[Sequence[Marker], ExportContext], str]) -> WriteFn:
    """A format writer from a function that renders the whole file as text (UTF-8, no BOM)."""

    def write(out: BinaryIO, markers: Sequence[Marker], ctx: ExportContext) -> None:
        out.write(render(markers, ctx).encode("utf-8", errors="surrogateescape"))  # see atomic_write

    return write


def bad_line(path: Path, line_no: int, why: str) -> MarkerFileError:
    return MarkerFileError(f"{path}:{line_no}: {why}")
