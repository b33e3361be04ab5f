"""Checkpoints: safetensors + JSON card round trip; clear errors for bad model files."""

import json

import pytest
import torch
from testmodels import random_card

from studio_tagger.models import ActivityCNN, ModelError, PaperCNN, load_model, save_model


def test_round_trip_keeps_weights_and_card(tmp_path):
    torch.manual_seed(1)
    model = ActivityCNN().eval()
    weights, card = save_model(model, random_card("round-trip"), tmp_path / "m.safetensors")
    assert weights.suffix == ".safetensors" and card.suffix == ".json"
    loaded = load_model(card)  # either file names the model
    assert loaded.name == "round-trip" and loaded.kind == "frames" and loaded.window_seconds == 2.0
    x = torch.randn(1, 198, 128)
    with torch.inference_mode():
        assert torch.equal(loaded.module(x), model(x))
    assert json.loads(card.read_text())["format"] == "studio-tagger-model"
    assert not any(p.suffix in (".pt", ".pkl", ".bin") for p in tmp_path.iterdir())


def test_paper_cnn_is_a_clip_model(tmp_path):
    save_model(PaperCNN(), random_card("paper", "paper_cnn"), tmp_path / "p.safetensors")
    loaded = load_model(tmp_path / "p.safetensors")
    assert loaded.kind == "clip"
    assert loaded.module(torch.randn(2, 198, 128)).shape == (2, 8)


def test_wrong_label_count_is_refused(tmp_path):
    card = random_card()
    card["labels"] = card["labels"][:5]
    save_model(ActivityCNN(), card, tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match="5 labels but the model has 8 outputs"):
        load_model(tmp_path / "m.safetensors")


def test_weights_of_another_shape_are_refused(tmp_path):
    save_model(ActivityCNN(channels=(8, 16, 32, 48)), random_card(), tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match="do not match the card's architecture"):
        load_model(tmp_path / "m.safetensors")


def test_corrupt_weights_and_card(tmp_path):
    save_model(ActivityCNN(), random_card(), tmp_path / "m.safetensors")
    (tmp_path / "m.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="weights file is corrupt"):
        load_model(tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text("{ not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelError, match="not a studio-tagger model card"):
        load_model(tmp_path / "m.safetensors")


def test_missing_files(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "none.safetensors")
    save_model(ActivityCNN(), random_card(), tmp_path / "m.safetensors")
    (tmp_path / "m.json").unlink()
    with pytest.raises(ModelError, match="m.json: model file not found"):
        load_model(tmp_path / "m.safetensors")


def test_card_calibration_is_read_in_label_order(tmp_path):
    card = random_card()
    save_model(ActivityCNN(), card, tmp_path / "plain.safetensors")
    assert load_model(tmp_path / "plain.safetensors").logit_bias == ()
    card["calibration"] = {"logit_bias": {"piano": -1.75, "flute": 0.5}, "takes": ["t"]}
    save_model(ActivityCNN(), card, tmp_path / "m.safetensors")
    bias = load_model(tmp_path / "m.safetensors").logit_bias
    labels = card["labels"]
    assert bias[labels.index("piano")] == -1.75 and bias[labels.index("flute")] == 0.5
    assert sum(b != 0 for b in bias) == 2 and len(bias) == len(labels)


@pytest.mark.parametrize(("bias", "why"), [
    ({"oboe": 1.0}, "unknown labels"),
    ({"piano": float("nan")}, "must be a number"),
    ({"piano": "high"}, "must be a number"),
    ({"piano": 50.0}, "must be a number"),
    (["piano", 1.0], "must map labels"),
])
def test_bad_calibration_is_refused(tmp_path, bias, why):
    card = random_card()
    card["calibration"] = {"logit_bias": bias}
    save_model(ActivityCNN(), card, tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match=why):
        load_model(tmp_path / "m.safetensors")


def test_a_softmax_card_with_a_bias_is_refused(tmp_path):
    card = random_card()
    card["activation"] = "softmax"
    card["calibration"] = {"logit_bias": {"piano": 1.0}}
    save_model(ActivityCNN(), card, tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match="needs a sigmoid model"):
        load_model(tmp_path / "m.safetensors")
