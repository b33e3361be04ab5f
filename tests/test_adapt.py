"""Adapting a model to corrections and examples: direction of the change, what it leaves alone, the model
file it writes, new lanes through every export, and the requests it refuses."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.adapt import (
    AdaptError,
    Review,
    activity_from_embeddings,
    adapt_model,
    embed_review,
    lane_from_examples,
    read_review,
    remove_lanes,
    save_adapted,
)
from studio_tagger.adapt.adapter import base_head, left_as_shown, needed_width
from studio_tagger.adapt.embedded import Embedded, embeddings_key, from_cache, to_cache
from studio_tagger.adapt.head import HeadFit, fit_head, fit_member_heads
from studio_tagger.adapt.reviews import checked_spans
from studio_tagger.analysis import Analyzer, find_regions
from studio_tagger.analysis.regions import Region, RegionParams
from studio_tagger.cli import main
from studio_tagger.interchange import FORMATS
from studio_tagger.models import load_model
from studio_tagger.models.activity_cnn import LANE_BANDS

RATE = 16000
SECTION = 6.0  # seconds: a harmonic tone and noise take turns
DURATION = 48.0
HALF = DURATION / 2


def _recording() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(SECTION * RATE)) / RATE
    tone = sum(0.3 / k * np.sin(2 * np.pi * 440.0 * k * t) for k in range(1, 6))
    parts = []
    for i in range(int(DURATION / SECTION)):
        parts.append(tone if i % 2 == 0 else 0.3 * rng.standard_normal(len(t)))
    return np.concatenate(parts).astype(np.float32)


def _tone_spans(lo: float, hi: float) -> list[tuple[float, float]]:
    starts = np.arange(0.0, DURATION, 2 * SECTION)
    return [(s, s + SECTION) for s in starts if lo <= s and s + SECTION <= hi]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("adapt") / "take.wav"
    sf.write(str(path), _recording(), RATE)
    return path


@pytest.fixture(scope="module")
def base(random_model_path):
    return load_model(random_model_path)


@pytest.fixture(scope="module")
def embedded(base, recording):
    """The first half checked: the tone is a flute, nothing else plays."""
    review = Review(recording, [Region("flute", s, e) for s, e in _tone_spans(0, HALF)], [(0.0, HALF)])
    return embed_review(Analyzer(base, device="cpu", embeddings=True), review)


def _means(times, activity, column):
    """Mean activity of one label over the second half's tone bins and its noise bins."""
    late = times >= HALF + 1.0
    tone = np.zeros(len(times), bool)
    for s, e in _tone_spans(HALF, DURATION):
        tone |= (times > s + 1.0) & (times < e - 1.0)
    return activity[late & tone, column].mean(), activity[late & ~tone & (times % (2 * SECTION) > SECTION + 1.0)
                                                         & (times % (2 * SECTION) < 2 * SECTION - 1.0), column].mean()


def test_cached_embeddings_give_the_analysis_back(base, embedded):
    item, result = embedded
    times, activity = activity_from_embeddings(base, item)
    np.testing.assert_allclose(times, result.times)
    np.testing.assert_allclose(activity, result.activity, atol=1e-2)  # float16 embeddings


def test_corrections_move_the_corrected_label_on_audio_nobody_checked(base, embedded):
    item, result = embedded
    adapted = adapt_model(base, [item])
    flute = base.labels.index("flute")
    tone_before, noise_before = _means(result.times, result.activity, flute)
    times, after = activity_from_embeddings(adapted.model, item)
    tone_after, noise_after = _means(times, after, flute)
    assert tone_after > 0.7 and noise_after < 0.3, (tone_after, noise_after)
    assert tone_after - noise_after > tone_before - noise_before + 0.3
    # Every other label was checked absent in the first half: its activity falls in the second.
    others = [j for j in range(len(base.labels)) if j != flute]
    assert after[times > HALF, :][:, others].mean() < result.activity[result.times > HALF, :][:, others].mean()
    assert adapted.figures["labels"]["flute"]["f1_after"] > adapted.figures["labels"]["flute"]["f1_before"]
    assert "corrected seconds" in adapted.summary and f"{HALF:.0f}" in adapted.summary


