"""From regions to markers: the user's export options (instruments, score, merge, names) applied once,
so every format writes the same list."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from string import Formatter

from studio_tagger.analysis.regions import Region

from .errors import ExportError

# The marker name users get unless they choose another: the CLI's exports (`export --name`, `analyze
# --export`) and the app's export dialog both start from it, so a region is called the same wherever it was
# exported from. ExportOptions itself keeps the bare label, the plainest choice for scripts.
DEFAULT_NAME_TEMPLATE = "{label} {n}"


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how to name it.

    labels: instruments to keep (None = all). min_score: drop regions scoring below it.
    name_template: ``str.format`` template with ``{label}``, ``{n}`` (1-based number per label in time
    order, counted over all the regions given, so a region keeps its number whatever the filters keep)
    and ``{score}`` (e.g. ``"{label} {n} ({score:.2f})"``).
    merge_gap: join regions of one label separated by at most this many seconds (0 = off); a joined
    region takes the number of its first part.
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
    fields = {"label": label, "n": n, "score": score}
    try:
        # Only the three fields themselves: "{label.upper}" or "{label[0]}" would reach into Python objects.
        # Fields nested in a format spec ("{score:{n}}") are looked up too.
        parsed = list(Formatter().parse(template))
        parsed += [x for _, f, spec, _ in parsed if f is not None and spec for x in Formatter().parse(spec)]
        unknown = next((f for _, f, _, _ in parsed if f is not None and f not in fields), None)
        if unknown is not None:
            raise KeyError(unknown)
        name = template.format_map(fields)
    except KeyError as e:
        raise ExportError(
            f"name template {template!r} uses unknown field {{{e.args[0]}}}; use {{label}}, {{n}}, {{score}}"
        ) from e
    except (ValueError, IndexError, TypeError) as e:
        raise ExportError(f"name template {template!r} is not valid: {e}") from e
    return clean_text(name)


def clean_text(text: str) -> str:
    """``text`` with tabs, line breaks and other control characters as spaces (names and labels alike)."""
    return _CONTROL.sub(" ", text)


def _check_region(r: Region) -> None:
    if not (math.isfinite(r.start) and math.isfinite(r.end)) or r.start < 0 or r.end < r.start:
        raise ExportError(f"region {r.label!r} has invalid times {r.start}..{r.end} s")


def merge_regions(regions: Sequence[Region], gap: float) -> list[Region]:
    """Join regions of the same label that overlap or are at most ``gap`` seconds apart.

    A joined region keeps the highest score of its parts (the strongest evidence it contains).
    """
    return [r for r, _ in _merge_numbered([(r, 0) for r in regions], gap)]


def _merge_numbered(numbered: Sequence[tuple[Region, int]], gap: float) -> list[tuple[Region, int]]:
    """:func:`merge_regions` over (region, number) pairs; a joined region keeps its first part's number."""
    by_label: dict[str, list[tuple[Region, int]]] = defaultdict(list)
    for r, n in numbered:
        by_label[r.label].append((r, n))
    merged: list[tuple[Region, int]] = []
    for label, group in by_label.items():
        group.sort(key=lambda rn: rn[0].start)
        current, number = group[0]
        for r, n in group[1:]:
            if r.start - current.end <= gap:
                current = Region(label, current.start, max(current.end, r.end), max(current.score, r.score))
            else:
                merged.append((current, number))
                current, number = r, n
        merged.append((current, number))
    return merged


def _time_order(r: Region) -> tuple[float, float, str]:
    return r.start, r.end, r.label


def prepare_markers(regions: Sequence[Region], options: ExportOptions | None = None) -> list[Marker]:
    """Filter, merge and name ``regions``; the result is sorted by start time.

    ``{n}`` is counted before the filters, so exporting only the strong regions, or one instrument,
    still calls the third clarinet region "clarinet 3" as a full export does.
    """
    opts = options or ExportOptions()
    render_name(opts.name_template, "label", 1, 1.0)  # a bad template fails even when nothing is exported
    for r in regions:
        _check_region(r)
    counts: Counter[str] = Counter()
    numbered = []
    for r in sorted(regions, key=_time_order):
        counts[r.label] += 1
        numbered.append((r, counts[r.label]))
    kept = [
        (r, n) for r, n in numbered
        if (opts.labels is None or r.label in opts.labels) and r.score >= opts.min_score
    ]
    if opts.merge_gap > 0:
        kept = _merge_numbered(kept, opts.merge_gap)
    kept.sort(key=lambda rn: _time_order(rn[0]))
    return [Marker(render_name(opts.name_template, r.label, n, r.score), clean_text(r.label), r.start, r.end,
                   r.score) for r, n in kept]
