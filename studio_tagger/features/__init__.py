"""Log-mel front end (torch, CPU or GPU). Its parameters (`params`) load without torch; the front end's
names are resolved on first use (PEP 562), as in `studio_tagger.analysis`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .params import FeatureParams, mel_filters, window_frames

if TYPE_CHECKING:
    from .logmel import LogMel, StreamingLogMel

_HOMES = {"LogMel": "logmel", "StreamingLogMel": "logmel"}

__all__ = ["FeatureParams", "LogMel", "StreamingLogMel", "mel_filters", "window_frames"]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{home}", __name__), name)
