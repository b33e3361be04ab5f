"""Regions: where one instrument plays, found from its activity curve."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..labels import LABELS


@dataclass(frozen=True)
class Region:
    """One stretch of time where ``label`` plays; times in seconds from the file start."""

    label: str
    start: float
    end: float
    score: float = 1.0

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Region:
        return cls(str(d["label"]), float(d["start"]), float(d["end"]), float(d.get("score", 1.0)))


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


def lane_name(text: str) -> str:
    """``text`` as a lane's name: control characters (a newline pasted into a marker) and runs of white
    space made one space, none around it, so a name prints on one line and "french  horn" is "french horn"."""
    return _UNPRINTABLE.sub(" ", text).strip()


def on_lanes(regions: Sequence[Region], lanes: Sequence[str]) -> list[Region]:
    """``regions`` with each label written as the lane it names: "Trumpet" or " trumpet" (a DAW's marker, a
    hand-written review) is the trumpet lane, not a second one. Labels no lane has keep the first spelling
    they come with ("Oboe", then "oboe" is the same new lane), as `lane_name` writes it."""
    spelling = {lane_name(lane).casefold(): lane for lane in lanes}
    out = []
    for r in regions:
        name = lane_name(r.label)
        label = spelling.setdefault(name.casefold(), name)
        out.append(r if label == r.label else replace(r, label=label))
    return out


@dataclass
class RegionParams:
    """How activity curves become regions. Times in seconds, thresholds on activity in [0, 1].

    A region opens where the smoothed curve rises above ``threshold_on`` and closes where it falls below
    ``threshold_off`` (hysteresis, so a curve hovering near one threshold does not flicker); gaps shorter
    than ``merge_gap`` are bridged, then regions shorter than ``min_duration`` are dropped. Last, a region
    that lies mostly (``shadow_overlap`` of it) inside a region of another lane, where that other lane is
    on average at least ``shadow_margin`` more active, is taken for a confusion and dropped (0 keeps it);
    both lanes must be among ``shadow_labels`` (the shipped eight).
    """

    # Defaults chosen with model 0.4.0 on its 14 calibration takes (GM, real-note solos, accompaniment
    # only): against 0.4/0.25/1.5 s/2 s, dropping regions under 3 s and bridging gaps up to 4 s (a
    # breath, a bar's rest) took false regions from 1.12 to 0.57 a minute and found 67 of 80 solos, not 64.
    # The held-out takes agreed (false regions a minute on accompaniment only 1.54 -> 0.88; real-note
    # solos found 27 -> 30 of 35): `python benchmarks/region_params.py`.
    smoothing: float = 0.75
    threshold_on: float = 0.4
    threshold_off: float = 0.2
    min_duration: float = 3.0
    merge_gap: float = 4.0
    # Most false regions over solos are a second lane lit weakly by the solo (a sax solo lighting the
    # guitar lane, a clarinet the flute): of 56 on held-out FreePats takes, 50 overlapped another solo and
    # scored lower than the solos found. Dropping a region that lies inside a clearly stronger one of
    # another lane, chosen with model 0.4.1 on the 14 tuning takes (margin 0.2 over 0.1/0.3/0.4; overlaps of
    # 0.5, 0.8 and 0.95 tied there, and the largest drops the fewest), cut false regions on every held-out set with
    # solos (real-note takes 0.67 -> 0.50 a minute, FreePats 2.21 -> 1.96, GM 0.79 -> 0.67, OPL3 2.33 ->
    # 2.25) without losing a solo, duets among them: instruments that really play together are both
    # active, so neither is clearly stronger. `benchmarks/region_params.py`.
    shadow_margin: float = 0.2
    shadow_overlap: float = 0.95
    # Only among the shipped lanes, whose scores the margin was measured on: a lane taught from a few
    # examples scores on a scale of its own (with it, new lanes lost 0.01-0.06 F1 in
    # benchmarks/adaptation.py), so it is neither dropped nor drops another.
    shadow_labels: tuple[str, ...] = LABELS
    per_label: dict[str, tuple[float, float]] = field(default_factory=dict)

    def thresholds(self, label: str) -> tuple[float, float]:
        on, off = self.per_label.get(label, (self.threshold_on, self.threshold_off))
        return on, min(off, on)


def smooth(curve: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` bins; near the edges (and on curves shorter than the
    window) it averages over the bins that exist."""
    n = len(curve)
    if width <= 1 or n == 0:
        return np.asarray(curve, dtype=np.float64).copy()
    total = np.concatenate([[0.0], np.cumsum(curve, dtype=np.float64)])
    i = np.arange(n)
    lo = np.maximum(i - (width - 1) // 2, 0)
    hi = np.minimum(i + width // 2 + 1, n)
    return (total[hi] - total[lo]) / (hi - lo)


def _hysteresis(curve: np.ndarray, on: float, off: float) -> list[tuple[int, int]]:
    """Index ranges [i, j) where the curve is 'on': from a bin at or above ``on`` to the first bin
    below ``off``. Vectorised: the app re-runs this on every threshold change over hours of bins."""
    high = curve >= off
    on_idx = np.flatnonzero(curve >= on)
    if len(on_idx) == 0:
        return []
    edges = np.diff(np.concatenate([[0], high.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    nxt = np.searchsorted(on_idx, starts)  # the first 'on' bin at or after each run of 'high' bins
    found = nxt < len(on_idx)
    first = np.where(found, on_idx[np.minimum(nxt, len(on_idx) - 1)], -1)
    keep = found & (first < ends)
    return list(zip(first[keep].tolist(), ends[keep].tolist(), strict=True))


def file_regions(times: np.ndarray, activity: np.ndarray, labels: Sequence[str], params: RegionParams | None,
                 duration: float, window: float) -> list[Region]:
    """A whole recording's regions; none for one shorter than the model's window, whose single window is
    filled out with silence (a region over padding is not a finding). `AnalysisResult.regions` and
    `Session.detected` both answer with this."""
    if duration < window:
        return []
    return find_regions(times, activity, labels, params, duration=duration)


def find_regions(
    times: np.ndarray, activity: np.ndarray, labels: Sequence[str], params: RegionParams | None = None,
    duration: float | None = None,
) -> list[Region]:
    """Regions of every label, sorted by start time. ``times`` are bin centres on a regular grid."""
    params = params or RegionParams()
    times = np.asarray(times, dtype=np.float64)
    activity = np.asarray(activity, dtype=np.float64)
    if len(times) == 0:
        return []
    hop = float(times[1] - times[0]) if len(times) > 1 else 2.0 * float(times[0])
    end_of_file = duration if duration is not None else float(times[-1] + hop / 2)
    width = max(1, int(round(params.smoothing / hop)))
    regions: list[Region] = []
    bounds: list[tuple[int, int, int]] = []  # (column, first bin, stop bin) of each region kept
    for column, label in enumerate(labels):
        raw = activity[:, column]
        curve = smooth(raw, width)
        on, off = params.thresholds(label)
        spans = np.array(_merge(_hysteresis(curve, on, off), max(0, int(round(params.merge_gap / hop)))), int)
        if len(spans) == 0:
            continue
        first, stop = spans[:, 0], spans[:, 1]
        starts = np.maximum(0.0, times[first] - hop / 2).round(6)
        ends = np.minimum(end_of_file, times[stop - 1] + hop / 2).round(6)
        total = np.concatenate([[0.0], np.cumsum(raw)])
        scores = ((total[stop] - total[first]) / (stop - first)).round(4)
        long_enough = ends - starts + 1e-9 >= params.min_duration
        regions.extend(
            Region(label, float(a), float(b), float(c))
            for a, b, c in zip(starts[long_enough], ends[long_enough], scores[long_enough], strict=True)
        )
        bounds.extend((column, int(a), int(b)) for a, b in zip(first[long_enough], stop[long_enough], strict=True))
    if params.shadow_margin > 0 and len(regions) > 1:
        shadowed = _shadowed(regions, np.array(bounds, dtype=np.int64), activity, params)
        regions = [r for r, gone in zip(regions, shadowed, strict=True) if not gone]
    regions.sort(key=lambda r: (r.start, r.label))
    return regions


def _shadowed(regions: list[Region], bounds: np.ndarray, activity: np.ndarray, params: RegionParams) -> np.ndarray:
    """Per region: whether it lies (``shadow_overlap`` of its length) inside a region of another lane that
    is, over this region's bins, at least ``shadow_margin`` more active than its own lane. Vectorised over
    region pairs: the app re-runs region finding on every threshold change."""
    column, first, stop = bounds[:, 0], bounds[:, 1], bounds[:, 2]
    taking_part = np.array([r.label in params.shadow_labels for r in regions])
    total = np.concatenate([np.zeros((1, activity.shape[1])), np.cumsum(activity, axis=0)])
    means = (total[stop] - total[first]) / (stop - first)[:, None]  # (regions, labels) over each region's bins
    own = means[np.arange(len(regions)), column]
    start = np.array([r.start for r in regions])
    end = np.array([r.end for r in regions])
    # Sorted by start, a block of regions can only overlap those starting between its earliest start less
    # the longest region and its latest end: an hours-long take with thousands of regions stays cheap.
    order = np.argsort(start, kind="stable")
    s_start, longest = start[order], float((end - start).max())
    gone = np.zeros(len(regions), dtype=bool)
    for lo in range(0, len(order), 256):
        i = order[lo: lo + 256]
        a = np.searchsorted(s_start, start[i].min() - longest, side="left")
        b = np.searchsorted(s_start, end[i].max(), side="right")
        j = order[a:b]
        overlap = np.clip(np.minimum(end[i, None], end[None, j]) - np.maximum(start[i, None], start[None, j]), 0.0, None)
        inside = overlap >= params.shadow_overlap * (end[i] - start[i])[:, None] - 1e-9
        inside &= (column[i, None] != column[None, j]) & taking_part[i, None] & taking_part[None, j]
        stronger = means[i][:, column[j]] - own[i, None] >= params.shadow_margin - 1e-9  # [i, j]: j's lane over i
        gone[i] = (inside & stronger).any(axis=1)
    return gone


def _merge(spans: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Bridges gaps of at most ``gap`` bins between consecutive spans."""
    if not spans:
        return []
    arr = np.asarray(spans)
    new_run = np.concatenate([[True], arr[1:, 0] - arr[:-1, 1] > gap])
    run_starts = np.flatnonzero(new_run)
    run_ends = np.concatenate([run_starts[1:], [len(arr)]]) - 1
    return list(zip(arr[run_starts, 0].tolist(), arr[run_ends, 1].tolist(), strict=True))
