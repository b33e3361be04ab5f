"""Averaging the weights of models of one run (training.average)."""

from __future__ import annotations

import json

import pytest
import torch
from testmodels import random_card

from studio_tagger.models import ActivityCNN, load_model, save_model
from training.average import average, main


def _saved(tmp_path, name: str, seed: int, **arch) -> str:
    torch.manual_seed(seed)
    card = random_card(name)
    card["calibration"] = {"logit_bias": {"piano": -1.0}}
    card["architecture"]["params"] = arch
    weights, _ = save_model(ActivityCNN(**arch), card, tmp_path / f"{name}.safetensors")
    return str(weights)


def test_the_average_holds_the_mean_weights_and_no_calibration(tmp_path):
    a, b = _saved(tmp_path, "a", 0), _saved(tmp_path, "b", 1)
    assert main(["--out", str(tmp_path / "soup.safetensors"), a, b]) == 0
    soup = load_model(tmp_path / "soup.safetensors")
    wa, wb = load_model(a).module.state_dict(), load_model(b).module.state_dict()
    for key, value in soup.module.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (wa[key] + wb[key]) / 2, atol=1e-6), key
    assert not torch.equal(soup.module.state_dict()["head.weight"], wb["head.weight"])
    card = json.loads((tmp_path / "soup.json").read_text())
    assert load_model(a).logit_bias and "calibration" not in card and soup.logit_bias == ()
    assert [x["path"] for x in card["averaged_from"]] == [a, b]


def test_models_of_other_shapes_are_refused(tmp_path):
    a = _saved(tmp_path, "a", 0)
    b = _saved(tmp_path, "b", 1, channels=[8, 16, 32, 48])
    with pytest.raises(ValueError, match="architecture"):
        average([a, b])
    with pytest.raises(ValueError, match="two"):
        average([a])


def test_weights_move_the_mean_towards_the_heavier_model(tmp_path):
    # a base and a fine-tune weighted 3:1 is the point a quarter of the way from the base to the fine-tune
    a, b = _saved(tmp_path, "a", 0), _saved(tmp_path, "b", 1)
    assert main(["--weights", "3,1", "--out", str(tmp_path / "mix.safetensors"), a, b]) == 0
    mix = load_model(tmp_path / "mix.safetensors").module.state_dict()
    wa, wb = load_model(a).module.state_dict(), load_model(b).module.state_dict()
    for key, value in mix.items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.75 * wa[key] + 0.25 * wb[key], atol=1e-6), key
    card = json.loads((tmp_path / "mix.json").read_text())
    assert [x["weight"] for x in card["averaged_from"]] == [0.75, 0.25]


def test_bad_weights_are_refused(tmp_path):
    a, b = _saved(tmp_path, "a", 0), _saved(tmp_path, "b", 1)
    with pytest.raises(ValueError, match="3 weights for 2"):
        average([a, b], [1, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        average([a, b], [1, -1])
    assert main(["--weights", "1,0,0", "--out", str(tmp_path / "x.safetensors"), a, b]) == 2
    assert not (tmp_path / "x.safetensors").exists()
