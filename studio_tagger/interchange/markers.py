"""From regions to markers: the user's export options (instruments, score, merge, names) applied once,
so every format writes the same list."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from studio_tagger.analysis.regions import Region

from .errors import ExportError


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how to name it.

    labels: instruments to keep (None = all). min_score: drop regions scoring below it.
    name_template: ``str.format`` template with ``{label}``, ``{n}`` (1-based count per label in time
    order) and ``{score}`` (e.g. ``"{label} {n} ({score:.2f})"``).
    merge_gap: join regions of one label separated by at most this many seconds (0 = off).
    """

    labels: Collection[str] | None = None
    min_score: float = 0.0
    name_template: str = "{label}"
    merge_gap: float = 0.0


@dataclass(frozen=True)
class Marker:
    """One named region as it goes into a file; times in seconds."""

    name: str
    label: str
    start: float
    end: float
    score: float

    @property
    def duration(self) -> float:
        return self.end - self.start


# Tabs and line breaks would break the line/column layouts of the text formats; other control
# characters are invisible in every editor. They become spaces in names.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def render_name(template: str, label: str, n: int, score: float) -> str:
    """The marker name for one region; raises ExportError naming the problem in a bad template."""
    try:
        name = template.format_map({"label": label, "n": n, "score": score})
    except KeyError as e:
        raise ExportError(
            f"name template {template!r} uses unknown field {{{e.args[0]}}}; use {{label}}, {{n}}, {{score}}"
        ) from e
    except (ValueError, IndexError, TypeError) as e:
        raise ExportError(f"name template {template!r} is not valid: {e}") from e
    return _CONTROL.sub(" ", name)


def _check_region(r: Region) -> None:
    if not (math.isfinite(r.start) and math.isfinite(r.end)) or r.start < 0 or r.end < r.start:
        raise ExportError(f"region {r.label!r} has invalid times {r.start}..{r.end} s")


def merge_regions(regions: Sequence[Region], gap: float) -> list[Region]:
    """Join regions of the same label that overlap or are at most ``gap`` seconds apart.

    A joined region keeps the highest score of its parts (the strongest evidence it contains).
    """
    by_label: dict[str, list[Region]] = defaultdict(list)
    for r in regions:
        by_label[r.label].append(r)
    merged: list[Region] = []
    for label, group in by_label.items():
        group.sort(key=lambda r: r.start)
        current = group[0]
        for r in group[1:]:
            if r.start - current.end <= gap:
                current = Region(label, current.start, max(current.end, r.end), max(current.score, r.score))
            else:
                merged.append(current)
                current = r
        merged.append(current)
    return merged


def prepare_markers(regions: Sequence[Region], options: ExportOptions | None = None) -> list[Marker]:
    """Filter, merge and name ``regions``; the result is sorted by start time."""
    opts = options or ExportOptions()
    render_name(opts.name_template, "label", 1, 1.0)  # a bad template fails even when nothing is exported
    for r in regions:
        _check_region(r)
    kept = [
        r for r in regions
        if (opts.labels is None or r.label in opts.labels) and r.score >= opts.min_score
    ]
    if opts.merge_gap > 0:
        kept = merge_regions(kept, opts.merge_gap)
    kept.sort(key=lambda r: (r.start, r.end, r.label))
    counts: Counter[str] = Counter()
    markers = []
    for r in kept:
        counts[r.label] += 1
        name = render_name(opts.name_template, r.label, counts[r.label], r.score)
        markers.append(Marker(name, r.label, r.start, r.end, r.score))
    return markers
