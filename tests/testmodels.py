"""Models for tests: a random card, and frame-local detectors whose answers are known."""

from __future__ import annotations

import torch
from torch import nn

from studio_tagger.features import FeatureParams
from studio_tagger.labels import LABELS
from studio_tagger.models import LoadedModel


def random_card(name: str = "test-random", arch: str = "activity_cnn") -> dict:
    return {
        "name": name,
        "architecture": {"type": arch, "params": {}},
        "labels": list(LABELS),
        "activation": "sigmoid",
        "features": FeatureParams().to_dict(),
        "window_seconds": 2.0,
    }


class BandEnergy(nn.Module):
    """A frame-local detector: the logit of every label rises with log-mel energy around 1 kHz.

    It makes analyzer timing testable without a trained model: a tone burst must light up exactly
    where it was placed.
    """

    kind = "frames"
    time_stride = 8

    def __init__(self, n_labels: int = len(LABELS)) -> None:
        super().__init__()
        self.head = nn.Conv1d(1, n_labels, 1)
        with torch.no_grad():
            self.head.weight.fill_(4.0)
            self.head.bias.fill_(-2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        band = x[..., 38:50].amax(dim=-1)  # mel bins around 1 kHz
        n = band.shape[-1] // self.time_stride * self.time_stride
        pooled = band[..., :n].reshape(band.shape[0], -1, self.time_stride).mean(-1)
        return self.head(pooled.unsqueeze(1)).transpose(1, 2)


class BandEnergyClip(BandEnergy):
    """The same detector as a one-window clip model (the paper-style path)."""

    kind = "clip"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).mean(dim=1)


def loaded_model(module: nn.Module, name: str) -> LoadedModel:
    return LoadedModel(module=module.eval(), card={"name": name, "activation": "sigmoid"}, labels=LABELS,
                       name=name, window_seconds=2.0)
