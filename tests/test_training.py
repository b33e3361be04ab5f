"""End-to-end training on a tiny tone dataset: export, card, resume, determinism."""

from __future__ import annotations

import inspect
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from studio_tagger.labels import LABELS
from studio_tagger.models import ActivityCNN, load_model
from studio_tagger.models.hashing import weights_sha256
from training import train
from training.data import CLIP_SAMPLES, SAMPLE_RATE
from training.medley import NOT_A_LABEL, Record, audio_path, write_metadata


def tone_clip(label_id: int, rng: np.random.Generator, n: int = CLIP_SAMPLES) -> np.ndarray:
    """A harmonic tone whose fundamental and brightness depend on the label (or noise-like chords
    for accompaniment, label -1)."""
    t = np.arange(n) / SAMPLE_RATE
    if label_id < 0:
        freqs = rng.uniform(80, 400, size=3)
        x = sum(np.sin(2 * np.pi * f * t) for f in freqs) + 0.1 * rng.standard_normal(n)
    else:
        f0 = 180.0 * 2 ** (label_id / 4 + rng.uniform(-0.05, 0.05))
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k ** (0.5 + label_id / 4) for k in range(1, 8))
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def write_tone_dataset(root: Path, banks=("FluidR3_GM", "TimGM6mb"), per_label: int = 2,
                       accompaniment: int = 2, seed: int = 0) -> Path:
    """A Medley-solos-DB layout of tone clips (16 kHz) with synth's accompaniment sub-root."""
    rng = np.random.default_rng(seed)
    labelled, others = [], []
    song = 0
    for bank in banks:
        for label_id in [*range(len(LABELS))] * per_label + [NOT_A_LABEL] * accompaniment:
            uid = str(uuid.UUID(int=int(rng.integers(2**62)), version=4))
            sub = root if label_id >= 0 else root / "accompaniment"
            path = audio_path(sub, bank, label_id, uid)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), tone_clip(label_id, rng), SAMPLE_RATE, subtype="PCM_16")
            name = LABELS[label_id] if label_id >= 0 else "strings"
            (labelled if label_id >= 0 else others).append(Record(path, name, label_id, bank, song, uid))
            song += 1
    write_metadata(root, labelled)
    write_metadata(root / "accompaniment", others)
    return root


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> Path:
    return write_tone_dataset(tmp_path_factory.mktemp("tones"))


def test_an_evaluation_only_bank_is_not_trained_on(tmp_path):
    root = write_tone_dataset(tmp_path / "tones", banks=("FluidR3_GM", "FreePats"), per_label=1)
    args = _args(root, tmp_path / "run", tmp_path / "cache", 1)
    with pytest.raises(SystemExit, match="FreePats: evaluation-only bank"):
        train.main([*args[:5], "FreePats", "--val", "FluidR3_GM", *args[8:]])
    with pytest.raises(SystemExit, match="FreePats: evaluation-only bank"):  # nor beside a SoundFont
        train.main([*args[:5], "FluidR3_GM,FreePats", "--val", "split:0.5", *args[8:]])
    root = write_tone_dataset(tmp_path / "tones2", banks=("FluidR3_GM", "Sonivox"), per_label=1)
    args = _args(root, tmp_path / "run2", tmp_path / "cache", 1)
    with pytest.raises(SystemExit, match="Sonivox: evaluation-only bank"):
        train.main([*args[:5], "FluidR3_GM,Sonivox", "--val", "split:0.5", *args[8:]])


def _args(root: Path, run: Path, cache: Path, epochs: int, *extra: str) -> list[str]:
    return ["--data", "medley", "--root", str(root), "--train", "fluid", "--val", "gm6", "--epochs", str(epochs),
            "--steps-per-epoch", "1", "--batch-size", "6", "--max-per-label", "1", "--run-dir", str(run),
            "--cache", str(cache), "--jobs", "1", "--seed", "3", "--inference-seconds", "2", *extra]