def test_a_label_written_otherwise_is_the_lane_it_names(base, embedded):
    """A review's "Flute" or " flute " (a DAW marker, a hand-written file) corrects the flute lane; new
    labels that differ by case alone are one new lane, spelt as first met."""
    item, _ = embedded
    plain = adapt_model(base, [item])
    respelt = [replace(item, review=replace(item.review, regions=[
        replace(r, label=("Flute", " flute ")[i % 2]) for i, r in enumerate(item.review.regions)]))]
    adapted = adapt_model(base, respelt)
    assert adapted.model.labels == base.labels and not adapted.new_labels
    for a, b in zip(base_head(adapted.model), base_head(plain.model), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    two = [replace(item, review=replace(item.review, regions=[*item.review.regions, Region("Oboe", 0.0, 6.0),
                                                                Region("oboe ", 12.0, 18.0)]))]
    assert adapt_model(base, two).new_labels == ("Oboe",)


def test_labels_the_editor_did_not_check_keep_their_scores(base, embedded):
    item, result = embedded
    adapted = adapt_model(base, [item], checked_labels=["flute"])
    _, after = activity_from_embeddings(adapted.model, item)
    flute = base.labels.index("flute")
    others = [j for j in range(len(base.labels)) if j != flute]
    assert np.abs(after[:, others] - result.activity[:, others]).max() < 0.1
    assert np.abs(after[:, flute] - result.activity[:, flute]).max() > 0.3


def test_adapted_model_round_trips_and_analyses_as_in_memory(base, embedded, recording, tmp_path):
    item, _ = embedded
    adapted = adapt_model(base, [item], name="my hall")
    weights, card_path = save_adapted(adapted, tmp_path / "hall")
    loaded = load_model(weights)
    assert loaded.labels == base.labels and loaded.name == "my hall"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert card["adaptation"]["base"] == base.name
    assert card["adaptation"]["base_sha256"] and card["adaptation"]["recordings"] == [str(recording)]
    for key, value in adapted.model.module.state_dict().items():
        assert np.array_equal(loaded.module.state_dict()[key].numpy(), value.numpy()), key
    result = Analyzer(loaded, device="cpu").analyze(recording)
    np.testing.assert_allclose(result.activity, activity_from_embeddings(adapted.model, item)[1], atol=1e-2)  # float16 embeddings


def test_a_new_lane_from_examples_fills_in_and_exports_everywhere(base, embedded, recording, tmp_path):
    item, _ = embedded
    examples = _tone_spans(0, HALF)[:2]
    adapted = lane_from_examples(base, [item], "oboe", [examples])
    assert adapted.model.labels == (*base.labels, "oboe") and adapted.new_labels == ("oboe",)
    weights, _ = save_adapted(adapted, tmp_path / "oboe")
    result = Analyzer(load_model(weights), device="cpu").analyze(recording)
    regions = [r for r in find_regions(result.times, result.activity, result.labels, RegionParams(),
                                       duration=result.duration) if r.label == "oboe"]
    late = [(s, e) for s, e in _tone_spans(HALF, DURATION)]
    found = [any(r.start < e and s < r.end for r in regions) for s, e in late]
    assert all(found), (regions, late)
    noise_time = sum(max(0.0, min(r.end, HALF + 2 * SECTION * (k + 1)) - max(r.start, HALF + 2 * SECTION * k + SECTION))
                     for r in regions for k in range(2))
    assert noise_time < 0.3 * 2 * SECTION
    # The other lanes keep their scores: the examples vouch for the new lane only.
    base_result = embedded[1]
    assert np.abs(result.activity[:, : len(base.labels)] - base_result.activity).max() < 0.1
    for fmt in FORMATS:
        out = tmp_path / f"export-{fmt}"
        assert main(["analyze", str(recording), "--model", str(weights), "--export", f"{fmt}={out}", "-q"]) == 0
        assert b"oboe" in out.read_bytes(), fmt


def test_removing_a_new_lane_gives_the_other_lanes_back_exactly(base, embedded, tmp_path):
    item, _ = embedded
    with_oboe = lane_from_examples(base, [item], "oboe", [_tone_spans(0, HALF)[:2]])
    removed = remove_lanes(with_oboe.model, ["oboe"])
    assert removed.model.labels == base.labels
    _, before = activity_from_embeddings(with_oboe.model, item)
    _, after = activity_from_embeddings(removed.model, item)
    np.testing.assert_array_equal(after, before[:, : len(base.labels)])
    weights, card_path = save_adapted(removed, tmp_path / "no-oboe")
    loaded = load_model(weights)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert loaded.labels == base.labels and card["adaptation"]["removed_labels"] == ["oboe"]
    # Its base is the model the lane was removed from, with what that one was adapted on.
    assert card["adaptation"]["base"] == with_oboe.model.name and card["adaptation"]["sessions"] == []
    assert card["adaptation"]["base_adaptation"]["new_labels"] == ["oboe"]
    assert card["adaptation"]["network_sha256"] == with_oboe.model.card["adaptation"]["network_sha256"]
    # Still the base network: the embeddings cached for the base serve the trimmed model too.
    assert embeddings_key(loaded, item.hop) == embeddings_key(base, item.hop)
    with pytest.raises(AdaptError, match="no lane 'cello'"):
        remove_lanes(base, ["cello"])
    with pytest.raises(AdaptError, match="at least one lane"):
        remove_lanes(base, list(base.labels))


def test_a_new_lane_reads_the_band_features_and_corrections_keep_to_the_embedding(base, embedded, tmp_path):
    item, _ = embedded
    n_embed = base.module.embed_width
    assert item.embeddings.shape[1] == n_embed + base.module.band_channels * LANE_BANDS
    # Corrections of the shipped lanes: the plain head, as the base's.
    corrected = adapt_model(base, [item])
    assert corrected.model.module.head.in_channels == n_embed and corrected.model.module.head_bands == 0
    # A new lane reads the bands too (the old lanes' band weights stay 0) and the file says so.
    with_oboe = lane_from_examples(base, [item], "oboe", [_tone_spans(0, HALF)[:2]])
    head = with_oboe.model.module.head.weight.detach()[:, :, 0]
    assert with_oboe.model.module.head_bands == LANE_BANDS and head.shape[1] == item.embeddings.shape[1]
    assert not head[: len(base.labels), n_embed:].any() and head[-1, n_embed:].abs().sum() > 0
    weights, _ = save_adapted(with_oboe, tmp_path / "oboe")
    loaded = load_model(weights)
    assert loaded.card["architecture"]["params"]["head_bands"] == LANE_BANDS
    assert loaded.module.head.in_channels == head.shape[1]
    # Correcting that model keeps the lane's band weights; removing the lane gives the plain head back.
    again = adapt_model(loaded, [item])
    assert again.model.module.head_bands == LANE_BANDS
    assert again.model.module.head.weight[-1, n_embed:].abs().sum() > 0
    plain = remove_lanes(loaded, ["oboe"])
    assert plain.model.module.head_bands == 0 and plain.model.module.head.in_channels == n_embed
    assert "head_bands" not in plain.model.card["architecture"]["params"]


def test_embeddings_cached_without_band_features_still_adapt(base, embedded, tmp_path):
    """A session saved before embeddings carried band features: its lanes read the embedding alone; a
    model whose lane reads the bands does not take such a cache."""
    item, _ = embedded
    n_embed = base.module.embed_width
    narrow = Embedded(item.review, item.duration, item.hop, item.window, item.embeddings[:, :n_embed])
    with_oboe = lane_from_examples(base, [narrow], "oboe", [_tone_spans(0, HALF)[:2]])
    assert with_oboe.model.module.head_bands == 0 and with_oboe.model.module.head.in_channels == n_embed
    key = embeddings_key(base, item.hop)
    assert from_cache(item.review, to_cache(narrow, key), key, needed_width(base)) is not None
    banded = lane_from_examples(base, [item], "oboe", [_tone_spans(0, HALF)[:2]]).model
    assert from_cache(item.review, to_cache(narrow, key), key, needed_width(banded)) is None
    with pytest.raises(AdaptError, match="analyse the recordings again"):
        adapt_model(banded, [narrow])


def test_bad_requests_are_refused_with_a_clear_message(base, embedded, recording):
    item, _ = embedded
    unchecked = Review(recording, [Region("flute", 0.0, 6.0)], [(3.0, 4.0)])
    short_span = type(item)(unchecked, item.duration, item.hop, item.window, item.embeddings)
    with pytest.raises(AdaptError, match="no corrections"):
        adapt_model(base, [short_span])
    with pytest.raises(AdaptError, match="shorter than one analysis window"):
        lane_from_examples(base, [item], "oboe", [[(0.0, 6.0), (12.0, 13.0)]])
    with pytest.raises(AdaptError, match="already a lane"):
        lane_from_examples(base, [item], "Flute", [[(0.0, 6.0)]])
    with pytest.raises(AdaptError, match="already a lane"):
        lane_from_examples(base, [item], "flute", [[(0.0, 6.0)]])
    with pytest.raises(AdaptError, match="at least"):
        lane_from_examples(base, [item], "oboe", [[]])
    # A review's "FLUTE" is the flute lane (test_a_label_written_otherwise_is_the_lane_it_names), not a
    # second flute.
    relabelled = Review(recording, [Region("FLUTE", 0.0, 6.0)], [(0.0, HALF)])
    assert not adapt_model(base, [type(item)(relabelled, item.duration, item.hop, item.window, item.embeddings)]).new_labels
    # A correction that names an unknown label teaches a new lane: the same rule on short examples.
    brief = Review(recording, [Region("flute", 0.0, 6.0), Region("oboe", 7.0, 8.0)], [(0.0, HALF)])
    with pytest.raises(AdaptError, match="example at 7.0-8.0 s is shorter than one analysis window"):
        adapt_model(base, [type(item)(brief, item.duration, item.hop, item.window, item.embeddings)])


def test_cli_adapts_on_a_json_review_and_the_model_works_with_analyze(base, recording, random_model_path,
                                                                       tmp_path, capsys):
    review = tmp_path / "review.json"
    regions = [{"label": "flute", "start": s, "end": e} for s, e in _tone_spans(0, HALF)]
    regions.append({"label": "cello", "start": 6.0, "end": 12.0})
    review.write_text(json.dumps({"file": str(recording), "regions": regions, "reviewed": [[0, HALF]]}))
    out = tmp_path / "adapted.safetensors"
    assert main(["adapt", str(review), "--out", str(out), "--base", str(random_model_path), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "corrected seconds" in printed and "new lanes: cello" in printed
    model = load_model(out)
    assert model.labels == (*base.labels, "cello")
    assert json.loads(out.with_suffix(".json").read_text())["adaptation"]["sessions"] == [str(review)]
    assert main(["analyze", str(recording), "--model", str(out), "--json", str(tmp_path / "a.json"), "-q"]) == 0
    assert json.loads((tmp_path / "a.json").read_text())["labels"][-1] == "cello"


def test_cli_refuses_a_review_without_corrections(recording, random_model_path, tmp_path, capsys):
    review = tmp_path / "nothing.json"
    review.write_text(json.dumps({"file": str(recording), "regions": [], "reviewed": []}))
    out = tmp_path / "m.safetensors"
    assert main(["adapt", str(review), "--out", str(out), "--base", str(random_model_path), "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("studio-tagger: error:") and "no corrections" in err and "\n" not in err
    assert not out.exists()


def test_cli_teaches_a_new_lane_from_examples_only_and_removes_it_again(base, embedded, recording,
                                                                      random_model_path, tmp_path, capsys):
    item, result = embedded
    review = tmp_path / "examples.json"
    examples = _tone_spans(0, HALF)[:2]
    regions = [{"label": "oboe", "start": s, "end": e} for s, e in examples]
    regions.append({"label": "flute", "start": 30.0, "end": 36.0})  # not an example: left alone
    review.write_text(json.dumps({"file": str(recording), "regions": regions}))
    out = tmp_path / "oboe.safetensors"
    assert main(["adapt", str(review), "--new-lane", "Oboe ", "--out", str(out), "--base", str(random_model_path),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "new lane 'Oboe' from 2 examples" in printed  # the examples' case does not count
    assert "Oboe: three to five examples in different places teach a lane far better" in printed  # as the app says
    taught = load_model(out)
    assert taught.labels == (*base.labels, "Oboe")
    _, activity = activity_from_embeddings(taught, item)
    # Only the lane was taught: the whole-file review did not teach "nothing else plays" to the others.
    assert np.abs(activity[:, : len(base.labels)] - result.activity).max() < 0.1
    tone, noise = _means(*activity_from_embeddings(taught, item), len(base.labels))
    assert tone > 0.5 > noise

    trimmed = tmp_path / "trimmed.safetensors"
    # The lane is named as a review names it: case and surrounding spaces do not count.
    assert main(["adapt", "--base", str(out), "--remove-lane", " OBOE", "--out", str(trimmed), "-q"]) == 0
    assert load_model(trimmed).labels == base.labels
    # Outputs that name a folder, or an input, are refused before any work.
    assert main(["adapt", str(review), "--out", str(tmp_path), "--base", str(random_model_path), "-q"]) == 2
    assert "names no file" in capsys.readouterr().err
    assert main(["adapt", str(review), "--out", str(review), "--base", str(random_model_path), "-q"]) == 1
    assert "is one of this command's inputs" in capsys.readouterr().err
    assert json.loads(review.read_text())["regions"] == regions
    assert main(["adapt", "--out", str(tmp_path / "x")]) == 2
    assert "at least one REVIEW" in capsys.readouterr().err
    assert main(["adapt", str(review), "--new-lane", "cello", "--out", str(tmp_path / "x"),
                 "--base", str(random_model_path), "--device", "cpu", "-q"]) == 1
    assert "mark at least 1 example of 'cello'" in capsys.readouterr().err
    # An empty name (an unset shell variable) is refused, not taken as "adapt every lane".
    assert main(["adapt", str(review), "--new-lane", " ", "--out", str(tmp_path / "x"),
                 "--base", str(random_model_path), "--device", "cpu", "-q"]) == 2
    assert "--new-lane needs a name" in capsys.readouterr().err and not (tmp_path / "x.safetensors").exists()
    assert main(["adapt", "--base", str(random_model_path), "--remove-lane", "cello", "--out", str(tmp_path / "x")]) == 1
    assert "no lane 'cello'" in capsys.readouterr().err


def test_read_review_refuses_bad_spans_and_missing_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"file": "x.wav", "regions": [], "reviewed": [[5, 2]]}))
    with pytest.raises(AdaptError, match="reviewed span"):
        read_review(bad)
    with pytest.raises(AdaptError, match="no such file"):
        read_review(tmp_path / "missing.json")
    relative = tmp_path / "rel.json"
    relative.write_text(json.dumps({"file": "take.wav", "regions": [{"label": "flute", "start": 1, "end": 3}]}))
    review = read_review(relative)
    # Found nowhere: the name as the review gives it, not a guessed folder.
    assert review.source == Path("take.wav") and review.reviewed is None
    assert review.spans(10.0) == [(0.0, 10.0)]
    (tmp_path / "take.wav").write_bytes(b"")
    assert read_review(relative).source == tmp_path / "take.wav"


def test_a_session_with_checked_spans_is_reviewed_there_and_where_regions_were_edited(tmp_path):
    """An editor who used Next Span to Check heard those spans and the regions they fixed, nothing else:
    adapting assumes nothing about the rest (without checked spans, the whole take counts as checked)."""
    from studio_tagger.session import Edit, Session, content_hash, save_session

    audio = tmp_path / "take.wav"
    sf.write(audio, np.zeros(16000 * 60, np.float32), 16000)
    times = (np.arange(120) + 0.5) * 0.5
    activity = np.zeros((120, 2), np.float32)
    activity[20:40, 0] = 0.9  # a flute region at 10-20 s
    edits = [Edit("replace", old=Region("flute", 10.0, 20.0, 0.9), new=Region("flute", 12.0, 24.0, 0.9)),
             Edit("add", new=Region("oboe", 50.0, 55.0))]
    session = Session(source=audio, source_hash=content_hash(audio), duration=60.0, sample_rate=16000, model="m",
                      labels=("flute", "piano"), hop=0.5, times=times, activity=activity, edits=edits)
    path = save_session(session, tmp_path / "whole.stsession")
    assert read_review(path).reviewed is None
    session.checked = [(30.0, 40.0), (22.0, 28.0)]
    path = save_session(session, tmp_path / "checked.stsession")
    review = read_review(path)
    assert review.reviewed == [(10.0, 28.0), (30.0, 40.0), (50.0, 55.0)]
    assert checked_spans([], []) == []
    data = json.loads(path.read_text())  # spans written by hand still win
    data["reviewed"] = [[0, 5]]
    path.write_text(json.dumps(data))
    assert read_review(path).reviewed == [(0.0, 5.0)]


def test_a_review_saved_in_another_folder_finds_its_recording(tmp_path, monkeypatch):
    """`analyze take.wav --json reviews/take.json` keeps the name it was given, relative to where it ran:
    the review is read from there too, and a recording beside the review still comes first."""
    (tmp_path / "take.wav").write_bytes(b"")
    (tmp_path / "reviews").mkdir()
    review_file = tmp_path / "reviews" / "take.json"
    review_file.write_text(json.dumps({"file": "take.wav", "regions": [{"label": "flute", "start": 1, "end": 3}]}))
    monkeypatch.chdir(tmp_path)
    assert read_review(Path("reviews/take.json")).source.resolve() == (tmp_path / "take.wav").resolve()
    (tmp_path / "reviews" / "take.wav").write_bytes(b"")
    assert read_review(Path("reviews/take.json")).source.resolve() == (tmp_path / "reviews" / "take.wav").resolve()


def _session(recording, result, edits, cache):
    from studio_tagger.session import Session, content_hash

    return Session(source=recording, source_hash=content_hash(recording), duration=result.duration,
                   sample_rate=result.sample_rate, model=result.model, labels=result.labels, hop=result.hop,
                   times=result.times, activity=result.activity, edits=edits, cache=cache)


def test_a_session_with_cached_embeddings_adapts_without_its_recording(base, embedded, recording, random_model_path,
                                                                     tmp_path, capsys):
    from studio_tagger.session import Edit, save_session

    item, result = embedded
    copy = tmp_path / "copy.wav"
    copy.write_bytes(recording.read_bytes())
    edits = [Edit("add", new=Region("flute", s, e)) for s, e in _tone_spans(0, HALF)]
    cache = to_cache(item, embeddings_key(base, item.hop))
    session = save_session(_session(copy, result, edits, cache), tmp_path / "take.stsession")
    bare = save_session(_session(copy, result, [], {}), tmp_path / "bare.stsession")
    review = read_review(session)  # it knows what the editor was shown before the edits
    assert review.shown == find_regions(result.times, result.activity, result.labels, RegionParams(),
                                        duration=result.duration)
    assert all(Region("flute", s, e) in review.regions for s, e in _tone_spans(0, HALF))
    copy.unlink()  # only the cache can tell the model what the recording sounds like now
    out = tmp_path / "from-session.safetensors"
    assert main(["adapt", str(session), "--out", str(out), "--base", str(random_model_path), "-q"]) == 0
    assert load_model(out).card["adaptation"]["sessions"] == [str(session)]
    assert main(["adapt", str(bare), "--out", str(out), "--base", str(random_model_path), "-q"]) == 1
    assert "no corrections" in capsys.readouterr().err


def test_a_lane_already_right_where_the_editor_looked_keeps_its_head_row():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6)).astype(np.float32)
    weight = np.array([[0.0, 0, 0, 0, 0, 0], [0.5, 0, 0, 0, 0, 0]], np.float32)
    bias = np.array([0.0, -5.0], np.float32)
    targets = np.zeros((400, 2), np.float32)
    targets[:, 0] = x[:, 0] > 0  # label 0 plays when x0 > 0: the old head (0.5 everywhere) is wrong
    # label 1 never plays, and the old head says so almost everywhere
    known = np.zeros((400, 2), bool)
    known[:200] = True
    assert (1 / (1 + np.exp(-(x[:200] @ weight[1] + bias[1]))) < 0.5).all()
    w, b = fit_head(x, targets, known, weight, bias)
    np.testing.assert_allclose(w[1], weight[1], atol=1e-5)
    np.testing.assert_allclose(b[1], bias[1], atol=1e-5)
    late = 1 / (1 + np.exp(-(x[200:] @ w[0] + b[0])))
    assert late[x[200:, 0] > 0.5].mean() > 0.7 and late[x[200:, 0] < -0.5].mean() < 0.3


def test_an_ensembles_head_is_fitted_member_by_member():
    # Two members of three features each; label 0 plays when member A's first feature is positive (member
    # B's features know nothing of it); label 1 never plays, and the old head (the mean of two member heads)
    # says so everywhere.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 6)).astype(np.float32)
    member_a, member_b = np.array([[0, 0, 0], [0.5, 0, 0]], np.float32), np.array([[0, 0, 0], [0, 0.5, 0]], np.float32)
    weight = np.concatenate([member_a, member_b], axis=1) / 2
    bias = np.array([0.0, -6.0], np.float32)
    targets = np.zeros((600, 2), np.float32)
    targets[:, 0] = x[:, 0] > 0
    known = np.zeros((600, 2), bool)
    known[:300] = True
    w, b = fit_member_heads(x, targets, known, weight, bias, [3, 3])
    assert w.shape == (2, 6) and b.shape == (2,)
    # each member's part is that member's head fitted alone on its own features, the parts then averaged
    wa, ba = fit_head(x[:, :3], targets, known, member_a, bias)
    wb, bb = fit_head(x[:, 3:], targets, known, member_b, bias)
    np.testing.assert_allclose(w, np.concatenate([wa, wb], axis=1) / 2, atol=1e-6)
    np.testing.assert_allclose(b, (ba + bb) / 2, atol=1e-6)
    np.testing.assert_allclose(w[1], weight[1], atol=1e-5)  # the lane already right keeps its row
    late = 1 / (1 + np.exp(-(x[300:] @ w[0] + b[0])))
    assert late[x[300:, 0] > 0.5].mean() > 0.6 and late[x[300:, 0] < -0.5].mean() < 0.4
    with pytest.raises(ValueError, match="do not add up"):
        fit_member_heads(x, targets, known, weight, bias, [3, 2])


def test_an_ensembles_new_lane_reads_each_members_band_features_with_its_embedding():
    # Two members of two embedding features and four band features each, laid out as the ensemble gives
    # them: [embedding A, embedding B, bands A, bands B]. A new lane (label 1) plays where member B's first
    # band feature is high; the shipped lane (label 0) reads the embeddings only.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 12)).astype(np.float32)
    targets = np.zeros((600, 2), np.float32)
    targets[:, 1] = x[:, 8] > 0.5
    known = np.zeros((600, 2), bool)
    known[:300, 1] = True
    weight, bias = np.zeros((1, 12), np.float32), np.zeros(1, np.float32)
    weight[0, :4] = 0.25
    banded = np.array([False, True])
    w, b = fit_member_heads(x, targets, known, weight, bias, [2, 2], band_widths=[4, 4], banded=banded)
    assert w.shape == (2, 12) and not w[0, 4:].any()  # the shipped lane reads no band feature
    # member B's part is fitted alone on its own columns (its embedding and its bands), then halved
    cols_b = np.r_[2:4, 8:12]
    wb, bb = fit_head(x[:, cols_b], targets, known, weight[:, cols_b] * 2, bias, bands_from=2, banded=banded)
    np.testing.assert_allclose(w[:, cols_b], wb / 2, atol=1e-6)
    late = 1 / (1 + np.exp(-(x[300:] @ w[1] + b[1])))
    # on windows nobody checked, the lane rises where the band feature says it plays (member A, which
    # knows nothing of it, only halves the margin: the mean of the members' logits)
    assert late[x[300:, 8] > 1.0].mean() > late[x[300:, 8] < -0.5].mean() + 0.1  # read from the embeddings alone: ~0
    with pytest.raises(ValueError, match="do not add up"):
        fit_member_heads(x, targets, known, weight, bias, [2, 2], band_widths=[4, 3], banded=banded)


def _taught_once(old_bias: float):
    """A lane taught from 20 checked windows of its instrument and 20 of the bed; unchecked: more of both
    and 200 windows of another instrument that shares part of its features. The old head scores the other
    instrument surely absent and the lane's own windows at ``old_bias`` (-1.5: missed but not surely; -6:
    surely, as on a family the model never heard). Mean new scores per kind of unchecked window, with the
    rule on sure scores and without it."""
    rng = np.random.default_rng(1)
    kinds = np.array(["lane"] * 20 + ["bed"] * 20 + ["lane"] * 200 + ["other"] * 200 + ["bed"] * 200)
    x = 0.3 * rng.standard_normal((len(kinds), 3)).astype(np.float32)
    x[kinds == "lane", 0] += 1.0
    x[kinds == "other", 0] += 0.7
    x[kinds == "other", 1] += 1.0
    targets = (kinds == "lane").astype(np.float32)[:, None]
    known = np.zeros((len(kinds), 1), bool)
    known[:40] = True
    weight, bias = np.array([[1.0, -8.0, 0.0]], np.float32), np.array([old_bias], np.float32)
    out = {}
    for name, fit in (("rule", HeadFit()), ("off", HeadFit(sure=0.0))):
        w, b = fit_head(x, targets, known, weight, bias, fit)
        scores = 1 / (1 + np.exp(-(x @ w[0] + b[0])))
        out[name] = {k: float(scores[40:][kinds[40:] == k].mean()) for k in ("lane", "other", "bed")}
    return out


def test_one_correction_does_not_light_a_lane_where_the_old_head_was_surely_right():
    found = _taught_once(-1.5)
    assert found["rule"]["lane"] > 0.6  # the correction is learnt ...
    assert found["rule"]["other"] < 0.05 < found["off"]["other"]  # ... without lighting the other instrument
    # On a family the model never heard its misses are sure too: then sure scores are not trusted and
    # the lane may rise as far as without the rule.
    new_family = _taught_once(-6.0)
    assert new_family["rule"] == new_family["off"] and new_family["rule"]["lane"] > 0.5


def test_a_lane_left_as_it_was_shown_keeps_its_head_row(base, embedded):
    item, _ = embedded
    shown = [Region("piano", 1.0, 5.0), Region("flute", 7.0, 12.0), Region("violin", 30.0, 36.0)]
    # flute's edge moved, piano kept, violin changed only outside the checked spans
    regions = [Region("piano", 1.0, 5.0), Region("flute", 6.0, 12.0), Region("violin", 30.0, 40.0)]
    review = Review(item.review.source, regions, [(0.0, HALF)], shown=shown)
    kept = left_as_shown(base, [Embedded(review, item.duration, item.hop, item.window, item.embeddings)])
    assert [label for label, k in zip(base.labels, kept, strict=True) if not k] == ["flute"]
    # Not knowing what was shown, the model's own regions at the default settings count as shown: a
    # review that only adds a flute region leaves every other lane's row exactly as it was, even where
    # its window scores disagree with "absent" (a random network's often do).
    own = find_regions(*activity_from_embeddings(base, item), base.labels, RegionParams(), duration=item.duration)
    edited = [r for r in own if r.label != "flute"] + [Region("flute", s, e) for s, e in _tone_spans(0, HALF)]
    review = Review(item.review.source, edited, [(0.0, HALF)])
    adapted = adapt_model(base, [Embedded(review, item.duration, item.hop, item.window, item.embeddings)])
    (w0, b0), (w1, b1) = base_head(base), base_head(adapted.model)
    flute = base.labels.index("flute")
    others = [j for j in range(len(base.labels)) if j != flute]
    np.testing.assert_allclose(w1[others], w0[others], atol=1e-5)
    np.testing.assert_allclose(b1[others], b0[others], atol=1e-5)
    assert np.abs(w1[flute] - w0[flute]).max() > 1e-3


def test_the_hand_written_adam_steps_as_torch_does():
    import torch

    from studio_tagger.adapt.head import Adam

    target = torch.linspace(-2, 3, 12).reshape(3, 4)
    ours, theirs = torch.zeros(3, 4, requires_grad=True), torch.zeros(3, 4, requires_grad=True)
    mine, reference = Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for _ in range(60):
        for opt, p in ((mine, ours), (reference, theirs)):
            opt.zero_grad()
            ((p - target) ** 4).sum().backward()
            opt.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours, torch.zeros(3, 4))
