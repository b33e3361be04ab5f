"""The rules a new lane's name and examples must meet (no torch: the app's dialog checks them as the
editor types)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..analysis.regions import lane_name, on_lanes
from .reviews import AdaptError

if TYPE_CHECKING:
    from .embedded import Embedded

MIN_EXAMPLES = 1
# Below this many examples the app's dialog and `adapt` suggest more: in benchmarks/adaptation.py a lane
# from two examples found about half of what one from three did (mean F1 0.34-0.39 against 0.49-0.65),
# five more still.
FEW_EXAMPLES = 3
FEW_EXAMPLES_HINT = "three to five examples in different places teach a lane far better"


def check_new_lane(name: str, labels: Sequence[str], spans: Sequence[tuple[float, float]],
                   window: float | None) -> None:
    """Why a new lane ``name`` cannot be taught from ``spans`` (AdaptError), if it cannot: no name, a
    name in use, no example, an example shorter than one analysis window (``window``; None skips that)."""
    name = lane_name(name)
    if not name:
        raise AdaptError("the new lane needs a name")
    taken = lane_in_use(name, labels)
    if taken is not None:
        raise AdaptError(f"{name!r} is already a lane ({taken}); choose another name")
    if len(spans) < MIN_EXAMPLES:
        raise AdaptError(f"mark at least {MIN_EXAMPLES} example of {name!r}")
    for s, e in spans:
        if window is not None and e - s < window:
            raise AdaptError(f"the example at {s:.1f}-{e:.1f} s is shorter than one analysis window ({window:g} s)")


def items_on_lanes(items: Sequence[Embedded], labels: Sequence[str]) -> list[Embedded]:
    """``items`` whose regions name lanes as `on_lanes` writes them, a new label spelt alike in every review."""
    lanes, out = list(labels), []
    for it in items:
        regions = on_lanes(it.review.regions, lanes)
        lanes += [r.label for r in regions if r.label not in lanes]
        out.append(it if regions == it.review.regions else replace(it, review=replace(it.review, regions=regions)))
    return out


def lane_in_use(name: str, labels: Sequence[str]) -> str | None:
    """The lane of ``labels`` that a new lane ``name`` would duplicate, or None. Case and spacing do not
    count (`lane_name`): a new lane differing from an existing one by those alone would be the same
    instrument twice."""
    key = lane_name(name).casefold()
    return next((label for label in labels if lane_name(label).casefold() == key), None)
