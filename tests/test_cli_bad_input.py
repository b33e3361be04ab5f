"""The command line on a corpus of awkward input: one clear line and exit 1, or a normal analysis.

Nothing is written when a run fails: not the JSON, not an export, not a temporary file.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from badinput import BAD, VALID, honour_permissions
from testmodels import random_card

from studio_tagger.cli import main
from studio_tagger.labels import LABELS
from studio_tagger.models import ActivityCNN, PaperCNN, save_model


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path / "in", tmp_path / "out"


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input_is_one_line_exit_1_and_no_output(case, folders, random_model_path, capsys, monkeypatch):
    honour_permissions(monkeypatch)
    inputs, outputs = folders
    path = case.build(inputs)
    expected = f"studio-tagger: error: {path}: {case.reason}\n"
    runs = [
        ["analyze", str(path), "--json", str(outputs / "a.json"), "--export", f"audacity={outputs / 'a.txt'}",
         "--export", f"wav={outputs / 'a.wav'}"],
        ["classify", str(path), "--json", str(outputs / "c.json"), "--csv", str(outputs / "c.csv")],
    ]
    for argv in runs:
        assert main([*argv, "--model", str(random_model_path)]) == 1
        captured = capsys.readouterr()
        assert captured.err == expected and captured.out == ""
    assert list(outputs.iterdir()) == []


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_unusual_but_valid_audio_is_analysed(case, folders, random_model_path):
    inputs, outputs = folders
    path = case.build(inputs)
    out = outputs / "a.json"
    assert main(["analyze", str(path), "--model", str(random_model_path), "--json", str(out), "--quiet",
                 "--export", f"reaper={outputs / 'r.csv'}"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["file"] == str(path) and data["labels"] == list(LABELS)
    assert len(data["times"]) == max(1, math.ceil(round(data["duration"] / 0.5, 6)))
    activity = np.asarray(data["activity"])
    assert activity.shape == (len(data["times"]), len(LABELS))
    assert np.isfinite(activity).all() and activity.min() >= 0.0 and activity.max() <= 1.0
    assert (outputs / "r.csv").read_text(encoding="utf-8").startswith("#,Name,Start,End,Length")


def test_classify_tags_the_good_files_and_names_each_bad_one(folders, random_model_path, capsys):
    """Tagging a folder of samples, one unreadable file does not cost the others their tags: each bad file
    is one line, then the count, exit 1; the outputs hold the files that could be read."""
    inputs, outputs = folders
    good = VALID[2].build(inputs)
    bad = BAD[4].build(inputs)
    assert main(["classify", str(good), str(bad), "--model", str(random_model_path),
                 "--json", str(outputs / "tags.json")]) == 1
    assert capsys.readouterr().err == (f"studio-tagger: error: {bad}: {BAD[4].reason}\n"
                                       "studio-tagger: error: 1 of 2 files could not be classified (named above, "
                                       "and in the outputs' error field); the others were classified\n")
    rows = json.loads((outputs / "tags.json").read_text(encoding="utf-8"))
    assert [row["file"] for row in rows] == [str(good), str(bad)]
    assert rows[1]["label"] is None and rows[1]["error"] == f"{bad}: {BAD[4].reason}" and "error" not in rows[0]


def _model(folder, name, card_change=None, module=None, arch="activity_cnn"):
    card = random_card(arch=arch)
    if card_change:
        card_change(card)
    return save_model(module or ActivityCNN(), card, folder / f"{name}.safetensors")[0]


def _set(key, value):
    return lambda card: card.__setitem__(key, value)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "nowhere.safetensors", "{weights}: model file not found"),
        (lambda d: _model(d, "m", _set("labels", list(LABELS[:5]))),
         "{card}: card names 5 labels but the model has 8 outputs"),
        (lambda d: _model(d, "m", _set("labels", ["flute"] * 8)),
         "{card}: model card is incomplete or invalid (labels must be distinct, non-empty names)"),
        (lambda d: _model(d, "m", _set("window_seconds", 1.0), PaperCNN(), "paper_cnn"),
         "{card}: the model cannot run on the card's features (mat1 and mat2 shapes cannot be multiplied"),
        (lambda d: _model(d, "m", module=ActivityCNN(channels=(8, 16, 32, 48))),
         "{weights}: weights do not match the card's architecture ("),
        (lambda d: _model(d, "m", _set("architecture", {"type": "activity_cnn", "params": {"channels": [-4]}})),
         "{card}: the card's architecture cannot be built ("),
        (lambda d: _model(d, "m", _set("architecture", {"type": "transformer-9000"})),
         "{card}: the card's architecture cannot be built (unknown architecture 'transformer-9000'"),
    ],
    ids=["missing", "too-few-labels", "repeated-labels", "wrong-features", "wrong-shapes", "bad-params",
         "unknown-architecture"],
)
def test_bad_model_is_one_line_exit_1(make, reason, folders, capsys):
    inputs, outputs = folders
    audio = VALID[2].build(inputs)
    weights = make(inputs)
    out = outputs / "a.json"
    assert main(["analyze", str(audio), "--model", str(weights), "--json", str(out)]) == 1
    err = capsys.readouterr().err
    expected = reason.format(weights=weights, card=weights.with_suffix(".json"))
    assert err.startswith(f"studio-tagger: error: {expected}") and err.count("\n") == 1
    assert list(outputs.iterdir()) == []


def test_corrupt_weights_and_card_are_one_line(folders, random_model_path, capsys):
    inputs, outputs = folders
    audio = VALID[2].build(inputs)
    weights = _model(inputs, "m")
    weights.write_bytes(np.random.default_rng(1).bytes(4000))
    assert main(["classify", str(audio), "--model", str(weights)]) == 1
    assert capsys.readouterr().err.startswith(f"studio-tagger: error: {weights}: weights file is corrupt (")
    weights.with_suffix(".json").write_text("{ \"format\": ")
    assert main(["classify", str(audio), "--model", str(weights)]) == 1
    assert capsys.readouterr().err.startswith(f"studio-tagger: error: {weights.with_suffix('.json')}: "
                                              "model card is not valid JSON (")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "not a studio-tagger analysis or session (Expecting value: line 1 column 1 (char 0))"),
        ("[1, 2]", "not a studio-tagger analysis or session (no 'regions')"),
        ('{"regions": [{"label": "flute"}]}', "region 1 needs label (or name), start and end as numbers"),
        ('{"regions": [{"label": "flute", "start": 1, "end": 2}, {"label": "flute", "start": NaN, "end": 2}]}',
         "region 2 has a time or score that is not a finite number"),
        ('{"regions": [{"label": "flute", "start": 3, "end": 2}]}', "region 1 has invalid times 3.0..2.0"),
        ('{"regions": [], "source": "elsewhere.wav", "times": [0.25], "activity": "x"}',
         "its activity matrix is malformed (could not convert string to float: 'x')"),
        ('{"regions": "x"}', "no list of regions found"),
    ],
    ids=["empty", "list", "region-without-times", "region-not-finite", "region-backwards", "activity-not-numbers",
         "regions-not-a-list"],
)
def test_malformed_analysis_or_session_for_export(content, reason, folders, capsys):
    inputs, outputs = folders
    source = inputs / "s.stsession"
    source.write_text(content, encoding="utf-8")
    assert main(["export", str(source), "--format", "audacity", "--out", str(outputs / "x.txt")]) == 1
    assert capsys.readouterr().err == f"studio-tagger: error: {source}: {reason}\n"
    assert list(outputs.iterdir()) == []


def test_an_output_that_cannot_be_written_is_refused_before_the_work(folders, random_model_path, capsys, monkeypatch):
    """A missing folder or a folder's name as the output is found before an hour of analysis, not after."""
    import studio_tagger.analysis

    def never(*args, **kwargs):
        raise AssertionError("the recording was analysed")

    monkeypatch.setattr(studio_tagger.analysis, "Analyzer", never)
    inputs, outputs = folders
    path = VALID[0].build(inputs)
    missing = outputs / "no such folder" / "a.json"
    runs = [
        (["analyze", str(path), "--json", str(missing)], f"folder {missing.parent} does not exist"),
        (["analyze", str(path), "--export", f"csv={outputs}"], "a folder with that name exists"),
        (["classify", str(path), "--csv", str(missing)], f"folder {missing.parent} does not exist"),
    ]
    for argv, reason in runs:
        assert main([*argv, "--model", str(random_model_path)]) == 1
        assert capsys.readouterr().err.endswith(f"{reason}\n")
    review = inputs / "review.json"
    review.write_text(json.dumps({"file": str(path), "regions": [{"label": "flute", "start": 0, "end": 1}]}))
    assert main(["adapt", str(review), "--out", str(missing), "--base", str(random_model_path)]) == 1
    assert capsys.readouterr().err.endswith(f"folder {missing.parent} does not exist\n")
    assert list(outputs.iterdir()) == []
