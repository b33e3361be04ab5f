"""Decoding, streaming blocks, resampling and waveform summaries."""

from .reader import AudioError, AudioInfo, iter_blocks, open_audio, probe, read_mono

__all__ = ["AudioError", "AudioInfo", "iter_blocks", "open_audio", "probe", "read_mono"]
