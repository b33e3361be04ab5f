"""Log-mel front end (torch, CPU or GPU). Its parameters (`params`) load without torch; the front end's
names are resolved on first use (PEP 562), as in `studio_tagger.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names
from .params import FeatureParams, mel_filters, window_frames

if TYPE_CHECKING:
    from .logmel import LogMel, StreamingLogMel

_HOMES = {"LogMel": "logmel", "StreamingLogMel": "logmel"}

__all__ = ["FeatureParams", "LogMel", "StreamingLogMel", "mel_filters", "window_frames"]

__getattr__ = lazy_names(__name__, _HOMES)
