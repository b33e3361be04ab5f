"""The paper's CNN: three Conv3x3-ReLU-MaxPool2 blocks (1->32->64->128) and one linear layer."""

from __future__ import annotations

import torch
from torch import nn


class PaperCNN(nn.Module):
    """Clip classifier on a fixed-size log-mel window (batch, frames, mels) -> logits (batch, labels)."""

    kind = "clip"

    def __init__(self, n_labels: int = 8, n_frames: int = 198, n_mels: int = 128) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = [1, 32, 64, 128]
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.n_frames, self.n_mels = n_frames, n_mels
        self.classifier = nn.Linear(128 * (n_frames // 8) * (n_mels // 8), n_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.unsqueeze(1)).flatten(1))
