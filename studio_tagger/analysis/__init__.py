"""Sliding-window inference, aggregation into activity curves, and regions (no Qt).

The analyzer needs torch, which takes a second or more to import; its results, regions, aggregation
and the hop default do not. Names are resolved on first use (PEP 562), so `studio_tagger.analysis.regions`,
the command line's argument parser and the app's window load without torch, and `analyze` can start
decoding while it loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .analyzer import Analyzer
    from .regions import Region, RegionParams, find_regions
    from .result import ActivityChunk, AnalysisResult, Cancelled

_HOMES = {
    "ActivityChunk": "result", "AnalysisResult": "result", "Analyzer": "analyzer", "Cancelled": "result",
    "Region": "regions", "RegionParams": "regions", "find_regions": "regions",
}

__all__ = ["ActivityChunk", "AnalysisResult", "Analyzer", "Cancelled", "Region", "RegionParams", "find_regions"]

__getattr__ = lazy_names(__name__, _HOMES)
