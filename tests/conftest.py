"""Shared fixtures: test models and audio made on the fly (no audio is committed for tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from studio_tagger.features import FeatureParams
from studio_tagger.labels import LABELS
from studio_tagger.models import ActivityCNN, LoadedModel, save_model


def random_card(name: str = "test-random", arch: str = "activity_cnn") -> dict:
    return {
        "name": name,
        "architecture": {"type": arch, "params": {}},
        "labels": list(LABELS),
        "activation": "sigmoid",
        "features": FeatureParams().to_dict(),
        "window_seconds": 2.0,
    }


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory) -> Path:
    """An ActivityCNN with random weights: exercises the real model path without a trained model."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "random.safetensors"
    save_model(ActivityCNN().eval(), random_card(), path)
    return path


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


def _loaded(module: nn.Module, name: str) -> LoadedModel:
    return LoadedModel(module=module.eval(), card={"name": name, "activation": "sigmoid"}, labels=LABELS,
                       name=name, window_seconds=2.0)


@pytest.fixture
def energy_model() -> LoadedModel:
    return _loaded(BandEnergy(), "band-energy")


@pytest.fixture
def energy_clip_model() -> LoadedModel:
    return _loaded(BandEnergyClip(), "band-energy-clip")


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, data, rate, **soundfile kwargs) -> path in a fresh folder."""

    def write(name: str, data: np.ndarray, rate: int, **kwargs) -> Path:
        path = tmp_path / name
        sf.write(str(path), data, rate, **kwargs)
        return path

    return write
