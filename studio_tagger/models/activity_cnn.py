"""The project's own model: a fully convolutional tagger that scores every 80 ms of a recording.

Convolutions over the whole log-mel sequence let overlapping 2 s windows share all their computation:
the analyzer runs the network once per stretch of audio and averages frame logits over each window,
instead of running a CNN on every window as the paper does. Frequency is pooled away after four
blocks (mean and max, so both broad and narrow-band timbre survive), then a temporal convolution gives
each 80 ms frame about a second of context. The first layer is a strided 5x5 convolution rather than
conv + pool: at full resolution a one-channel input makes conv + pool memory-bound, and the stride
cuts that layer's cost about fifteen-fold on a laptop CPU.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _block(c_in: int, c_out: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
    )


class ActivityCNN(nn.Module):
    """Log-mel (batch, frames, mels) -> frame logits (batch, frames // time_stride, labels)."""

    kind = "frames"

    def __init__(
        self, n_labels: int = 8, n_mels: int = 128, channels: tuple[int, ...] = (16, 32, 64, 96),
        context: int = 5, dropout: float = 0.2,
    ) -> None:
        super().__init__()
        stem = nn.Sequential(
            nn.Conv2d(1, channels[0], 5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        pools = [(2, 2), (2, 2), (1, 2)]
        body = [_block(a, b, p) for a, b, p in zip(channels[:-1], channels[1:], pools, strict=True)]
        self.blocks = nn.Sequential(stem, *body)
        self.time_stride = 8
        width = channels[-1]
        self.temporal = nn.Sequential(
            nn.Conv1d(2 * width, width, context, padding=context // 2),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.head = nn.Conv1d(width, n_labels, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, frames, mels) -> (batch, width, frames // 8) frame embeddings."""
        h = self.blocks(x.unsqueeze(1))  # (batch, channels, time, freq)
        return self.temporal(torch.cat([h.mean(dim=3), h.amax(dim=3)], dim=1))

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
        return fused

    def clip_logits(self, x: torch.Tensor) -> torch.Tensor:
        """One logit vector per clip: the mean of its frame logits, as the analyzer pools a window."""
        return self.forward(x).mean(dim=1)
