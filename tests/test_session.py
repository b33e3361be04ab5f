"""Sessions: edits survive new thresholds, save/load round-trips, content fingerprint, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio_tagger.analysis.regions import Region, RegionParams, find_regions
from studio_tagger.session import (
    Edit,
    Session,
    SessionError,
    apply_edits,
    cache_path,
    content_hash,
    load_session,
    save_session,
)

LABELS = ("clarinet", "flute")


def _activity() -> tuple[np.ndarray, np.ndarray]:
    times = (np.arange(120) + 0.5) * 0.5  # 60 s
    act = np.zeros((120, 2), np.float32)
    act[20:40, 0] = 0.9  # clarinet 10-20 s
    act[60:70, 0] = 0.6  # clarinet 30-35 s, only above a 0.5 threshold
    act[80:100, 1] = 0.8  # flute 40-50 s
    return times, act


def _session(tmp_path, edits=()) -> Session:
    audio = tmp_path / "take.wav"
    audio.write_bytes(b"RIFF" + bytes(range(256)) * 100)
    times, act = _activity()
    return Session(source=audio, source_hash=content_hash(audio), duration=60.0, sample_rate=48000,
                   model="test", labels=LABELS, hop=0.5, times=times, activity=act, edits=list(edits))


def test_apply_edits_add_delete_replace() -> None:
    a, b = Region("clarinet", 10, 20, 0.9), Region("flute", 40, 50, 0.8)
    added = Region("flute", 1, 2)
    moved = Region("clarinet", 11, 18, 0.9)
    out = apply_edits([a, b], [Edit("add", new=added), Edit("replace", old=a, new=moved), Edit("delete", old=b)])
    assert out == [added, moved]
    # editing one's own region again replaces it rather than suppressing anything
    again = Region("violin", 11, 18, 0.9)
    assert apply_edits([a], [Edit("replace", old=a, new=moved), Edit("replace", old=moved, new=again)]) == [again]
    with pytest.raises(ValueError):
        Edit("add")


def test_edits_survive_a_threshold_change(tmp_path) -> None:
    session = _session(tmp_path)
    first = session.regions()
    clar = [r for r in first if r.label == "clarinet"]
    assert len(clar) == 2
    shrunk = Region("clarinet", clar[0].start + 2, clar[0].start + 4, clar[0].score)
    session.edits = [Edit("replace", old=clar[0], new=shrunk), Edit("delete", old=clar[1])]
    assert [r for r in session.regions() if r.label == "clarinet"] == [shrunk]
    # a lower threshold changes the detected regions; the user's choices still hold
    session.params = RegionParams(threshold_on=0.3, threshold_off=0.2, smoothing=0.0)
    detected = find_regions(session.times, session.activity, LABELS, session.params, duration=60.0)
    assert detected != first
    assert [r for r in session.regions() if r.label == "clarinet"] == [shrunk]
    assert any(r.label == "flute" for r in session.regions())


def test_save_and_load_round_trip(tmp_path) -> None:
    session = _session(tmp_path, [Edit("add", new=Region("flute", 1.0, 3.5, 1.0))])
    session.params = RegionParams(threshold_on=0.55, per_label={"flute": (0.7, 0.4)})
    session.view = {"start": 5.0, "end": 25.0, "playhead": 12.25}
    session.cache = {"peaks_min": np.arange(10, dtype=np.float32)}
    path = save_session(session, tmp_path / "take.stsession")
    loaded = load_session(path)
    assert loaded.source == session.source and loaded.matches_source()
    np.testing.assert_allclose(loaded.activity, session.activity, atol=1e-5)
    assert loaded.params.per_label == {"flute": (0.7, 0.4)} and loaded.params.threshold_on == 0.55
    assert loaded.edits == session.edits and loaded.view == session.view
    assert loaded.regions() == session.regions()
    np.testing.assert_array_equal(loaded.cache["peaks_min"], session.cache["peaks_min"])
    # the JSON carries the final regions for tools that read regions only (e.g. `studio-tagger export`)
    data = json.loads(path.read_text())
    assert [Region.from_dict(r) for r in data["regions"]] == session.regions()
    assert data["file"] == str(session.source)


def test_changed_recording_is_detected(tmp_path) -> None:
    session = _session(tmp_path)
    assert session.matches_source()
    data = bytearray(session.source.read_bytes())
    data[len(data) // 2] ^= 0xFF
    session.source.write_bytes(bytes(data))
    assert not session.matches_source()
    session.source.unlink()
    assert not session.matches_source()


def test_stale_cache_is_ignored_and_bad_files_are_reported(tmp_path) -> None:
    session = _session(tmp_path)
    session.cache = {"x": np.zeros(3)}
    path = save_session(session, tmp_path / "s.stsession")
    cache_path(path).write_bytes(b"not an npz")
    assert load_session(path).cache == {}
    (tmp_path / "bad.stsession").write_text("{}")
    with pytest.raises(SessionError, match="bad.stsession"):
        load_session(tmp_path / "bad.stsession")
    with pytest.raises(SessionError, match="no such file"):
        load_session(tmp_path / "missing.stsession")


def test_failed_save_leaves_the_old_session(tmp_path) -> None:
    session = _session(tmp_path)
    path = save_session(session, tmp_path / "s.stsession")
    before = path.read_bytes()
    session.activity = np.full((120, 2), np.nan, np.float32)
    session.labels = ("clarinet", object())  # not JSON-serialisable: the write fails half way
    with pytest.raises(TypeError):
        save_session(session, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.stsession", "take.wav"]


def test_checked_spans_round_trip_and_bad_ones_are_refused(tmp_path) -> None:
    session = _session(tmp_path)
    assert session.checked == []
    session.checked = [(10.0, 20.0), (42.5, 52.5)]
    path = save_session(session, tmp_path / "take.stsession")
    assert load_session(path).checked == [(10.0, 20.0), (42.5, 52.5)]
    data = json.loads(path.read_text())
    for bad in ([[20, 10]], [[1, "x"]], [[1, 2, 3]], "10-20", [[-1, 2]]):
        data["checked"] = bad
        path.write_text(json.dumps(data))
        with pytest.raises(SessionError, match="malformed"):
            load_session(path)
    del data["checked"]  # a session saved before spans could be checked
    path.write_text(json.dumps(data))
    assert load_session(path).checked == []
