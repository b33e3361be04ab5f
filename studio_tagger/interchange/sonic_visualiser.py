"""Sonic Visualiser region layer CSV (File > Import Annotation Layer): ``time,value,duration,label``.

``value`` (the region's height in the layer) carries the region's score.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region

from .context import ExportContext
from .markers import Marker
from .text import bad_line, parse_time, read_text, seconds_text, text_writer

HEADER = ["time", "value", "duration", "label"]


def render(markers: Sequence[Marker], ctx: ExportContext) -> str:
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(HEADER)
    for m in markers:
        rows.writerow([seconds_text(m.start), f"{m.score:.6f}", seconds_text(m.duration), m.name])
    return buf.getvalue()


write = text_writer(render)


def read(path: Path) -> list[Region]:
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
