"""The shipped models: they load, and name freshly rendered solos of every instrument.

The clips are rendered here from the small TimGM6mb bank with a seed the model's training set did not
use (training used seed 0), so the phrases are new, though the bank's samples were seen in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio_tagger.analysis import Analyzer
from studio_tagger.labels import LABELS
from studio_tagger.models import default_model_path, load_model
from studio_tagger.shipped import adapted_from, model_files, shipped, shipped_choice
from training.medley import read_metadata
from training.soundfonts import get_soundfont
from training.synth import plan, synthesize

needs_tim = pytest.mark.skipif(not get_soundfont("TimGM6mb").path.exists(), reason="TimGM6mb not installed")


def test_shipped_model_loads_with_a_complete_card():
    model = load_model()
    assert model.path == default_model_path()
    assert model.labels == LABELS and model.kind == "frames" and model.window_seconds == 2.0
    card = model.card
    for key in ("name", "version", "architecture", "features", "training", "metrics"):
        assert key in card
    assert card["training"]["command"].startswith("python -m training.train")
    # validated on whole real sources it never heard (other saxophones, another grand piano)
    assert card["metrics"]["validation"]["selection"] == "mtg_solosax,splendid_piano"
    assert card["metrics"]["validation"]["accuracy"] > 0.8
    credited = {c["source"] for c in card["training"]["data"]["credits"]}
    assert {"weresax", "tonejs_vso2", "salamander", "sinsy"} <= credited  # every licence asks for a credit
    assert not credited & {"mtg_solosax", "splendid_piano"}  # held out, never trained on


def test_the_accurate_option_loads_by_its_name_with_its_members_and_figures(tmp_path, monkeypatch):
    model = load_model("accurate")
    assert model.path == shipped("models/accurate.safetensors") and model.name == "studio-tagger-accurate"
    assert model.labels == LABELS and model.kind == "frames" and model.gives_embeddings
    card = model.card
    assert card["architecture"]["type"] == "activity_ensemble" and len(card["ensemble_of"]) == 3
    assert all(m["command"].startswith("python -m training.train") and m["sha256"] for m in card["ensemble_of"])
    credited = {c["source"] for c in card["training"]["data"]["credits"]}
    assert {"weresax", "tonejs_vso2", "salamander", "sinsy"} <= credited and not credited & {"mtg_solosax"}
    assert set(card["calibration"]["logit_bias"]) == set(LABELS)
    assert card["metrics"]["evaluation"]["heldout_real_clips"]["accuracy"] > 0.8
    # A file of that name where the user works is theirs, not the shipped one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate.safetensors").write_bytes(b"")
    assert model_files("accurate") == (Path("accurate.safetensors"), Path("accurate.json"))


def test_an_adapted_model_knows_which_shipped_model_it_came_from(tmp_path):
    """"Back to the Shipped Model" returns to the shipped model adapting started from (through a chain
    of adaptations), so an editor who chose "accurate" gets it back, not the default."""
    from studio_tagger.adapt import remove_lanes, save_adapted

    assert shipped_choice("") == shipped_choice(None) == "" and shipped_choice(str(default_model_path())) == ""
    assert shipped_choice("accurate") == shipped_choice(" Accurate") == "accurate"
    assert model_files("ACCURATE") == model_files("accurate")
    assert shipped_choice(str(shipped("models/accurate.json"))) == "accurate"
    for start, first, second in (("accurate", "violin", "piano"), (None, "flute", "trumpet")):
        once = tmp_path / f"{start}-1.safetensors"
        save_adapted(remove_lanes(load_model(start), [first]), once)
        twice = tmp_path / f"{start}-2.safetensors"
        save_adapted(remove_lanes(load_model(once), [second]), twice)
        for adapted in (once, twice):
            assert shipped_choice(adapted) is None and adapted_from(adapted) == (start or "")
    assert adapted_from(tmp_path / "missing.safetensors") == ""


@needs_tim
@pytest.mark.parametrize("model", [None, "accurate"])
def test_shipped_model_names_rendered_solos_of_every_instrument(tmp_path, model):
    synthesize(tmp_path, plan(["TimGM6mb"], 3, 0, seed=20261127), workers=2)
    records = read_metadata(tmp_path)
    assert {r.label for r in records} == set(LABELS)
    analyzer = Analyzer(model, device="cpu")
    per_label: dict[str, list[np.ndarray]] = {}
    for r in records:
        scores = analyzer.analyze(r.path).mean_scores()
        per_label.setdefault(r.label, []).append(np.array([scores[k] for k in LABELS]))
    for label, rows in per_label.items():
        assert LABELS[int(np.mean(rows, axis=0).argmax())] == label, label


@needs_tim
def test_a_silent_tail_after_a_rendered_phrase_keeps_its_label_and_score(tmp_path):
    """A sample library's one-shots and phrases often end in seconds of silence: the file's label and
    score come from the stretch that sounds."""
    import soundfile as sf

    synthesize(tmp_path, plan(["TimGM6mb"], 1, 0, seed=20261201), workers=2)
    analyzer = Analyzer(None, device="cpu")
    kept, lost, plain_lost = 0, [], []
    for r in read_metadata(tmp_path):
        x, rate = sf.read(r.path, dtype="float32", always_2d=True)
        tailed = tmp_path / f"tailed-{r.path.name}"
        sf.write(tailed, np.concatenate([x, np.zeros((8 * rate, x.shape[1]), np.float32)]), rate)
        alone, after = analyzer.analyze(r.path), analyzer.analyze(tailed)
        kept += after.best_label() == alone.best_label()
        lost.append(alone.mean_scores()[r.label] - after.mean_scores()[r.label])
        plain_lost.append(alone.mean_scores()[r.label] - float(after.activity[:, LABELS.index(r.label)].mean()))
    assert kept == len(LABELS)
    assert np.mean(plain_lost) > 0.3  # over every bin, the silence would take most of the score
    assert np.mean(lost) < 0.25 * np.mean(plain_lost)
