"""Joining trained networks into one model (training.ensemble, models.ActivityEnsemble)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from audiogen import tone_burst
from testmodels import random_card

from studio_tagger.adapt import (
    Embedded,
    Review,
    activity_from_embeddings,
    lane_from_examples,
    remove_lanes,
    save_adapted,
)
from studio_tagger.adapt.adapter import embed_review, member_band_widths, member_widths
from studio_tagger.analysis import Analyzer
from studio_tagger.models import ActivityCNN, ActivityEnsemble, load_model, save_model
from studio_tagger.models.activity_cnn import LANE_BANDS
from training.ensemble import main

SMALL = {"channels": [8, 16, 24, 32]}


def _saved(tmp_path, name: str, seed: int, calibration: dict | None = None, **arch) -> str:
    torch.manual_seed(seed)
    card = random_card(name)
    card["architecture"]["params"] = arch
    if calibration:
        card["calibration"] = {"logit_bias": calibration}
    weights, _ = save_model(ActivityCNN(**arch).eval(), card, tmp_path / f"{name}.safetensors")
    return str(weights)


def test_the_ensemble_scores_the_mean_of_its_members_logits(tmp_path):
    a = _saved(tmp_path, "a", 0, {"piano": -1.0, "violin": 0.5})
    b = _saved(tmp_path, "b", 1, **SMALL)  # members need not share a width
    assert main(["--out", str(tmp_path / "pair.safetensors"), "--version", "9.9", a, b]) == 0
    pair = load_model(tmp_path / "pair.safetensors")
    assert isinstance(pair.module, ActivityEnsemble) and pair.gives_embeddings and pair.logit_bias == ()
    ma, mb = load_model(a), load_model(b)
    x = torch.randn(2, 400, 128)
    with torch.no_grad():
        expected = (ma.module(x) + torch.tensor(ma.logit_bias) + mb.module(x)) / 2
        torch.testing.assert_close(pair.module(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(pair.module.for_inference()(x), expected, atol=1e-4, rtol=0)
        assert pair.module.embed(x).shape[1] == 96 + 32
    card = json.loads((tmp_path / "pair.json").read_text())
    assert card["version"] == "9.9" and "calibration" not in card
    assert [m["path"] for m in card["ensemble_of"]] == [a, b]
    assert card["ensemble_of"][0]["calibration_folded"] == {"logit_bias": {"piano": -1.0, "violin": 0.5}}


def test_the_analyzer_and_adapting_take_an_ensemble_like_one_network(tmp_path, write_audio):
    a, b = _saved(tmp_path, "a", 0, **SMALL), _saved(tmp_path, "b", 1, **SMALL)
    assert main(["--out", str(tmp_path / "pair.safetensors"), a, b]) == 0
    path = write_audio("take.wav", tone_burst(24.0, 16000, 4.0, 20.0), 16000)
    analyzer = Analyzer(tmp_path / "pair.safetensors", device="cpu", embeddings=True)
    item, result = embed_review(analyzer, Review(path, [], [(0.0, 24.0)]))
    assert result.activity.shape[1] == 8 and np.isfinite(result.activity).all()
    # the members' embeddings side by side, then their band features side by side, as each gives them
    assert isinstance(item, Embedded) and item.embeddings.shape[1] == 64 + 2 * 32 * LANE_BANDS
    assert member_widths(analyzer.model) == [32, 32] and member_widths(load_model(a)) == []
    assert member_band_widths(analyzer.model) == [32 * LANE_BANDS] * 2
    x = torch.randn(1, 400, 128)
    with torch.no_grad():
        e, bands = analyzer.model.module.embed_parts(x, LANE_BANDS)
        ea, ba = load_model(a).module.embed_parts(x, LANE_BANDS)
        eb, bb = load_model(b).module.embed_parts(x, LANE_BANDS)
    torch.testing.assert_close(e, torch.cat([ea, eb], dim=1))
    torch.testing.assert_close(bands, torch.cat([ba, bb], dim=1))
    # a new lane reads each member's band features beside its embedding; the shipped lanes keep to the embeddings
    adapted = lane_from_examples(analyzer.model, [item], "tone", [[(4.0, 8.0), (10.0, 14.0)]])
    head = adapted.model.module.head.weight.detach()[:, :, 0]
    assert adapted.model.module.head_bands == LANE_BANDS and head.shape[1] == item.embeddings.shape[1]
    assert not head[:8, 64:].any() and head[-1, 64:96].abs().sum() > 0 and head[-1, 96:].abs().sum() > 0
    weights, _ = save_adapted(adapted, tmp_path / "with_tone.safetensors")
    again = load_model(weights)
    assert isinstance(again.module, ActivityEnsemble) and again.labels[-1] == "tone"
    assert again.card["architecture"]["params"]["head_bands"] == LANE_BANDS
    # the saved model analyses as the lanes computed from the cached embeddings did
    fresh = Analyzer(again, device="cpu").analyze(path)
    times, cached = activity_from_embeddings(adapted.model, item)
    assert fresh.activity.shape[1] == 9
    np.testing.assert_allclose(fresh.activity[:, -1], cached[: len(fresh.activity), -1], atol=0.02)
    # removing the lane gives the plain joined head back, and the eight lanes their scores
    plain = remove_lanes(again, ["tone"]).model
    assert plain.module.head_bands == 0 and plain.module.head.in_channels == 64
    np.testing.assert_allclose(Analyzer(plain, device="cpu").analyze(path).activity, fresh.activity[:, :8], atol=1e-5)


def test_what_cannot_be_joined_is_refused(tmp_path, capsys):
    a = _saved(tmp_path, "a", 0)
    assert main(["--out", str(tmp_path / "one.safetensors"), a]) == 2
    assert "at least two" in capsys.readouterr().err
    torch.manual_seed(2)
    card = random_card("fewer")
    card["labels"] = card["labels"][:4]
    card["architecture"]["params"] = {"n_labels": 4}
    other, _ = save_model(ActivityCNN(n_labels=4), card, tmp_path / "fewer.safetensors")
    assert main(["--out", str(tmp_path / "bad.safetensors"), a, str(other)]) == 2
    assert "labels" in capsys.readouterr().err
    assert not (tmp_path / "bad.safetensors").exists()
    card = random_card("bands")
    card["architecture"]["params"] = {"head_bands": 4}
    banded, _ = save_model(ActivityCNN(head_bands=4), card, tmp_path / "bands.safetensors")
    assert main(["--out", str(tmp_path / "bad.safetensors"), a, str(banded)]) == 2
    assert "band features" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least two"):
        ActivityEnsemble([{}])
