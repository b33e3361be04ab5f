"""The project's own model: a fully convolutional tagger that scores every 80 ms of a recording.

Convolutions over the whole log-mel sequence let overlapping 2 s windows share all their computation:
the analyzer runs the network once per stretch of audio and averages frame logits over each window,
instead of running a CNN on every window as the paper does. Frequency is pooled away after four
blocks (mean and max, so both broad and narrow-band timbre survive), then a temporal convolution gives
each 80 ms frame about a second of context. The first layer is a strided 5x5 convolution rather than
conv + pool: at full resolution a one-channel input makes conv + pool memory-bound, and the stride
cuts that layer's cost about fifteen-fold on a laptop CPU. By default that stride is 4 along frequency
(32 bands of 16 learned channels, still finer than the spectral envelope that tells instruments apart),
so the first block works at a quarter of the input's resolution: on a 2-core CPU the network costs
half as much as with a stride of 2 in both directions.

A lane taught from a user's examples (`studio_tagger.adapt`) may also read the last block's features
before frequency is pooled away, averaged in four frequency bands (``head_bands``): the shipped eight
lanes never use them, but an instrument the network was not trained to name (an oboe, which training
treats as accompaniment) is told apart better with where its energy lies than by the 96 features
trained for the eight.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

LANE_BANDS = 4
"""Frequency bands of the last block's features that a lane taught from examples reads (see `band_means`)."""


def _block(c_in: int, c_out: int, pool: Sequence[int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(tuple(pool)),
    )


class PairMax(nn.Module):
    """``nn.MaxPool2d`` for pools of 1 or 2 along each axis, as elementwise maxima of strided views.

    The same numbers (floor mode: an odd last row or column is dropped); on a CPU with channels-last
    activations about four times faster for a (2, 1) pool, because it skips the argmax indices that
    ``max_pool2d`` writes even when nobody asks for them."""

    def __init__(self, pool: Sequence[int]) -> None:
        super().__init__()
        if any(k not in (1, 2) for k in pool):
            raise ValueError(f"PairMax pools by 1 or 2 along each axis, not {tuple(pool)}")
        self.pool = tuple(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pt, pf = self.pool
        if x.shape[-2] < pt or x.shape[-1] < pf:
            # As max_pool2d does: callers (the analyzer, for recordings of a few frames) rely on it.
            raise RuntimeError(f"input {tuple(x.shape[-2:])} is smaller than the pool {self.pool}")
        x = x[..., : x.shape[-2] // pt * pt, : x.shape[-1] // pf * pf]
        if pt == 2:
            x = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        if pf == 2:
            x = torch.maximum(x[..., 0::2], x[..., 1::2])
        return x


class ActivityCNN(nn.Module):
    """Log-mel (batch, frames, mels) -> frame logits (batch, frames // time_stride, labels)."""

    kind = "frames"

    def __init__(
        self, n_labels: int = 8, n_mels: int = 128, channels: Sequence[int] = (16, 32, 64, 96),
        context: int = 5, dropout: float = 0.2, stem_stride: Sequence[int] = (2, 4),
        pools: Sequence[Sequence[int]] = ((2, 1), (2, 2), (1, 2)), head_bands: int = 0,
    ) -> None:
        """``stem_stride`` and ``pools`` are (time, frequency); their time factors multiply to the frame
        stride of the output (8 frames = 80 ms). The first trained models used a stem stride of (2, 2)
        and pools ((2, 2), (2, 2), (1, 2)): their cards say so. ``head_bands`` (0 or `LANE_BANDS`): the
        head also reads the last block's features in that many frequency bands (a model with a lane
        taught from examples)."""
        super().__init__()
        if len(pools) != len(channels) - 1:
            raise ValueError("one pool per block after the stem: len(pools) == len(channels) - 1")
        if head_bands not in (0, LANE_BANDS):
            raise ValueError(f"head_bands is 0 or {LANE_BANDS}, not {head_bands}")
        stem = nn.Sequential(
            nn.Conv2d(1, channels[0], 5, stride=tuple(stem_stride), padding=2, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        body = [_block(a, b, p) for a, b, p in zip(channels[:-1], channels[1:], pools, strict=True)]
        self.blocks = nn.Sequential(stem, *body)
        self.time_stride = int(stem_stride[0] * math.prod(p[0] for p in pools))
        width = channels[-1]
        self.temporal = nn.Sequential(
            nn.Conv1d(2 * width, width, context, padding=context // 2),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.head_bands = head_bands
        self.head = nn.Conv1d(width + channels[-1] * head_bands, n_labels, 1)

    @property
    def embed_width(self) -> int:
        """Width of the frame embedding (the temporal layer's output), without band features."""
        return int(self.temporal[0].out_channels)

    @property
    def band_channels(self) -> int:
        """Channels of the last block, each of which gives one feature per frequency band."""
        return int(self.blocks[-1][0].out_channels)

    def embed_parts(self, x: torch.Tensor, bands: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(batch, frames, mels) -> the frame embeddings (batch, width, frames // 8) and, for ``bands``
        > 0, the last block's features in that many frequency bands (batch, channels * bands, same
        frames); else None."""
        h = self.blocks(x.unsqueeze(1))  # (batch, channels, time, freq)
        e = self.temporal(torch.cat([h.mean(dim=3), h.amax(dim=3)], dim=1))
        return e, (band_means(h, bands) if bands else None)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, frames, mels) -> what the head reads per frame: the embedding, and the band features
        when ``head_bands`` says so."""
        e, b = self.embed_parts(x, self.head_bands)
        return e if b is None else torch.cat([e, b], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x)).transpose(1, 2)

    def for_inference(self) -> ActivityCNN:
        """An eval-mode copy with each BatchNorm folded into the convolution before it: the same
        outputs (to float rounding) without a pass over the largest activations per norm layer."""
        fused = copy.deepcopy(self).eval()
        for seq in (*fused.blocks, fused.temporal):
            conv, norm = seq[0], seq[1]
            seq[0] = fuse_conv_bn_eval(conv, norm)
            seq[1] = nn.Identity()
            if len(seq) == 4 and isinstance(seq[3], nn.MaxPool2d):
                # ReLU and max-pooling commute (both monotone): after the pool it touches a fraction of the values.
                k = seq[3].kernel_size  # our blocks pool with stride = kernel and no padding
                pool = (k, k) if isinstance(k, int) else tuple(k)
                seq[2], seq[3] = (PairMax(pool) if max(pool) <= 2 else seq[3]), seq[2]
        return fused

    def clip_logits(self, x: torch.Tensor) -> torch.Tensor:
        """One logit vector per clip: the mean of its frame logits, as the analyzer pools a window."""
        return self.forward(x).mean(dim=1)


def band_means(h: torch.Tensor, bands: int) -> torch.Tensor:
    """(batch, channels, time, freq) -> (batch, channels * bands, time): the mean over each of ``bands``
    equal frequency bands, band after band (band 0's channels first)."""
    f = h.shape[3]
    if f < bands:
        raise ValueError(f"{f} frequency rows cannot make {bands} bands")
    return torch.cat([h[..., k * f // bands:(k + 1) * f // bands].mean(dim=3) for k in range(bands)], dim=1)