def test_training_exports_a_loadable_model_and_resume_matches_an_uninterrupted_run(tones, tmp_path):
    cache = tmp_path / "cache"
    straight = tmp_path / "straight"
    assert train.main(_args(tones, straight, cache, 2)) == 0
    model = load_model(straight / "model.safetensors")
    card = model.card
    assert card["labels"] == list(LABELS) and card["activation"] == "sigmoid"
    assert card["architecture"]["type"] == "activity_cnn" and card["window_seconds"] == 2.0
    # Every constructor parameter is written out, so a later change of a default cannot reinterpret the weights.
    assert card["architecture"]["params"]["stem_stride"] == list(ActivityCNN().blocks[0][0].stride)
    assert set(card["architecture"]["params"]) == set(inspect.signature(ActivityCNN).parameters)
    assert card["training"]["epochs"] == 2 and card["training"]["seed"] == 3
    assert card["training"]["command"].startswith("python -m training.train --data medley")
    assert card["training"]["data"]["train"]["families"] == ["fluid"]
    assert card["training"]["data"]["validation"]["families"] == ["gm6"]
    assert card["training"]["data"]["train"]["per_label"] == dict.fromkeys(LABELS, 1)
    assert card["training"]["data"]["train"]["accompaniment_clips"] == 1
    assert card["parameters"] == sum(p.numel() for p in model.module.parameters())
    assert card["metrics"]["validation"]["clips"] == 8 and card["metrics"]["validation"]["negatives"] == 1
    assert card["metrics"]["inference"]["realtime_factor"] > 0
    assert (straight / "validation" / "clips.png").is_file()
    log = (straight / "train.log").read_text()
    assert '"epoch": 2' in log and "parameters" in log

    # The same run, interrupted after one epoch and resumed, ends with the same weights.
    split = tmp_path / "split"
    assert train.main(_args(tones, split, cache, 1)) == 0
    assert json.loads((split / "checkpoint.json").read_text())["epoch"] == 1
    assert train.main(["--resume", str(split), "--epochs", "2"]) == 0
    a = load_file(str(straight / "model.safetensors"))
    b = load_file(str(split / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    resumed = load_model(split / "model.safetensors").card["training"]
    assert resumed["epochs"] == 2 and resumed["resumed_with"] == [f"python -m training.train --resume {split} --epochs 2"]


def test_single_label_paper_cnn_uses_softmax_and_class_weights(tones, tmp_path):
    run = tmp_path / "paper"
    args = _args(tones, run, tmp_path / "cache", 1, "--arch", "paper_cnn", "--objective", "single",
                 "--augment", "paper")
    assert train.main(args) == 0
    model = load_model(run / "model.safetensors")
    assert model.card["activation"] == "softmax"
    assert model.card["training"]["loss"].startswith("weighted cross-entropy")
    rows = model.card["training"]["history"][0]["rows"]
    assert rows["solo"] == 6 and rows["two_targets"] == rows["accompaniment"] == rows["empty"] == 0
    assert "detection_micro_f1" not in model.card["metrics"]["validation"]


def test_class_weights_are_one_minus_class_share():
    class Fake:
        def counts(self):
            return {"a": 1, "b": 3}

    torch.testing.assert_close(train.class_weights(Fake()), torch.tensor([0.75, 0.25]))


def test_cosine_schedule_decays_from_the_base_rate():
    from training.train import epoch_lr

    rates = [epoch_lr(1e-3, "cosine", e, 10) for e in range(1, 11)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(5e-5)
    assert all(a > b for a, b in zip(rates[:-1], rates[1:], strict=True))
    assert epoch_lr(1e-3, "constant", 7, 10) == 1e-3


def test_also_roots_join_the_selection_and_a_whole_source_can_be_held_out(tmp_path):
    gm = write_tone_dataset(tmp_path / "gm", banks=("FluidR3_GM",), per_label=1, seed=1)
    real = write_tone_dataset(tmp_path / "real", banks=("weresax", "mtg_solosax"), per_label=1, seed=2)
    run = tmp_path / "run"
    args = ["--data", "synth", "--root", str(gm), "--also", str(real), "--train", "fluid,weresax",
            "--val", "mtg_solosax", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4",
            "--run-dir", str(run), "--cache", str(tmp_path / "cache"), "--jobs", "1", "--seed", "3",
            "--inference-seconds", "2"]
    assert train.main(args) == 0
    data = load_model(run / "model.safetensors").card["training"]["data"]
    assert data["train"]["subsets"] == ["FluidR3_GM", "weresax"]
    assert data["validation"]["subsets"] == ["mtg_solosax"]  # none of its clips trained on
    assert data["train"]["clips"] == 2 * len(LABELS) and data["also_roots"] == [str(real)]
    assert [c["source"] for c in data["credits"]] == ["weresax"]  # a GM bank needs no credit line


def test_aux_targets_mark_each_sources_instrument():
    aux_ids = np.array([-1, 0, 1, -1])  # clip -> auxiliary output
    out = train.aux_targets(np.array([0, 1, -1, 2]), np.array([2, 3, -1, 1]), aux_ids, 2)
    assert out.tolist() == [[0, 1], [1, 0], [0, 0], [1, 1]]


def test_a_fine_tune_with_auxiliary_outputs_starts_from_the_given_weights_and_exports_the_labels_only(tones, tmp_path):
    cache = tmp_path / "cache"
    base = tmp_path / "base"
    assert train.main(_args(tones, base, cache, 1)) == 0
    tuned = tmp_path / "tuned"
    # lr 0: the trunk and the label rows of the head stay the base's, so they show where the weights came from.
    assert train.main(_args(tones, tuned, cache, 1, "--init", str(base / "model.safetensors"),
                            "--aux-instruments", "strings", "--lr", "0")) == 0
    model = load_model(tuned / "model.safetensors")
    assert model.labels == tuple(LABELS) and model.module.head.out_channels == len(LABELS)
    training = model.card["training"]
    assert training["auxiliary_outputs"]["instruments"] == ["strings"]
    assert training["initialised_from"]["model"] == str(base / "model.safetensors")
    assert model.card["architecture"]["params"]["n_labels"] == len(LABELS)
    a, b = load_file(str(base / "model.safetensors")), load_file(str(tuned / "model.safetensors"))
    for key in ("blocks.0.0.weight", "temporal.0.weight", "head.weight", "head.bias"):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert "auxiliary outputs (1, dropped at export): strings" in (tuned / "train.log").read_text()

    with pytest.raises(SystemExit, match="no accompaniment clips of oboe"):
        train.main(_args(tones, tmp_path / "bad", cache, 1, "--aux-instruments", "oboe"))
    other = write_tone_dataset(tmp_path / "other", per_label=1)
    with pytest.raises(SystemExit, match="has shape"):  # a model of another architecture
        train.main(_args(other, tmp_path / "bad2", cache, 1, "--arch-params", '{"channels": [8, 16, 32, 48]}',
                         "--init", str(base / "model.safetensors")))


def test_a_teacher_blends_its_scores_into_the_targets(tones, tmp_path):
    cache = tmp_path / "cache"
    assert train.main(_args(tones, tmp_path / "teacher", cache, 1, "--seed", "5")) == 0
    teacher = tmp_path / "teacher" / "model.safetensors"
    assert train.main(_args(tones, tmp_path / "plain", cache, 1)) == 0
    assert train.main(_args(tones, tmp_path / "none", cache, 1, "--teacher", str(teacher), "--teacher-weight", "0")) == 0
    assert train.main(_args(tones, tmp_path / "all", cache, 1, "--teacher", str(teacher), "--teacher-weight", "1")) == 0
    plain, none, taught = (load_file(str(tmp_path / run / "model.safetensors")) for run in ("plain", "none", "all"))
    for key in plain:  # weight 0: the labels alone, exactly as without a teacher
        torch.testing.assert_close(none[key], plain[key], rtol=0, atol=0, msg=key)
    assert any(not torch.equal(taught[key], plain[key]) for key in plain if plain[key].is_floating_point())
    card = load_model(tmp_path / "all" / "model.safetensors").card["training"]
    assert card["teacher"]["weight"] == 1.0 and card["teacher"]["model"] == str(teacher)
    assert card["teacher"]["weights_sha256"] == weights_sha256(teacher)
    with pytest.raises(SystemExit, match="needs --objective multi"):
        train.main(_args(tones, tmp_path / "single", cache, 1, "--teacher", str(teacher), "--objective", "single",
                         "--arch", "paper_cnn"))
