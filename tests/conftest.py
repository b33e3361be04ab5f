"""Shared fixtures: test models and audio made on the fly (no audio is committed for tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from testmodels import BandEnergy, BandEnergyClip, loaded_model, random_card

from studio_tagger.models import ActivityCNN, LoadedModel, save_model


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory) -> Path:
    """An ActivityCNN with random weights: exercises the real model path without a trained model."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "random.safetensors"
    save_model(ActivityCNN().eval(), random_card(), path)
    return path


@pytest.fixture
def energy_model() -> LoadedModel:
    return loaded_model(BandEnergy(), "band-energy")


@pytest.fixture
def energy_clip_model() -> LoadedModel:
    return loaded_model(BandEnergyClip(), "band-energy-clip")


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, data, rate, **soundfile kwargs) -> path in a fresh folder."""

    def write(name: str, data: np.ndarray, rate: int, **kwargs) -> Path:
        path = tmp_path / name
        sf.write(str(path), data, rate, **kwargs)
        return path

    return write
