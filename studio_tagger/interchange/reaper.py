"""REAPER region/marker list CSV (Region/Marker Manager export/import), times in seconds.

Header ``#,Name,Start,End,Length``; regions are ``R1,name,start,end,length``, zero-length regions become
markers ``M1,name,start,,`` (numbered apart from the regions, as REAPER numbers them). Names with commas or
quotes are quoted CSV-style, as REAPER does.

Times are plain seconds. REAPER's own exports write times in whatever the ruler shows (measures.beats,
samples, h:m:s:f ...); whether its import reads plain seconds whatever the ruler shows could not be checked
here, so the README tells users to set the ruler's time unit to seconds before importing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region

from .context import ExportContext
from .markers import Marker
from .text import bad_line, parse_time, read_text, seconds_text, text_writer

HEADER = ["#", "Name", "Start", "End", "Length"]


def render(markers: Sequence[Marker], ctx: ExportContext) -> str:
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(HEADER)
    counts = {"R": 0, "M": 0}
    for m in markers:
        kind = "R" if m.end > m.start else "M"
        counts[kind] += 1
        if kind == "R":
            rows.writerow([f"R{counts[kind]}", m.name, seconds_text(m.start), seconds_text(m.end),
                           seconds_text(m.duration)])
        else:
            rows.writerow([f"M{counts[kind]}", m.name, seconds_text(m.start), "", ""])
    return buf.getvalue()


write = text_writer(render)


def read(path: Path) -> list[Region]:
    """Regions (``R`` rows) and markers (``M`` rows, as zero-length regions), score 1.

    Times must be in seconds or ``[H:]M:SS.mmm``; REAPER's measures.beats layout needs the project
    tempo and is refused with a clear message.
    """
    regions = []
    for line_no, row in enumerate(csv.reader(io.StringIO(read_text(path))), start=1):
        if not row or row[0].strip() in ("", "#"):
            continue
        kind = row[0].strip()[:1].upper()
        if kind not in ("R", "M") or len(row) < 3:
            raise bad_line(path, line_no, "expected R<n>,name,start,end,length or M<n>,name,start")
        try:
            start = parse_time(row[2])
            end = parse_time(row[3]) if kind == "R" and len(row) > 3 and row[3].strip() else start
        except ValueError as e:
            raise bad_line(path, line_no, f"times must be in seconds or H:MM:SS ({e})") from e
        if end < start:
            raise bad_line(path, line_no, f"region ends ({end}) before it starts ({start})")
        regions.append(Region(row[1], start, end))
    return regions
