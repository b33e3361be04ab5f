"""JSON and CSV for scripts: the regions (with names, labels and scores) and the activity matrix."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region
from studio_tagger.jsontext import json_text

from .context import ExportContext
from .errors import ExportError, MarkerFileError
from .markers import Marker
from .text import read_text, seconds_text, text_writer

JSON_FORMAT_ID = "studio-tagger regions"
CSV_HEADER = ["name", "label", "start", "end", "duration", "score"]


def render_json(markers: Sequence[Marker], ctx: ExportContext) -> str:
    """``{"format", "version", "source", "regions": [...], "activity"?: {labels, times, values}}``."""
    doc: dict = {
        "format": JSON_FORMAT_ID,
        "version": 1,
        # Absolute, as sessions store it: `studio-tagger export regions.json --format wav` must find the
        # recording from wherever it is run. A recording that could not be found keeps the name it was
        # given rather than a guessed folder.
        "source": (str(ctx.source_audio.resolve()) if ctx.source_audio.exists() else str(ctx.source_audio))
        if ctx.source_audio else None,
        "regions": [
            {"name": m.name, "label": m.label, "start": m.start, "end": m.end, "score": m.score}
            for m in markers
        ],
    }
    if ctx.activity is not None:
        doc["activity"] = {
            "labels": list(ctx.activity.labels),
            "times": [round(float(t), 6) for t in ctx.activity.times],
            # 6 decimals is far below the model's precision and keeps long recordings' files small.
            "values": [[round(float(v), 6) for v in row] for row in ctx.activity.activity],
        }
    return json_text(doc, indent=1) + "\n"


def render_csv(markers: Sequence[Marker], ctx: ExportContext) -> str:
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(CSV_HEADER)
    for m in markers:
        rows.writerow([m.name, m.label, seconds_text(m.start), seconds_text(m.end), seconds_text(m.duration),
                       f"{m.score:.6f}"])
    return buf.getvalue()


def render_activity_csv(markers: Sequence[Marker], ctx: ExportContext) -> str:
    """``time,<label>,<label>...``: one row per analysis window; the markers are not used."""
    if ctx.activity is None:
        raise ExportError("the activity CSV needs the activity matrix of an analysis")
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(["time", *ctx.activity.labels])
    for t, row in zip(ctx.activity.times, ctx.activity.activity, strict=True):
        rows.writerow([seconds_text(float(t)), *(f"{float(v):.6f}" for v in row)])
    return buf.getvalue()


write_json = text_writer(render_json)
write_csv = text_writer(render_csv)
write_activity_csv = text_writer(render_activity_csv)


def _region(path: Path, where: str, d: object) -> Region:
    if not isinstance(d, dict):
        raise MarkerFileError(f"{path}: {where} is not an object with label, start and end")
    try:
        region = Region.from_dict({**d, "label": d.get("label", d.get("name"))})
    except (KeyError, TypeError, ValueError) as e:
        raise MarkerFileError(f"{path}: {where} needs label (or name), start and end as numbers") from e
    if not all(math.isfinite(x) for x in (region.start, region.end, region.score)):
        raise MarkerFileError(f"{path}: {where} has a time or score that is not a finite number")
    if region.end < region.start or region.start < 0:
        raise MarkerFileError(f"{path}: {where} has invalid times {region.start}..{region.end}")
    return region


def read_json(path: Path) -> list[Region]:
    """Regions from this module's JSON, or any JSON holding a ``regions`` list or a bare list of
    ``{label, start, end, score?}`` objects (such as an analysis result)."""
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise MarkerFileError(f"{path}: not valid JSON ({e})") from e
    return regions_from_document(path, doc)


def load_json_document(path: Path, what: str) -> object:
    """A parsed UTF-8 JSON file; MarkerFileError "PATH: no such file" or "PATH: not WHAT (reason)" when it
    cannot be read or parsed (``what``: the kinds of document the caller accepts)."""
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except FileNotFoundError as exc:
        raise MarkerFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarkerFileError(f"{path}: not {what} ({exc})") from exc


def regions_from_document(path: Path, doc: object) -> list[Region]:
    """The checked regions of a parsed JSON document from ``path``: its ``regions`` list, or the
    document itself when it is a list."""
    items = doc.get("regions") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise MarkerFileError(f"{path}: no list of regions found")
    return [_region(path, f"region {i + 1}", d) for i, d in enumerate(items)]


def source_path(path: Path, described: object) -> str | None:
    """The recording a document from ``path`` names in its ``source``: a session's ``{"path": ...}`` or a
    JSON export's string. A relative name (older exports stored the bare file name) is taken as lying
    beside the document, and so is an absolute one that is gone while its file lies there."""
    name = described.get("path") if isinstance(described, dict) else described
    if not isinstance(name, str) or not name:
        return None
    return str(path.parent / name) if not Path(name).is_absolute() else _moved_beside(path, name)


def _moved_beside(path: Path, name: str) -> str:
    """An absolute ``name`` that no longer exists but whose file lies beside the document ``path``: the two
    were moved together (a project folder copied to another disk), as a session's recording is found."""
    beside = path.parent / Path(name).name
    return str(beside) if not Path(name).exists() and beside.is_file() else name


def recording_path(path: Path, data: dict) -> str | None:
    """The recording a JSON document from ``path`` is about: its ``file`` (as `analyze --json` writes it)
    or its ``source`` (a JSON export's). ``analyze --json`` keeps the path it was given, relative to the
    folder it ran in, and the document is often saved elsewhere (``--json reviews/take.json``): a relative
    name is looked for beside the document first, then from the working folder; when neither holds it, the
    name is returned as the document gives it (a guessed path would be written into exports as if found)."""
    name = data.get("file")
    if not isinstance(name, str) or not name:
        return source_path(path, data.get("source"))
    if Path(name).is_absolute():
        return _moved_beside(path, name)
    beside = path.parent / name
    if beside.exists():
        return str(beside)
    return str(Path(name).resolve()) if Path(name).exists() else name


def read_csv(path: Path) -> list[Region]:
    rows = csv.DictReader(io.StringIO(read_text(path)))
    if not rows.fieldnames or not {"start", "end"} <= set(rows.fieldnames):
        raise MarkerFileError(f"{path}: expected a header with label (or name), start and end")
    # DictReader counts the header as line 1.
    return [_region(path, f"line {i + 2}", {k: v for k, v in row.items() if v not in (None, "")})
            for i, row in enumerate(rows)]
