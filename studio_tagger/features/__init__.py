"""Log-mel front end (torch, CPU or GPU)."""

from .logmel import FeatureParams, LogMel, StreamingLogMel, mel_filters, window_frames

__all__ = ["FeatureParams", "LogMel", "StreamingLogMel", "mel_filters", "window_frames"]
