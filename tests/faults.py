"""Fault injection for tests: a model that runs out of GPU memory (simulated, so it works on a CPU)."""

from __future__ import annotations

import torch
from torch import nn

from studio_tagger.features import FeatureParams, LogMel
from studio_tagger.models import LoadedModel


class OutOfMemoryAbove(nn.Module):
    """A model "on a GPU" that raises OutOfMemoryError for inputs over a size; its CPU copy does not.

    ``axis`` is the input dimension that costs memory: frames (-2) for frame models, the batch (0) for
    clip models. Moving it to the CPU (what the analyzer's fallback does) lifts the limit.
    """

    def __init__(self, inner: nn.Module, limit: int, axis: int) -> None:
        super().__init__()
        self.inner, self.limit, self.axis = inner, limit, axis
        self.kind = getattr(inner, "kind", "clip")
        self.time_stride = getattr(inner, "time_stride", 1)
        self.head = inner.head
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[self.axis])
        if self.limit is not None and x.shape[self.axis] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return self.inner(x)

    def to(self, *args, **kwargs):
        moved = super().to(*args, **kwargs)
        if any(str(a) == "cpu" for a in args):
            moved.limit = None
        return moved


def wrapped(model: LoadedModel, limit: int | None, axis: int) -> LoadedModel:
    return LoadedModel(OutOfMemoryAbove(model.module, limit, axis), model.card, model.labels, model.name,
                       model.window_seconds, model.features)


class LogMelOutOfMemoryAbove(LogMel):
    """A log-mel front end "on a GPU" that runs out of memory for longer audio; its CPU copy does not."""

    def __init__(self, params: FeatureParams, limit: int | None) -> None:
        super().__init__(params)
        self.limit = limit

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if self.limit is not None and wave.shape[-1] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 250.00 MiB (simulated)")
        return super().forward(wave)

    def to(self, *args, **kwargs):
        moved = super().to(*args, **kwargs)
        if any(str(a) == "cpu" for a in args):
            moved.limit = None
        return moved
