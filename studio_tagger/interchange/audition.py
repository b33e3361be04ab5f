"""Adobe Audition marker list (Markers panel > Export/Import): tab-delimited text despite the ``.csv``
name, times in the ``decimal`` time format as Audition writes them (``M:SS.mmm`` under an hour, such as
``1:16.655``, and ``H:MM:SS.mmm`` from an hour on), range markers of type ``Cue``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region

from .context import ExportContext
from .markers import Marker
from .text import bad_line, parse_time, read_text, text_writer

HEADER = ("Name", "Start", "Duration", "Time Format", "Type", "Description")


def render(markers: Sequence[Marker], ctx: ExportContext) -> str:
    lines = ["\t".join(HEADER)]
    for m in markers:
        # Duration from the rounded ends, so Start + Duration lands on the rounded end exactly.
        duration_ms = round(m.end * 1000) - round(m.start * 1000)
        lines.append("\t".join([m.name, decimal_time(round(m.start * 1000)), decimal_time(duration_ms), "decimal",
                               "Cue", ""]))
    return "\n".join(lines) + "\n"


def decimal_time(ms: int) -> str:
    """Audition's ``decimal`` layout of a whole number of milliseconds: ``M:SS.mmm``, hours only from 1 h."""
    seconds, frac = divmod(max(0, ms), 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}.{frac:03d}"
    return f"{minutes}:{secs:02d}.{frac:03d}"


write = text_writer(render)


def read(path: Path) -> list[Region]:
    """Markers in the ``decimal`` time format as regions (score 1); other time formats are refused."""
    regions = []
    first = True
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split("\t")
        if not line.strip():
            continue
        header, first = first and fields[0] == HEADER[0], False
        if header:  # the first line only: a marker may well be called "Name"
            continue
        if len(fields) < 4 or fields[3].strip().lower() != "decimal":
            raise bad_line(path, line_no, "expected Name, Start, Duration, 'decimal' separated by tabs")
        try:
            start = parse_time(fields[1])
            duration = parse_time(fields[2])
        except ValueError as e:
            raise bad_line(path, line_no, str(e)) from e
        regions.append(Region(fields[0], start, start + duration))
    return regions
