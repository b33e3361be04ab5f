"""Per-label calibration: the analyzer adds the card's logit bias, and the fit picks the bias that
silences a lane's false alarm while keeping its solo."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch
from audiogen import tone_burst
from testmodels import BandEnergy, loaded_model, random_card

from studio_tagger.analysis import Analyzer
from studio_tagger.labels import LABELS
from studio_tagger.models import ActivityCNN, load_model, save_model
from studio_tagger.models.registry import ARCHITECTURES
from training.calibrate import choose, main
from training.evaluate import analyzer_scores, clip_scores

FLUTE = LABELS.index("flute")


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def test_analyzer_adds_the_bias_to_the_logits_before_the_sigmoid(write_audio):
    path = write_audio("tone.wav", tone_burst(12.0, 16000, 2.0, 8.0, seed=1)[:, 0] * 0.1, 16000)
    model = loaded_model(BandEnergy(), "energy")
    bias = np.linspace(-1.5, 2.0, len(LABELS))
    # hop = window: every bin is one window, so its activity is exactly sigmoid(window logit + bias).
    plain = Analyzer(model, device="cpu", hop=2.0).analyze(path).activity
    shifted = Analyzer(replace(model, logit_bias=tuple(bias)), device="cpu", hop=2.0).analyze(path).activity
    inside = (plain > 1e-3) & (plain < 1 - 1e-3) & (shifted > 1e-3) & (shifted < 1 - 1e-3)
    assert inside[:, 0].sum() >= 3
    diff = _logit(shifted.astype(np.float64)) - _logit(plain.astype(np.float64))
    np.testing.assert_allclose(diff[inside], np.broadcast_to(bias, diff.shape)[inside], atol=2e-3)


def test_clip_scores_add_the_bias_as_the_analyzer_does(random_model_path, write_audio):
    bias = tuple(np.linspace(-2.0, 2.0, len(LABELS)))
    model = replace(load_model(random_model_path), logit_bias=bias)
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((1, 48_000))).astype(np.float32)
    path = write_audio("noise.wav", audio[0], 16000, subtype="FLOAT")
    expected = analyzer_scores(Analyzer(model, device="cpu"), [path])
    got = clip_scores(model.module, audio, np.array([48_000]), activation="sigmoid", logit_bias=bias)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    plain = clip_scores(model.module, audio, np.array([48_000]), activation="sigmoid")
    assert np.all(np.diff(np.sign(got[0] - plain[0])) >= 0)  # lower where the bias is negative, higher after


def _rows(f1: list[float], found: list[int]) -> list[dict]:
    return [{"segment_f1": a, "found": b} for a, b in zip(f1, found, strict=True)]


def test_choose_takes_the_best_f1_then_more_solos_then_the_smaller_shift():
    labels = ["a", "b", "c"]
    rows = {  # per bias: label a peaks at +1; b ties at -1/0/+1 and finds more at +1; c is flat
        -1.0: _rows([0.5, 0.8, 0.0], [1, 2, 0]),
        0.0: _rows([0.6, 0.8, 0.0], [1, 2, 0]),
        1.0: _rows([0.9, 0.802, 0.0], [2, 3, 0]),
    }
    assert choose(rows, labels, tolerance=0.005) == {"a": 1.0, "b": 1.0, "c": 0.0}
    assert choose(rows, labels, tolerance=0.0)["b"] == 1.0
    rows[1.0] = _rows([0.9, 0.79, 0.0], [2, 3, 0])  # now below the tie band: b keeps the smaller shift
    assert choose(rows, labels, tolerance=0.005)["b"] == 0.0


@pytest.fixture
def energy_model_file(tmp_path, monkeypatch):
    monkeypatch.setitem(ARCHITECTURES, "band_energy", BandEnergy)
    path = tmp_path / "model" / "energy.safetensors"
    save_model(BandEnergy(), random_card("energy", "band_energy"), path)
    return path


def _take(folder, name, amplitude, solos):
    sf.write(str(folder / f"{name}.wav"), tone_burst(20.0, 16000, 4.0, 12.0)[:, 0] * amplitude, 16000)
    truth = {"file": f"{name}.wav", "duration": 20.0, "sample_rate": 16000, "bank": "none", "seed": 0,
             "solos": solos}
    (folder / f"{name}.json").write_text(json.dumps(truth))


def test_fit_silences_a_lane_on_a_quiet_false_alarm_and_keeps_its_solo(energy_model_file, tmp_path):
    # Take a: a loud 1 kHz tone that is a flute solo; take b: the same tone 20 dB down that is not.
    # The energy model lights every lane on both (flute activity 0.91 and 0.58); a bias of -1 moves
    # the quiet one below the 0.4 threshold and keeps the loud one above it (-3 would lose the solo).
    takes = tmp_path / "takes"
    takes.mkdir()
    _take(takes, "a", 1.0, [{"label": "flute", "start": 4.0, "end": 12.0}])
    _take(takes, "b", 0.1, [])
    weights_before = energy_model_file.read_bytes()
    assert main(["--model", str(energy_model_file), "--takes", str(takes), "--grid=-3,-2,-1,0,1",
                 "--device", "cpu", "--write", "--version", "9.9"]) == 0
    model = load_model(energy_model_file)
    assert energy_model_file.read_bytes() == weights_before  # only the card is rewritten
    # Labels without solos in the takes cannot be judged and keep 0.
    assert model.logit_bias == tuple(-1.0 if i == FLUTE else 0.0 for i in range(len(LABELS)))
    card = model.card
    assert card["version"] == "9.9" and card["calibration"]["takes"] == ["a", "b"]
    before, after = card["calibration"]["before"], card["calibration"]["after"]
    assert before["found"] == after["found"] == 1
    assert after["false_alarm_regions"] == before["false_alarm_regions"] - 1
    quiet = Analyzer(model, device="cpu").analyze(takes / "b.wav")
    middle = (quiet.times > 5) & (quiet.times < 11)
    assert quiet.activity[middle, FLUTE].max() < 0.4 < quiet.activity[middle, 0].min()


def test_a_softmax_model_is_not_calibrated(tmp_path, capsys):
    card = random_card("soft")
    card["activation"] = "softmax"
    torch.manual_seed(0)
    save_model(ActivityCNN(), card, tmp_path / "m.safetensors")
    assert main(["--model", str(tmp_path / "m.safetensors"), "--takes", str(tmp_path)]) == 2
    assert "sigmoid" in capsys.readouterr().err


def test_takes_of_an_evaluation_only_bank_are_not_calibrated_on(energy_model_file, tmp_path, capsys):
    takes = tmp_path / "takes"
    takes.mkdir()
    _take(takes, "a", 1.0, [{"label": "flute", "start": 4.0, "end": 12.0}])
    truth = json.loads((takes / "a.json").read_text())
    (takes / "a.json").write_text(json.dumps(truth | {"bank": "FreePats"}))
    card_before = energy_model_file.with_suffix(".json").read_text()
    assert main(["--model", str(energy_model_file), "--takes", str(takes), "--write"]) == 2
    assert "evaluation-only" in capsys.readouterr().err
    assert energy_model_file.with_suffix(".json").read_text() == card_before


def test_a_held_label_keeps_a_zero_bias_and_an_unknown_one_is_refused(energy_model_file, tmp_path, capsys):
    takes = tmp_path / "takes"
    takes.mkdir()
    _take(takes, "a", 1.0, [{"label": "flute", "start": 4.0, "end": 12.0}])
    _take(takes, "b", 0.1, [])
    assert main(["--model", str(energy_model_file), "--takes", str(takes), "--grid=-1,0", "--hold", "flute",
                 "--device", "cpu", "--write"]) == 0
    card = load_model(energy_model_file).card
    assert card["calibration"]["logit_bias"]["flute"] == 0.0 and card["calibration"]["held_at_zero"] == ["flute"]
    assert card["calibration"]["after"]["false_alarm_regions"] == card["calibration"]["before"]["false_alarm_regions"]
    assert main(["--model", str(energy_model_file), "--takes", str(takes), "--hold", "flutte"]) == 2
    assert "unknown label(s) flutte" in capsys.readouterr().err
