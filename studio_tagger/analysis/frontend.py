"""The analysis front end: streamed log-mel that survives running out of GPU memory.

A long block's spectrum needs far more memory than its samples (a 20-minute block: 77 MB of audio,
250 MB of spectrum), so on a nearly full GPU it is the front end that fails first. Then the blocks are
cut into smaller pieces, which changes nothing (the log-mel streams exactly across any cut); below a
floor, the front end carries on on the CPU and hands its frames to the device.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import torch

from ..features import LogMel, StreamingLogMel
from .windows import ModelRunner

MIN_PIECE_SECONDS = 1.0


class ResilientLogMel:
    def __init__(self, logmel: LogMel, device: torch.device, runner: ModelRunner) -> None:
        self.logmel, self.device, self.runner = logmel, device, runner
        self.stream = StreamingLogMel(logmel, device)
        self.rate = logmel.params.sample_rate
        self.piece: int | None = None  # samples per piece once memory ran out; None: whole blocks
        self.on_cpu = False  # moved to the CPU after running out of memory in small pieces

    def push(self, block: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
        """(samples consumed, frames they complete on the analysis device): the whole block, or its pieces."""
        start = 0
        while start < len(block):
            size = len(block) - start if self.piece is None else min(self.piece, len(block) - start)
            try:
                feats = self.stream.push(block[start : start + size])
            except torch.OutOfMemoryError:
                feats = None
            if feats is None:  # handled: the error's traceback no longer holds GPU tensors
                self._out_of_memory(size)
                continue
            start += size
            yield size, feats.to(self.device)

    def _out_of_memory(self, size: int) -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = size // 2
        if half >= MIN_PIECE_SECONDS * self.rate:
            self.piece = half
            self.runner.notice(f"GPU out of memory; retrying with audio blocks of {half / self.rate:g} s")
        elif not self.on_cpu:
            cpu = torch.device("cpu")
            self.stream = self.stream.moved_to(copy.deepcopy(self.logmel).to(cpu), cpu)
            self.on_cpu = True
            self.runner.notice("GPU out of memory even for short audio blocks; computing features on the CPU")
        else:
            raise torch.OutOfMemoryError("out of memory computing features on the CPU")
