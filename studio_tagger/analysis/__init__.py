"""Sliding-window inference, aggregation into activity curves, and regions (no Qt)."""

from .analyzer import ActivityChunk, AnalysisResult, Analyzer, Cancelled
from .regions import Region, RegionParams, find_regions

__all__ = ["ActivityChunk", "AnalysisResult", "Analyzer", "Cancelled", "Region", "RegionParams", "find_regions"]
