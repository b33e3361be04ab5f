"""Marker exports and imports: regions into the files DAWs and editors read, and back.

    export_regions("reaper", regions, "take.csv", options=ExportOptions(name_template="{label} {n}"))
    regions = import_regions("labels.txt")          # format guessed from the name and first line
    regions = import_regions("layer.svl")           # Sonic Visualiser's XML layer file (regions and instants)

Every export is written atomically (see :mod:`studio_tagger.atomic`). No Qt here.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region
from studio_tagger.atomic import AtomicWriteError, atomic_write

from .context import ActivityTable, ExportContext
from .errors import ExportCancelled, ExportError, InterchangeError, MarkerFileError
from .markers import DEFAULT_NAME_TEMPLATE, ExportOptions, Marker, merge_regions, prepare_markers
from .registry import FORMATS, ExportFormat
from .text import read_text

__all__ = [
    "DEFAULT_NAME_TEMPLATE", "FORMATS", "ActivityTable", "AtomicWriteError", "ExportCancelled", "ExportError", "ExportFormat",
    "ExportOptions", "InterchangeError", "Marker", "MarkerFileError", "detect_import_format",
    "export_regions", "format_for_path", "import_regions", "merge_regions", "prepare_markers",
]

# Extensions that name one format; ".csv" is shared by several, so a bare ".csv" means the generic
# "csv" regions table when exporting, and is told apart by its header when importing.
_BY_EXTENSION = {".txt": "audacity", ".wav": "wav", ".mid": "midi", ".midi": "midi", ".json": "json", ".csv": "csv",
                 ".svl": "sonic-visualiser"}


def _format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}") from None


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The export format a file name suggests (``.csv`` gives the generic ``csv``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _BY_EXTENSION:
        raise ExportError(f"cannot tell the format of {path} from its extension; name one of {', '.join(FORMATS)}")
    return _BY_EXTENSION[suffix]


def export_regions(fmt: str, regions: Sequence[Region], path: str | os.PathLike[str], *,
                   options: ExportOptions | None = None, source_audio: str | os.PathLike[str] | None = None,
                   activity: ActivityTable | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> Path:
    """Write ``regions`` to ``path`` in format ``fmt`` (a key of :data:`FORMATS`); returns the path.

    ``source_audio`` is required by ``wav`` (and named in ``json``); ``activity`` by ``csv-activity``
    (``json`` adds an ``activity`` block when given). Raises ExportError for bad input, AtomicWriteError
    when the file cannot be written, ExportCancelled when ``should_cancel()`` turned true. In every
    failure the target is left as it was and no temporary file remains.
    """
    spec = _format(fmt)
    target = Path(path)
    markers = prepare_markers(regions, options)
    source = Path(source_audio) if source_audio is not None else None
    if spec.needs_audio and (source is None or not source.is_file()):
        raise ExportError(f"the {fmt} export needs the source recording, and {source} is not a file")
    if source is not None and source.exists() and target.exists() and os.path.samefile(target, source):
        raise ExportError(f"refusing to overwrite the recording {source}; choose another file name")
    if spec.needs_activity and activity is None:
        raise ExportError(f"the {fmt} export needs the activity matrix of an analysis")
    ctx = ExportContext(source, activity, should_cancel, target)
    ctx.check_cancel()
    with atomic_write(target, "wb") as out:
        spec.write(out, markers, ctx)
        ctx.check_cancel()  # a cancel during the last step still leaves the old file untouched
    return target


_REAPER_ROW = re.compile(r"^[RM]\d+,", re.IGNORECASE)
# Sonic Visualiser exports a region layer as CSV without a header by default: time,value,duration,label.
_NUMBER = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
_SV_ROW = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER}(,|$)")


def detect_import_format(path: str | os.PathLike[str]) -> str:
    """An importable format for ``path``, from its extension and, for text files, its first line."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".svl":
        return "sonic-visualiser"
    if suffix not in (".csv", ".txt", ".tsv"):
        raise MarkerFileError(f"{p}: cannot import markers from a {suffix or 'extensionless'} file")
    first = next((line for line in read_text(p).splitlines() if line.strip()), "")
    lowered = first.lower().replace(" ", "")
    if lowered.startswith("#,name,") or _REAPER_ROW.match(first):
        return "reaper"
    if lowered.startswith("name\tstart\tduration"):
        return "audition"
    if lowered.startswith("time,value,duration") or _SV_ROW.match(first):
        return "sonic-visualiser"
    if "," in first and {"start", "end"} <= set(lowered.split(",")):
        return "csv"
    if suffix == ".txt" or "\t" in first or not first:
        return "audacity"
    raise MarkerFileError(f"{p}: not a marker list this program knows (first line {first[:60]!r})")


def import_regions(path: str | os.PathLike[str], fmt: str | None = None) -> list[Region]:
    """Regions from a marker file; ``fmt`` (a key of :data:`FORMATS`) or guessed from the file.

    Raises MarkerFileError naming the file and line for anything unreadable.
    """
    p = Path(path)
    try:
        name = fmt or detect_import_format(p)
        spec = _format(name)
        if spec.read is None:
            raise MarkerFileError(f"{p}: the {name} format can be exported but not imported")
        return spec.read(p)
    except OSError as e:
        raise MarkerFileError(f"{p}: cannot read ({e.strerror or e})") from e
    except csv.Error as e:  # NUL bytes, stray carriage returns: not a text table at all
        raise MarkerFileError(f"{p}: not a readable table ({e})") from e
    except RecursionError as e:
        raise MarkerFileError(f"{p}: nested too deeply to be a marker file") from e
