"""Clip evaluation scores like the analyzer; take evaluation runs the users' path end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from audiogen import tone_burst
from test_training import tone_clip, write_tone_dataset

from studio_tagger.analysis import Analyzer
from studio_tagger.audio import read_mono
from studio_tagger.features import FeatureParams
from studio_tagger.labels import LABELS
from studio_tagger.models import PaperCNN, load_model, save_model
from training.data import CLIP_SAMPLES, SAMPLE_RATE
from training.evaluate import analyzer_scores, clip_scores, evaluate_takes, main
from training.medley import Record, read_metadata, write_metadata
from training.report import group_recalls


@pytest.fixture(scope="module")
def paper_cnn_path(tmp_path_factory):
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("models") / "paper.safetensors"
    card = {"name": "paper", "architecture": {"type": "paper_cnn", "params": {}}, "labels": list(LABELS),
            "activation": "softmax", "features": FeatureParams().to_dict(), "window_seconds": 2.0}
    save_model(PaperCNN().eval(), card, path)
    return path


@pytest.mark.parametrize("which", ["random_model_path", "paper_cnn_path"])
def test_in_memory_clip_scores_equal_the_analyzer_on_the_clip_files(which, request, tmp_path):
    model = load_model(request.getfixturevalue(which))
    rng = np.random.default_rng(0)
    files = []
    # A Medley-length clip at 44.1 kHz, one at 16 kHz, and a 2.5 s one (windows past its end).
    for i, (rate, n) in enumerate([(44_100, 131_072), (SAMPLE_RATE, CLIP_SAMPLES), (SAMPLE_RATE, 40_000)]):
        path = tmp_path / f"clip{i}.wav"
        sf.write(str(path), tone_clip(i, rng, n), rate, subtype="FLOAT")
        files.append(path)
    expected = analyzer_scores(Analyzer(load_model(model.path), device="cpu"), files)
    waves = [read_mono(p, SAMPLE_RATE) for p in files]
    audio = np.zeros((len(waves), max(len(w) for w in waves)), np.float32)
    for row, w in zip(audio, waves, strict=True):
        row[: len(w)] = w
    lengths = np.array([len(w) for w in waves])
    got = clip_scores(model.module, audio, lengths, activation=model.card["activation"])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got[0] - got[1]).max() > 1e-4  # different clips really score differently


def test_clips_command_writes_tables_for_labelled_clips_and_negatives(random_model_path, tmp_path):
    root = write_tone_dataset(tmp_path / "tones", banks=("TimGM6mb",), per_label=1, accompaniment=2)
    out = tmp_path / "report"
    assert main(["clips", "--model", str(random_model_path), "--data", "medley", "--root", str(root),
                 "--subsets", "gm6", "--out", str(out), "--device", "cpu"]) == 0
    data = json.loads((out / "clips.json").read_text())
    assert data["scoring"] == "Analyzer.analyze per file"
    assert sum(row["support"] for row in data["classification"]["per_class"]) == 8
    assert data["detection"]["negatives"] == 2
    assert "confusion matrix" in (out / "clips.txt").read_text()
    assert (out / "clips.png").stat().st_size > 0


def test_group_recall_names_the_member_of_a_label_that_is_missed():
    labels = ("a", "b", "c")
    groups = ["sax/alto", "sax/alto", "sax/soprano", "sax/soprano", "sax/soprano", "piano/grand", ""]
    truth = [1, 1, 1, 1, 1, 2, 0]
    predicted = [1, 1, 0, 0, 1, 2, 2]  # soprano mostly taken for "a"; the clip with no group is left out
    rows = {r.group: r for r in group_recalls(groups, truth, predicted, labels)}
    assert list(rows) == ["piano/grand", "sax/alto", "sax/soprano"]
    assert rows["sax/alto"].recall == 1.0 and rows["sax/alto"].taken_for == ""
    soprano = rows["sax/soprano"]
    assert (soprano.label, soprano.clips) == ("b", 3)
    assert soprano.recall == pytest.approx(1 / 3) and soprano.taken_for == "a"
    assert soprano.taken_for_share == pytest.approx(2 / 3)


@pytest.mark.parametrize("in_memory", [False, True])
def test_clip_report_gives_recall_per_group_when_the_metadata_names_groups(random_model_path, tmp_path,
                                                                           in_memory):
    root = write_tone_dataset(tmp_path / "tones", banks=("TimGM6mb",), per_label=2, accompaniment=1)
    # Name two groups per label, as realsynth names one source's instrument ("mtg_solosax/alto saxophone").
    records = [Record(r.path, r.label, r.label_id, r.subset, r.song_id, r.uuid,
                      {"group": f"{r.label}/take{i // len(LABELS)}"}) for i, r in enumerate(read_metadata(root))]
    write_metadata(root, records)
    out = tmp_path / "report"
    assert main(["clips", "--model", str(random_model_path), "--data", "medley", "--root", str(root),
                 "--out", str(out), "--device", "cpu", *(["--in-memory", "--jobs", "1"] if in_memory else [])]) == 0
    data = json.loads((out / "clips.json").read_text())
    groups = data["per_group"]
    assert len(groups) == 16 and all(g["clips"] == 1 for g in groups)  # accompaniment has no group
    recall = {row["label"]: row["recall"] for row in data["classification"]["per_class"]}
    for label in LABELS:  # a label's recall is the mean over its two groups of one clip each
        mine = [g["recall"] for g in groups if g["label"] == label]
        assert len(mine) == 2 and np.mean(mine) == pytest.approx(recall[label])
    assert "recall per group" in (out / "clips.txt").read_text()


def test_take_evaluation_finds_a_solo_where_the_analyzer_lights_up(energy_model, tmp_path):
    # The energy model lights every lane where a 1 kHz tone plays: 4-12 s of a 20 s take.
    sf.write(str(tmp_path / "take.wav"), tone_burst(20.0, 16000, 4.0, 12.0)[:, 0], 16000)
    truth = {"file": "take.wav", "duration": 20.0, "sample_rate": 16000, "bank": "none", "seed": 0,
             "solos": [{"label": "flute", "start": 4.0, "end": 12.0}]}
    (tmp_path / "take.json").write_text(json.dumps(truth))
    report, regions = evaluate_takes(Analyzer(energy_model, device="cpu"), [tmp_path / "take.json"])
    flute = [r for r in regions["take"] if r["label"] == "flute"]
    assert len(flute) == 1
    (solo,) = report.solos
    assert solo.found and abs(solo.onset_error) <= 1.0
    summary = report.summary()
    # Every other lane fires on the same stretch: 7 false-alarm regions, segment precision about 1/8.
    assert summary["false_alarm_regions"] == 7
    assert summary["segment_recall"] >= 0.85 and summary["segment_precision"] == pytest.approx(1 / 8, abs=0.03)


def test_takes_command_counts_solos_found_per_group_when_the_truth_names_groups(energy_model, tmp_path):
    # Two takes, the tone at 4-12 s in each; the energy model finds it. The first take's truth names its
    # solo's group (as realtakes writes it), a second, silent solo is missed; the other take names none.
    sf.write(str(tmp_path / "a.wav"), tone_burst(20.0, 16000, 4.0, 12.0)[:, 0], 16000)
    sf.write(str(tmp_path / "b.wav"), tone_burst(20.0, 16000, 4.0, 12.0)[:, 0], 16000)
    solos = [{"label": "flute", "start": 4.0, "end": 12.0, "group": "ixox_flute/flute"},
             {"label": "violin", "start": 14.0, "end": 19.0, "group": "tonejs_vso2/violin"}]
    (tmp_path / "a.json").write_text(json.dumps({"file": "a.wav", "duration": 20.0, "solos": solos}))
    (tmp_path / "b.json").write_text(json.dumps({"file": "b.wav", "duration": 20.0,
                                                 "solos": [{"label": "flute", "start": 4.0, "end": 12.0}]}))
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    analyzer = Analyzer(energy_model, device="cpu")
    report, _ = evaluate_takes(analyzer, files)
    assert sum(s.found for s in report.solos) == 2  # both flutes; b's is found but names no group
    groups = report.per_group()
    assert [(g["group"], g["solos"], g["found"]) for g in groups] == [("ixox_flute/flute", 1, 1),
                                                                    ("tonejs_vso2/violin", 1, 0)]
    # the flute's region covers most of its solo; nothing lights the violin's silence
    assert groups[0]["mean_cover"] >= 0.85 and groups[1]["mean_cover"] == 0.0
    assert report.to_dict()["per_group"] == groups
    assert "tonejs_vso2/violin   0 of 1    cover 0.000" in report.to_text()
    ungrouped, _ = evaluate_takes(analyzer, files[1:])
    assert ungrouped.per_group() == [] and "per_group" not in ungrouped.to_dict()


def test_notes_command_names_each_note_file_of_the_chosen_sources(random_model_path, tmp_path):
    # A realdata-shaped folder: two sources of single notes; only the chosen one is scored, a note's
    # manifest instrument gives its label (alto saxophone counts as tenor saxophone), noises are left out.
    root = tmp_path / "realdata"
    (root / "a").mkdir(parents=True)
    rows = ["path,source_id,license,instrument,kind,midi_pitch,dynamic,mic,duration_s,original_sample_rate,source_file"]
    for i, (source, instrument, kind) in enumerate([("a", "flute", "note"), ("a", "alto saxophone", "note"),
                                                    ("a", "noise", "noise"), ("b", "flute", "note")]):
        path = root / "a" / f"n{i}.wav"
        sf.write(str(path), tone_burst(3.0, 16000, 0.2, 2.5)[:, 0], 16000)
        rows.append(f"a/n{i}.wav,{source},CC0-1.0,{instrument},{kind},{'' if kind == 'noise' else 69},,,3.0,16000,x")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    model = random_model_path
    out = tmp_path / "report"
    assert main(["notes", "--model", str(model), "--realdata", str(root), "--sources", "a", "--out", str(out),
                 "--device", "cpu"]) == 0
    data = json.loads((out / "clips.json").read_text())
    support = {row["label"]: row["support"] for row in data["classification"]["per_class"]}
    assert support["flute"] == 1 and support["tenor saxophone"] == 1 and sum(support.values()) == 2
    assert main(["notes", "--model", str(model), "--realdata", str(root), "--sources", "c", "--out", str(out),
                 "--device", "cpu"]) == 2
