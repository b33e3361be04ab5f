"""Where the lanes are least sure: spans worth an editor's ear before adapting (no Qt, no torch).

A window is doubtful when some lane's activity, smoothed as regions smooth it, sits near that lane's
threshold: a little more or less and a region would appear, vanish or change its edges. The doubt of a
span is the mean over its windows of how near the nearest lane comes (in logits, so 0.35 against a 0.4
threshold is about as near as 0.45). Spans are picked most doubtful first and kept apart, so an editor who
checks them hears different passages, not one passage five times.

Measured with `benchmarks/adaptation.py --editor doubtful` (stop 35; the README's table): an editor who checks
16 such 10 s spans (160 s of listening) and marks what plays there gains +0.205 segment F1 on the OPL3 takes'
second halves, +0.204 on the Sonivox takes and +0.257 on the takes of a real piano played with one hand,
against +0.189 / +0.116 / +0.231 for the first 10 solos (155-203 s of listening); 3 spans (30 s) gain +0.080 /
+0.052 / +0.203, the first 3 solos (59-66 s) +0.082 / +0.090 / +0.112. On a family the model knows
(MuseScore_General) the first spans cost a little (-0.022 after one, +0.016 after 16). Uncertainty sampling,
the oldest rule of active learning: the windows a head is least sure of are those its refit learns most from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis.regions import RegionParams, smooth

SPAN = 10.0
"""Seconds an editor checks at a time: long enough to hear what plays, short enough to stay on one
question. On the OPL3 tuning takes (seeds 310-312) 6 s and 15 s spans gained less for 3 and for 10 spans
(docs/adaptation-experiments.md, stop 35)."""
DOUBTFUL = 1.5
"""A span is offered only if somewhere in it a lane stays this near its threshold (logit distance, mean
over ``PHRASE``): about 13 % or 75 % activity against a 0.4 threshold. Where every lane stays further off,
all are sure, and an editor sent to listen would mostly hear them right."""
PHRASE = 3.0
"""Seconds of doubt that make a span worth checking (the shortest region, `RegionParams.min_duration`):
every region's edge crosses its threshold for a moment, which is no doubt about the region."""
SPACING = 0.5
"""The least gap between two spans, as a share of ``SPAN``: neighbours of a doubtful span are often as
doubtful, and the same passage twice teaches little."""


@dataclass(frozen=True)
class SpanToCheck:
    """``start``..``end`` in seconds; ``label`` the lane nearest its threshold there, ``activity`` that
    lane's mean smoothed activity over the span (under its threshold: a region may be missing; over: one
    may be wrong)."""

    start: float
    end: float
    label: str
    activity: float


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1.0 - 1e-4)
    return np.log(p / (1.0 - p))


def _rolling_min(x: np.ndarray, width: int) -> np.ndarray:
    """The minimum over the same bins `smooth` averages (``width`` bins centred on each)."""
    if width <= 1 or len(x) == 0:
        return x.copy()
    padded = np.concatenate([np.full((width - 1) // 2, np.inf), x, np.full(width // 2, np.inf)])
    return np.lib.stride_tricks.sliding_window_view(padded, width).min(axis=1)


def window_doubt(times: np.ndarray, activity: np.ndarray, labels: Sequence[str],
                 params: RegionParams | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: how near the nearest lane comes to its on-threshold (logit distance, 0 = on it), which
    lane that is (column), and the smoothed activity of every lane."""
    params = params or RegionParams()
    activity = np.asarray(activity, np.float64).reshape(len(times), len(labels))
    hop = float(times[1] - times[0]) if len(times) > 1 else 1.0
    width = max(1, int(round(params.smoothing / hop)))
    curves = np.stack([smooth(activity[:, j], width) for j in range(len(labels))], axis=1)
    on = np.array([params.thresholds(label)[0] for label in labels], np.float64)
    distance = np.abs(_logit(curves) - _logit(on))
    nearest = distance.argmin(axis=1)
    return distance[np.arange(len(times)), nearest], nearest, curves


def spans_to_check(
    times: np.ndarray, activity: np.ndarray, labels: Sequence[str], params: RegionParams | None = None, *,
    duration: float, count: int = 1, span: float = SPAN, checked: Sequence[tuple[float, float]] = (),
    within: tuple[float, float] | None = None, most: float | None = DOUBTFUL,
) -> list[SpanToCheck]:
    """Up to ``count`` spans of ``span`` seconds inside ``within`` (default: the whole recording), most
    doubtful first, each at least ``SPACING`` x ``span`` away from the others and from the ``checked``
    ones, none where no lane stays within ``most`` of its threshold for ``PHRASE`` seconds (None: no
    limit). A recording (or ``within``) no longer than ``span`` is one span. Asked again with the spans
    given so far as ``checked``, it goes on where it left off."""
    times = np.asarray(times, np.float64)
    if count <= 0 or len(times) == 0 or not labels:
        return []
    lo, hi = within if within is not None else (0.0, duration)
    lo, hi = max(0.0, lo), min(duration, hi)
    if hi <= lo:
        return []
    span = min(span, hi - lo)
    hop = float(times[1] - times[0]) if len(times) > 1 else hi - lo
    distance, nearest, curves = window_doubt(times, activity, labels, params)
    # The mean distance over a span centred on each window, and over a phrase there (which breaks ties
    # between spans that hold the same doubtful passage: the one centred on it wins); centres whose span
    # leaves the bounds are out, and so are spans with no doubtful phrase.
    width = max(1, int(round(span / hop)))
    mean = smooth(distance, width)
    phrase = smooth(distance, max(1, int(round(PHRASE / hop))))
    limit = np.inf if most is None else most
    fits = (times - span / 2 >= lo - 1e-9) & (times + span / 2 <= hi + 1e-9) & (_rolling_min(phrase, width) <= limit)

    def asked(start: float, end: float) -> SpanToCheck:
        """The span, with the lane nearest its threshold over the span as a whole (the windows' votes
        weighted by how near)."""
        inside = (times >= start) & (times <= end)
        if not inside.any():
            inside = np.abs(times - (start + end) / 2) == np.abs(times - (start + end) / 2).min()
        votes = np.bincount(nearest[inside], weights=1.0 / (distance[inside] + 0.05), minlength=len(labels))
        j = int(votes.argmax())
        return SpanToCheck(round(start, 3), round(end, 3), labels[j], round(float(curves[inside, j].mean()), 4))

    if span >= hi - lo:  # bounds no longer than a span: the span is all of them
        inside = (times >= lo) & (times <= hi)
        if any(lo < e and s < hi for s, e in checked) or phrase[inside if inside.any() else slice(None)].min() > limit:
            return []
        return [asked(lo, hi)]
    gap = SPACING * span
    taken = [(float(s), float(e)) for s, e in checked]
    out: list[SpanToCheck] = []
    candidates = np.flatnonzero(fits)
    for i in candidates[np.lexsort((phrase[candidates], mean[candidates]))]:
        start, end = float(times[i]) - span / 2, float(times[i]) + span / 2
        if any(start < e + gap and s - gap < end for s, e in taken):
            continue
        out.append(asked(start, end))
        taken.append((start, end))
        if len(out) == count:
            break
    return out
