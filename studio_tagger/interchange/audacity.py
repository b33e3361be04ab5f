"""Audacity label track text (File > Import/Export > Labels): ``start<TAB>end<TAB>label`` per line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from studio_tagger.analysis.regions import Region

from .context import ExportContext
from .markers import Marker
from .text import bad_line, parse_time, read_text, seconds_text, text_writer


def render(markers: Sequence[Marker], ctx: ExportContext) -> str:
    return "".join(f"{seconds_text(m.start)}\t{seconds_text(m.end)}\t{m.name}\n" for m in markers)


write = text_writer(render)


def read(path: Path) -> list[Region]:
    """Labels as regions (score 1). Accepts ``,`` decimal points, point labels (start == end) and skips
    the ``\\<TAB>low<TAB>high`` frequency lines Audacity writes under spectral-selection labels."""
    regions = []
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("\\"):
            continue
        fields = line.split("\t", 2)
        try:
            start = parse_time(fields[0])
            end = parse_time(fields[1]) if len(fields) > 1 else start
        except ValueError as e:
            raise bad_line(path, line_no, f"expected start<TAB>end<TAB>label ({e})") from e
        if end < start:
            raise bad_line(path, line_no, f"label ends ({end}) before it starts ({start})")
        regions.append(Region(fields[2] if len(fields) > 2 else "", start, end))
    return regions
