"""MIDI marker exports read back with mido, using the tempo and resolution stored in the file."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from studio_tagger.analysis.regions import Region
from studio_tagger.interchange import ExportOptions, export_regions


def read_markers(path: Path) -> list[tuple[str, float]]:
    """(text, seconds) of every marker meta event, timed by the file's own tempo map."""
    mid = mido.MidiFile(path, charset="utf-8")
    tempo = 500_000  # the SMF default until a set_tempo
    seconds = 0.0
    out = []
    (track,) = mid.tracks  # type 0: one track holds the tempo map and the markers
    for msg in track:
        seconds += mido.tick2second(msg.time, mid.ticks_per_beat, tempo)
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "marker":
            out.append((msg.text, seconds))
    return out


def expected(regions: list[Region]) -> list[tuple[str, float]]:
    events = []
    for r in regions:
        events.append((r.start, 1, r.label))
        if r.end > r.start:
            events.append((r.end, 0, f"{r.label} end"))
    return [(name, t) for t, _, name in sorted(events)]


def assert_within_1ms(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    # Events less than a tick apart may swap order, so compare each name's times, then the overall order.
    def by_name(events: list[tuple[str, float]]) -> dict[str, list[float]]:
        grouped: dict[str, list[float]] = {}
        for name, t in events:
            grouped.setdefault(name, []).append(t)
        return grouped

    g, w = by_name(got), by_name(want)
    assert g.keys() == w.keys()
    for name in w:
        assert len(g[name]) == len(w[name])
        assert np.max(np.abs(np.array(g[name]) - np.array(w[name]))) < 1e-3, name
    assert [t for _, t in got] == sorted(t for _, t in got)


def test_round_trip_with_region_at_zero_and_at_the_end(tmp_path: Path) -> None:
    regions = [Region("clarinet", 0.0, 3.3333), Region("violin", 2.0004, 7.1), Region("piano", 7.1, 600.0)]
    out = export_regions("midi", regions, tmp_path / "markers.mid")
    mid = mido.MidiFile(out)
    assert mid.type == 0 and mid.ticks_per_beat == 960
    assert_within_1ms(read_markers(out), expected(regions))
    assert abs(mid.length - 600.0) < 1e-3


def test_unicode_names_are_utf8_in_the_file(tmp_path: Path) -> None:
    regions = [Region("Flöte – 笛 🎶", 1.0, 2.0)]
    out = export_regions("midi", regions, tmp_path / "Flöte ✓.mid")
    raw = out.read_bytes()
    text = "Flöte – 笛 🎶".encode()
    assert b"\xff\x06" + bytes([len(text)]) + text in raw  # FF 06 <length> <UTF-8 text>
    assert_within_1ms(read_markers(out), expected(regions))


def test_zero_regions_give_a_valid_empty_file(tmp_path: Path) -> None:
    out = export_regions("midi", [], tmp_path / "empty.mid")
    assert read_markers(out) == []
    assert [m.type for m in mido.MidiFile(out).tracks[0]][-1] == "end_of_track"


def test_thousands_of_regions_over_two_hours(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    starts = np.sort(rng.uniform(0, 7200, 5000))
    regions = [Region(f"label{i % 8}", float(s), float(s + rng.uniform(0.5, 20))) for i, s in enumerate(starts)]
    out = export_regions("midi", regions, tmp_path / "many.mid")
    assert_within_1ms(read_markers(out), expected(regions))


def test_point_regions_get_one_marker_and_options_apply(tmp_path: Path) -> None:
    regions = [Region("hit", 1.0, 1.0), Region("flute", 2.0, 3.0, 0.3), Region("flute", 4.0, 5.0, 0.8)]
    out = export_regions("midi", regions, tmp_path / "m.mid",
                         options=ExportOptions(min_score=0.5, name_template="{label} {n}"))
    # The weak flute region is filtered out, but the strong one keeps its number 2 (stable numbering).
    assert [name for name, _ in read_markers(out)] == ["hit 1", "flute 2", "flute 2 end"]


def test_gaps_longer_than_a_delta_can_hold_are_split(tmp_path: Path) -> None:
    # An archive recording of two days with a gap of 41.7 h: 38.8 h is the longest one four-byte delta holds here.
    regions = [Region("violin", 10.0, 20.0), Region("piano", 150_000.0, 150_010.0), Region("flute", 172_000.0, 172_800.0)]
    out = export_regions("midi", regions, tmp_path / "long.mid")
    (track,) = mido.MidiFile(out).tracks
    assert max(msg.time for msg in track) <= 0x0FFFFFFF
    assert [m.type for m in track].count("text") >= 1
    assert_within_1ms(read_markers(out), expected(regions))
