"""Sonic Visualiser: its XML layer file (``.svl``, File > Import Annotation Layer; the default) or a region
layer CSV (``time,value,duration,label``), chosen by the file name.

The ``.svl`` holds a region layer (a sparse model of dimension 3, subtype ``region``: frame, value,
duration, label per point) and, when there are zero-length regions, a time-instants layer (a sparse model
of dimension 1) beside it: Sonic Visualiser drops zero-length rows of a region layer, so point markers go
where it keeps them. Frames count samples at the recording's own rate (read from the source recording;
44.1 kHz when there is none), as the layers of a Sonic Visualiser session do. ``value`` (the height of a
region in its layer) carries the region's score.

The CSV layout cannot hold instants beside regions: zero-length rows are written, but Sonic Visualiser
skips them on import; choose ``.svl`` to keep them.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from studio_tagger.analysis.regions import Region
from studio_tagger.audio import AudioError, probe

from .context import ExportContext
from .errors import MarkerFileError
from .markers import Marker
from .text import bad_line, parse_time, read_text, seconds_text

HEADER = ["time", "value", "duration", "label"]
FALLBACK_RATE = 44100
SVL_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sonic-visualiser>\n'


def render_csv(markers: Sequence[Marker], ctx: ExportContext) -> str:
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(HEADER)
    for m in markers:
        rows.writerow([seconds_text(m.start), f"{m.score:.6f}", seconds_text(m.duration), m.name])
    return buf.getvalue()


def sample_rate_of(ctx: ExportContext) -> int:
    """The recording's sample rate, which Sonic Visualiser expects the layer's frames to count in."""
    if ctx.source_audio is not None:
        try:
            return probe(ctx.source_audio).sample_rate
        except AudioError:
            pass  # a session whose recording moved still exports; the frames are then at the fallback rate
    return FALLBACK_RATE


def render_svl(markers: Sequence[Marker], ctx: ExportContext) -> str:
    rate = sample_rate_of(ctx)
    regions = [m for m in markers if m.end > m.start]
    instants = [m for m in markers if m.end <= m.start]
    root = ET.Element("sv")
    data = ET.SubElement(root, "data")
    display = ET.SubElement(root, "display")

    def frame(t: float) -> int:
        return round(t * rate)

    def model(model_id: int, dataset_id: int, name: str, dimensions: int, spans: Sequence[Marker],
              extra: dict[str, str]) -> ET.Element:
        start = min((frame(m.start) for m in spans), default=0)
        end = max((frame(m.end) for m in spans), default=0)
        ET.SubElement(data, "model", {
            "id": str(model_id), "name": name, "sampleRate": str(rate), "start": str(start), "end": str(end),
            "type": "sparse", "dimensions": str(dimensions), "resolution": "1", "notifyOnAdd": "true",
            "dataset": str(dataset_id), **extra,
        })
        return ET.SubElement(data, "dataset", {"id": str(dataset_id), "dimensions": str(dimensions)})

    scores = [m.score for m in regions] or [0.0, 1.0]
    dataset = model(1, 0, "studio-tagger regions", 3, regions, {
        "subtype": "region", "valueQuantization": "0", "minimum": f"{min(scores):.6f}",
        "maximum": f"{max(scores):.6f}", "units": ""})
    for m in regions:
        ET.SubElement(dataset, "point", {"frame": str(frame(m.start)), "value": f"{m.score:.6f}",
                                         "duration": str(frame(m.end) - frame(m.start)), "label": m.name})
    ET.SubElement(display, "layer", {"id": "2", "type": "regions", "name": "studio-tagger regions", "model": "1",
                                     "verticalScale": "0", "plotStyle": "0", "colourName": "Purple",
                                     "colour": "#c832ff", "darkBackground": "false"})
    if instants:
        dataset = model(4, 3, "studio-tagger markers", 1, instants, {})
        for m in instants:
            ET.SubElement(dataset, "point", {"frame": str(frame(m.start)), "label": m.name})
        ET.SubElement(display, "layer", {"id": "5", "type": "timeinstants", "name": "studio-tagger markers",
                                         "model": "4", "plotStyle": "0", "colourName": "Orange",
                                         "colour": "#ff9632", "darkBackground": "false"})
    ET.indent(root)
    return SVL_HEADER + ET.tostring(root, encoding="unicode") + "\n"


def write(out: BinaryIO, markers: Sequence[Marker], ctx: ExportContext) -> None:
    csv_layout = ctx.target is not None and ctx.target.suffix.lower() == ".csv"
    out.write((render_csv if csv_layout else render_svl)(markers, ctx).encode("utf-8"))


def read(path: Path) -> list[Region]:
    """Regions from a ``.svl`` layer file (see :func:`read_svl`) or a region layer CSV."""
    if path.suffix.lower() == ".svl" or read_text(path).lstrip().startswith("<"):
        return read_svl(path)
    return read_csv(path)


def read_csv(path: Path) -> list[Region]:
    regions = []
    for line_no, row in enumerate(csv.reader(io.StringIO(read_text(path))), start=1):
        if not row or [c.strip().lower() for c in row[:3]] == HEADER[:3]:
            continue
        try:
            start, score, duration = parse_time(row[0]), float(row[1]), parse_time(row[2])
        except (ValueError, IndexError) as e:
            raise bad_line(path, line_no, f"expected time,value,duration,label ({e})") from e
        if not math.isfinite(score):
            raise bad_line(path, line_no, f"value {row[1]!r} is not a finite number")
        regions.append(Region(row[3] if len(row) > 3 else "", start, start + duration, score))
    return regions


def read_svl(path: Path) -> list[Region]:
    """Regions from a Sonic Visualiser layer file (``.svl``, as File > Export Annotation Layer writes it, or
    as this module does): every region layer gives regions (score = the point's value), every time-instants
    layer gives zero-length regions, sorted by start. Other layers (time values, notes, images) are skipped.

    Raises MarkerFileError for a file that is not such XML or holds neither kind of layer.
    """
    try:
        root = ET.fromstring(read_text(path))
    except ET.ParseError as e:
        raise MarkerFileError(f"{path}: not a Sonic Visualiser layer file ({e})") from e
    datasets = {d.get("id"): d for d in root.iter("dataset")}
    regions: list[Region] = []
    found = False
    for model in root.iter("model"):
        dimensions = model.get("dimensions")
        is_regions = dimensions == "3" and model.get("subtype") == "region"
        if model.get("type") != "sparse" or not (is_regions or dimensions == "1"):
            continue
        found = True
        dataset = datasets.get(model.get("dataset"))
        try:
            rate = float(model.get("sampleRate", ""))
            if not (math.isfinite(rate) and rate > 0):
                raise ValueError(f"sample rate {rate}")
        except ValueError as e:
            raise MarkerFileError(f"{path}: model {model.get('id')} has no valid sampleRate ({e})") from e
        for i, point in enumerate(dataset.iter("point") if dataset is not None else (), start=1):
            regions.append(_point(path, model.get("id"), i, point, rate, is_regions))
    if not found:
        raise MarkerFileError(f"{path}: holds no region or time-instants layer")
    return sorted(regions, key=lambda r: (r.start, r.end))


def _point(path: Path, model_id: str | None, i: int, point: ET.Element, rate: float, is_region: bool) -> Region:
    where = f"{path}: model {model_id}, point {i}"
    try:
        start = int(point.get("frame", "")) / rate
        duration = int(point.get("duration", "0")) / rate if is_region else 0.0
        score = float(point.get("value", "1")) if is_region else 1.0
    except (ValueError, OverflowError) as e:
        raise MarkerFileError(f"{where}: frame, duration and value must be numbers ({e})") from e
    if not (0 <= start < math.inf and 0 <= duration < math.inf and start + duration < math.inf
            and math.isfinite(score)):
        raise MarkerFileError(f"{where}: has a negative or endless time, or a value that is not a finite number")
    return Region(point.get("label", ""), start, start + duration, score)
