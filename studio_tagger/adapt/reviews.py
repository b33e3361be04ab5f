"""Reviews: what an editor checked in one recording, read from a session or a JSON regions file (no Qt).

A review names a recording, its regions and the spans the editor checked (``reviewed``; the whole file
when not given; for a session where the editor used "Next Span to Check", those spans and the regions
edited). Inside those spans the regions are the truth for every label, a label without a region
there being absent; outside them nothing is assumed. A session also knows the regions the editor was
shown before correcting (``shown``), so a lane left as it was shown is known to be right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis.regions import Region
from ..interchange.errors import MarkerFileError
from ..interchange.tables import load_json_document, recording_path, regions_from_document
from ..session import SESSION_FORMAT, Edit, SessionError, apply_edits, load_session


class AdaptError(Exception):
    """A request to adapt that cannot be met (no corrections, unreadable review, bad example); one line."""


@dataclass
class Review:
    source: Path
    regions: list[Region]
    reviewed: list[tuple[float, float]] | None = None  # None: the whole recording
    name: str = ""  # the session or JSON file it came from, for the model card
    session: object | None = None  # the loaded session, whose cached embeddings spare an analysis
    # The regions the editor was shown before correcting (None: not known; adapting then assumes the
    # model's own with the default region settings, as `analyze --json` writes them).
    shown: list[Region] | None = None

    def spans(self, duration: float) -> list[tuple[float, float]]:
        """The checked spans, clipped to the recording."""
        spans = self.reviewed if self.reviewed is not None else [(0.0, duration)]
        return [(max(0.0, s), min(duration, e)) for s, e in spans if min(duration, e) > max(0.0, s)]


def read_review(path: str | Path, require_edits: bool = True) -> Review:
    """A review from a session (``.stsession``) or a JSON file with ``file``, ``regions`` and an optional
    ``reviewed`` list of [start, end] spans; raises AdaptError naming the file and the problem (with
    ``require_edits``, also for a session nobody corrected)."""
    p = Path(path)
    try:
        data = load_json_document(p, "a session or JSON regions file")
    except MarkerFileError as exc:
        raise AdaptError(str(exc)) from exc
    if isinstance(data, dict) and data.get("format") == SESSION_FORMAT:
        try:
            session = load_session(p)
        except SessionError as exc:
            raise AdaptError(str(exc)) from exc
        if require_edits and not session.edits and "reviewed" not in data:
            raise AdaptError(f"{p}: the session has no corrections (edit some regions first)")
        shown = session.detected()
        regions = apply_edits(shown, session.edits)
        reviewed = _spans(p, data.get("reviewed"))
        if reviewed is None and session.checked:
            reviewed = checked_spans(session.checked, session.edits)
        return Review(session.source, regions, reviewed, str(p), session, shown)
    if not isinstance(data, dict) or "regions" not in data:
        raise AdaptError(f"{p}: not a session or JSON regions file (no 'regions')")
    try:
        regions = regions_from_document(p, data)
    except MarkerFileError as exc:
        raise AdaptError(str(exc)) from exc
    source = recording_path(p, data)
    if not source:
        raise AdaptError(f"{p}: names no recording ('file')")
    return Review(Path(source), regions, _spans(p, data.get("reviewed")), str(p))


def checked_spans(checked: Sequence[tuple[float, float]], edits: Sequence[Edit]) -> list[tuple[float, float]]:
    """What an editor who used "Next Span to Check" has checked: the spans they were sent to, and every
    region they edited (where it was and where it went), since an editor who fixes a region has heard it.
    Adapting assumes nothing elsewhere: the rest of the recording was not checked."""
    spans = [(float(a), float(b)) for a, b in checked]
    return merged_spans(spans + [(r.start, r.end) for e in edits for r in (e.old, e.new)
                                 if r is not None and r.end > r.start])


def merged_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``spans`` in time order, those that overlap or touch joined into one."""
    out: list[list[float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _spans(path: Path, value: object) -> list[tuple[float, float]] | None:
    if value is None:
        return None
    try:
        spans = [(float(s), float(e)) for s, e in value]  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise AdaptError(f"{path}: 'reviewed' must be a list of [start, end] pairs in seconds") from exc
    for s, e in spans:
        if not (math.isfinite(s) and math.isfinite(e) and 0.0 <= s < e):
            raise AdaptError(f"{path}: reviewed span {s:g}..{e:g} s is not a span of the recording")
    return spans
