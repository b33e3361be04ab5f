"""Text exports (Audacity, REAPER, Audition, Sonic Visualiser, JSON, CSV) read back with the csv/json
modules, not with the project's importers, plus the importers themselves and the export options."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.analysis.regions import Region
from studio_tagger.interchange import (
    FORMATS,
    ActivityTable,
    ExportCancelled,
    ExportError,
    ExportOptions,
    MarkerFileError,
    detect_import_format,
    export_regions,
    format_for_path,
    import_regions,
)

DURATION = 187.25
REGIONS = [
    Region("clarinet", 0.0, 4.5, 0.91),  # at time 0
    Region("female singer", 3.25, 17.0625, 0.66),
    Region("violin", 12.0001, 30.5, 0.42),
    Region("clarinet", 40.123456, 52.0, 0.77),
    Region("distorted electric guitar", 180.0, DURATION, 0.8),  # ends at the very end
]
UNICODE_REGIONS = [Region("Flöte – 笛 🎶", 1.0, 2.5), Region("Ünïcødé, \"quoted\"", 3.0, 4.0)]
TEXT_FORMATS = ["audacity", "reaper", "audition", "sonic-visualiser", "json", "csv"]


def read_back(fmt: str, path: Path) -> list[tuple[str, float, float]]:
    """(name, start, end) per row, parsed with the standard library only."""
    text = path.read_bytes().decode("utf-8")  # every text export is UTF-8 without BOM
    assert not text.startswith("\ufeff")
    if fmt == "audacity":
        rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        for row in rows:
            assert re.fullmatch(r"\d+\.\d{6}", row[0]) and re.fullmatch(r"\d+\.\d{6}", row[1])
        return [(r[2], float(r[0]), float(r[1])) for r in rows]
    if fmt == "reaper":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["#", "Name", "Start", "End", "Length"]
        numbers = {"R": 0, "M": 0}
        for r in rows[1:]:
            numbers[r[0][0]] += 1
            assert r[0] == f"{r[0][0]}{numbers[r[0][0]]}"  # regions and markers are numbered apart
            if r[0][0] == "M":
                assert r[3:] == ["", ""]
                r[3] = r[2]
            else:
                assert float(r[4]) == pytest.approx(float(r[3]) - float(r[2]), abs=2e-6)
        return [(r[1], float(r[2]), float(r[3])) for r in rows[1:]]
    if fmt == "audition":
        rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert rows[0] == ["Name", "Start", "Duration", "Time Format", "Type", "Description"]

        def clock(s: str) -> float:
            # As Audition writes them: M:SS.mmm under an hour, H:MM:SS.mmm from an hour on.
            short = re.fullmatch(r"([1-5]?\d):([0-5]\d\.\d{3})", s)
            if short:
                return int(short[1]) * 60 + float(short[2])
            h, m, sec = re.fullmatch(r"([1-9]\d*):([0-5]\d):([0-5]\d\.\d{3})", s).groups()
            return int(h) * 3600 + int(m) * 60 + float(sec)

        assert all(r[3:] == ["decimal", "Cue", ""] for r in rows[1:])
        return [(r[0], clock(r[1]), clock(r[1]) + clock(r[2])) for r in rows[1:]]
    if fmt == "sonic-visualiser" and path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["time", "value", "duration", "label"]
        return [(r[3], float(r[0]), float(r[0]) + float(r[2])) for r in rows[1:]]
    if fmt == "sonic-visualiser":
        return svl_rows(text)
    if fmt == "json":
        doc = json.loads(text)
        assert doc["format"] == "studio-tagger regions" and doc["version"] == 1
        return [(d["name"], d["start"], d["end"]) for d in doc["regions"]]
    assert fmt == "csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    return [(r["name"], float(r["start"]), float(r["end"])) for r in rows]


def svl_rows(text: str) -> list[tuple[str, float, float]]:
    """(label, start, end) of every point of a Sonic Visualiser layer file, read as SV's file reader does:
    each display layer names a model, the model its dataset and sample rate."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sonic-visualiser>\n')
    root = ET.fromstring(text)
    models = {m.get("id"): m for m in root.find("data").findall("model")}
    datasets = {d.get("id"): d for d in root.find("data").findall("dataset")}
    rows = []
    for layer in root.find("display").findall("layer"):
        model = models[layer.get("model")]
        dataset = datasets[model.get("dataset")]
        rate = int(model.get("sampleRate"))
        assert model.get("type") == "sparse" and dataset.get("dimensions") == model.get("dimensions")
        if layer.get("type") == "regions":
            assert (model.get("dimensions"), model.get("subtype")) == ("3", "region")
            for point in dataset.findall("point"):
                frame, duration = int(point.get("frame")), int(point.get("duration"))
                assert duration > 0  # SV drops zero-length regions
                float(point.get("value"))
                rows.append((point.get("label"), frame / rate, (frame + duration) / rate))
        else:
            assert (layer.get("type"), model.get("dimensions")) == ("timeinstants", "1")
            rows += [(p.get("label"), int(p.get("frame")) / rate, int(p.get("frame")) / rate)
                     for p in dataset.findall("point")]
    return sorted(rows, key=lambda t: (t[1], t[2]))


def expected(regions: list[Region]) -> list[tuple[str, float, float]]:
    return sorted(((r.label, r.start, r.end) for r in regions), key=lambda t: (t[1], t[2]))


def assert_same(got: list[tuple[str, float, float]], want: list[tuple[str, float, float]], tol: float = 1e-3) -> None:
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want, strict=True):
        assert abs(g[1] - w[1]) < tol and abs(g[2] - w[2]) < tol, (g, w)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_round_trip_through_an_independent_parser(tmp_path: Path, fmt: str) -> None:
    out = export_regions(fmt, REGIONS, tmp_path / f"take{FORMATS[fmt].extensions[0]}")
    assert_same(read_back(fmt, out), expected(REGIONS))


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_unicode_names_and_file_names(tmp_path: Path, fmt: str) -> None:
    out = export_regions(fmt, UNICODE_REGIONS, tmp_path / f"Prise – Flöte 🎵{FORMATS[fmt].extensions[0]}")
    assert_same(read_back(fmt, out), expected(UNICODE_REGIONS))
    assert import_regions(out, fmt) == [Region(r.label, r.start, r.end, r.score) for r in UNICODE_REGIONS]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_zero_regions(tmp_path: Path, fmt: str) -> None:
    out = export_regions(fmt, [], tmp_path / f"empty{FORMATS[fmt].extensions[0]}")
    assert read_back(fmt, out) == []
    assert import_regions(out, fmt) == []


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_thousands_of_regions(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(5)
    starts = np.sort(rng.uniform(0, 7200, 5000))
    regions = [Region(f"label{i % 8}", float(s), float(s + rng.uniform(0.5, 20))) for i, s in enumerate(starts)]
    out = export_regions(fmt, regions, tmp_path / f"many{FORMATS[fmt].extensions[0]}")
    assert_same(read_back(fmt, out), expected(regions))


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_importer_round_trip(tmp_path: Path, fmt: str) -> None:
    out = export_regions(fmt, REGIONS, tmp_path / f"take{FORMATS[fmt].extensions[0]}")
    assert detect_import_format(out) == fmt
    back = import_regions(out)
    assert_same([(r.label, r.start, r.end) for r in back], expected(REGIONS))
    if fmt in ("json", "csv", "sonic-visualiser"):  # the formats that carry the score
        assert [r.score for r in back] == pytest.approx([r.score for r in sorted(REGIONS, key=lambda r: r.start)])


def test_json_keeps_label_and_name_apart_and_adds_activity(tmp_path: Path) -> None:
    times = np.array([0.25, 0.75, 1.25])
    act = np.array([[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]], dtype=np.float32)
    table = ActivityTable(times, act, ("clarinet", "violin"))
    out = export_regions("json", REGIONS[:2], tmp_path / "r.json", activity=table,
                         options=ExportOptions(name_template="{label} #{n}"), source_audio=tmp_path / "take.flac")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["source"] == str((tmp_path / "take.flac").resolve())  # absolute, like a session's
    assert [(d["name"], d["label"]) for d in doc["regions"]] == [("clarinet #1", "clarinet"),
                                                                 ("female singer #1", "female singer")]
    assert doc["activity"]["labels"] == ["clarinet", "violin"]
    assert doc["activity"]["times"] == [0.25, 0.75, 1.25]
    np.testing.assert_allclose(doc["activity"]["values"], act, atol=1e-6)
    assert import_regions(out) == REGIONS[:2]  # labels, not names, come back


def test_json_import_of_an_analysis_result_layout(tmp_path: Path) -> None:
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps({"file": "x.wav", "times": [], "activity": [],
                                "regions": [r.to_dict() for r in REGIONS]}), encoding="utf-8")
    assert import_regions(path) == REGIONS


def test_activity_csv(tmp_path: Path) -> None:
    table = ActivityTable(np.array([0.25, 0.75]), np.array([[0.125, 1.0], [0.0, 0.5]]), ("piano", "flöte"))
    out = export_regions("csv-activity", REGIONS, tmp_path / "act.csv", activity=table)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["time", "piano", "flöte"]
    np.testing.assert_allclose(np.array(rows[1:], dtype=float), [[0.25, 0.125, 1.0], [0.75, 0.0, 0.5]])
    with pytest.raises(ExportError, match="activity matrix"):
        export_regions("csv-activity", REGIONS, tmp_path / "none.csv")
    assert not (tmp_path / "none.csv").exists()
    with pytest.raises(ExportError, match=r"activity must be"):
        ActivityTable(np.zeros(3), np.zeros((2, 2)), ("a", "b"))


# --- options ---------------------------------------------------------------------------------------

def names(path: Path) -> list[str]:
    return [r[0] for r in read_back("audacity", path)]


def test_label_filter_min_score_and_template(tmp_path: Path) -> None:
    opts = ExportOptions(labels={"clarinet", "violin"}, min_score=0.5, name_template="{label} {n} ({score:.2f})")
    out = export_regions("audacity", REGIONS, tmp_path / "a.txt", options=opts)
    assert names(out) == ["clarinet 1 (0.91)", "clarinet 2 (0.77)"]  # violin's 0.42 is below 0.5


def test_n_is_stable_whatever_the_filters_keep(tmp_path: Path) -> None:
    """A region is numbered among all the regions of its label, so filtering by instrument or score, or
    merging, never renames the regions that remain."""
    opts = ExportOptions(name_template="{label} {n}")
    everything = names(export_regions("audacity", REGIONS, tmp_path / "all.txt", options=opts))
    assert everything == ["clarinet 1", "female singer 1", "violin 1", "clarinet 2", "distorted electric guitar 1"]
    strong = ExportOptions(name_template="{label} {n}", min_score=0.7)
    assert names(export_regions("audacity", REGIONS, tmp_path / "s.txt", options=strong)) == [
        "clarinet 1", "clarinet 2", "distorted electric guitar 1"]
    only = ExportOptions(name_template="{label} {n}", labels={"clarinet"}, min_score=0.8)
    assert names(export_regions("audacity", REGIONS, tmp_path / "c.txt", options=only)) == ["clarinet 1"]
    late = [Region("flute", 0, 1, 0.2), Region("flute", 5, 6, 0.9), Region("flute", 6.5, 7, 0.9)]
    merged = ExportOptions(name_template="{label} {n}", min_score=0.5, merge_gap=1.0)
    assert names(export_regions("audacity", late, tmp_path / "m.txt", options=merged)) == ["flute 2"]


def test_n_counts_per_label_in_time_order(tmp_path: Path) -> None:
    shuffled = [REGIONS[3], REGIONS[1], REGIONS[0], REGIONS[2]]
    out = export_regions("audacity", shuffled, tmp_path / "a.txt", options=ExportOptions(name_template="{label} {n}"))
    assert names(out) == ["clarinet 1", "female singer 1", "violin 1", "clarinet 2"]


def test_merge_joins_near_regions_of_one_label_only(tmp_path: Path) -> None:
    regions = [Region("flute", 0, 1, 0.6), Region("flute", 1.4, 2, 0.9), Region("piano", 2.2, 3, 0.5),
               Region("flute", 3.0, 4, 0.7), Region("flute", 2.5, 2.8, 0.2)]
    out = export_regions("csv", regions, tmp_path / "m.csv", options=ExportOptions(merge_gap=0.5))
    rows = [(r["label"], float(r["start"]), float(r["end"]), float(r["score"]))
            for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))]
    assert rows == [("flute", 0.0, 4.0, 0.9), ("piano", 2.2, 3.0, 0.5)]
    unmerged = export_regions("csv", regions[:2], tmp_path / "u.csv", options=ExportOptions(merge_gap=0.3))
    assert len(read_back("csv", unmerged)) == 2


def test_merge_off_keeps_touching_regions(tmp_path: Path) -> None:
    regions = [Region("flute", 0, 1), Region("flute", 1, 2)]
    assert len(read_back("csv", export_regions("csv", regions, tmp_path / "t.csv"))) == 2


@pytest.mark.parametrize(("template", "why"), [("{instrument}", "unknown field {instrument}"),
                                               ("{label", "not valid"), ("{score:d}", "not valid"),
                                               ("{label.__class__}", "unknown field {label.__class__}"),
                                               ("{label[0]}", "unknown field {label[0]}"), ("{}", "unknown field {}")])
def test_bad_template_is_refused_before_writing(tmp_path: Path, template: str, why: str) -> None:
    with pytest.raises(ExportError, match=re.escape(why)):
        export_regions("audacity", [], tmp_path / "a.txt", options=ExportOptions(name_template=template))
    assert list(tmp_path.iterdir()) == []


def test_control_characters_in_names_become_spaces(tmp_path: Path) -> None:
    out = export_regions("audacity", [Region("a\tb\nc", 0, 1)], tmp_path / "a.txt")
    assert names(out) == ["a b c"]


def test_control_characters_in_the_csv_label_column_become_spaces_too(tmp_path: Path) -> None:
    out = export_regions("csv", [Region("a\tb\nc", 0, 1)], tmp_path / "a.csv",
                         options=ExportOptions(name_template="{label}!"))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["name"], r["label"]) for r in rows] == [("a b c!", "a b c")]


@pytest.mark.parametrize("bad", [Region("x", -1, 1), Region("x", 2, 1), Region("x", 0, float("nan"))])
def test_invalid_region_times_are_refused(tmp_path: Path, bad: Region) -> None:
    with pytest.raises(ExportError, match="invalid times"):
        export_regions("reaper", [bad], tmp_path / "r.csv")


# --- errors and atomicity ---------------------------------------------------------------------------

def test_unknown_format_and_extension_guess() -> None:
    with pytest.raises(ExportError, match="unknown format 'protools'"):
        export_regions("protools", [], "x.txt")
    assert format_for_path("a.TXT") == "audacity"
    assert format_for_path("b.mid") == format_for_path("b.midi") == "midi"
    assert format_for_path("c.csv") == "csv"
    with pytest.raises(ExportError, match="cannot tell the format"):
        format_for_path("d.xyz")


def test_cancel_leaves_existing_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    target.write_text("previous export")
    with pytest.raises(ExportCancelled):
        export_regions("reaper", REGIONS, target, should_cancel=lambda: True)
    assert target.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_cancel_during_the_write_is_honoured(tmp_path: Path) -> None:
    calls = iter([False, True])  # passes the first check, cancels at the last one
    with pytest.raises(ExportCancelled):
        export_regions("audacity", REGIONS, tmp_path / "a.txt", should_cancel=lambda: next(calls))
    assert list(tmp_path.iterdir()) == []


# --- importers on files other tools write ----------------------------------------------------------

def test_audacity_import_of_comma_decimals_points_and_frequency_lines(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes("\ufeff1,500000\t2,250000\tFlöte 1\r\n"
                     "\\\t220,000000\t880,000000\r\n"
                     "3.000000\t3.000000\tpoint\r\n"
                     "4.5\t6\t\r\n"
                     "\r\n".encode())
    assert import_regions(path) == [Region("Flöte 1", 1.5, 2.25), Region("point", 3.0, 3.0), Region("", 4.5, 6.0)]


def test_audacity_import_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("1.0\t2.0\tok\nabc\tdef\tbad\n", encoding="utf-8")
    with pytest.raises(MarkerFileError, match=r"bad\.txt:2: expected start<TAB>end<TAB>label"):
        import_regions(path)


def test_reaper_import_of_markers_quotes_and_clock_times(tmp_path: Path) -> None:
    path = tmp_path / "reaper.csv"
    path.write_text('#,Name,Start,End,Length\nR1,"Intro, take 2",0:01.500,0:03.000,0:01.500\n'
                    "M2,hit,12.25,,\nR3,Outro,1:00:00.000,1:00:10.000,10\n", encoding="utf-8")
    assert import_regions(path) == [Region("Intro, take 2", 1.5, 3.0), Region("hit", 12.25, 12.25),
                                    Region("Outro", 3600.0, 3610.0)]


def test_reaper_writes_zero_length_regions_as_marker_rows(tmp_path: Path) -> None:
    regions = [Region("clarinet", 1.0, 2.0), Region("hit", 150.25, 150.25), Region("violin", 3.0, 4.0),
               Region("hit", 151.0, 151.0)]
    out = export_regions("reaper", regions, tmp_path / "r.csv", options=ExportOptions(name_template="{label} {n}"))
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))[1:]
    assert rows == [["R1", "clarinet 1", "1.000000", "2.000000", "1.000000"],
                    ["R2", "violin 1", "3.000000", "4.000000", "1.000000"],
                    ["M1", "hit 1", "150.250000", "", ""],
                    ["M2", "hit 2", "151.000000", "", ""]]
    assert [(r.start, r.end) for r in import_regions(out)] == [(1, 2), (3, 4), (150.25, 150.25), (151, 151)]


@pytest.mark.parametrize(("start", "end", "written"), [
    (76.655, 77.655, ["1:16.655", "0:01.000"]),
    (0.0, 0.0, ["0:00.000", "0:00.000"]),
    (599.9996, 3599.9996, ["10:00.000", "50:00.000"]),
    (3599.9996, 3723.5, ["1:00:00.000", "2:03.500"]),
    (3723.5, 7500.0, ["1:02:03.500", "1:02:56.500"]),
])
def test_audition_times_as_audition_writes_them(tmp_path: Path, start: float, end: float, written: list[str]) -> None:
    out = export_regions("audition", [Region("x", start, end)], tmp_path / "a.csv")
    row = out.read_text(encoding="utf-8").splitlines()[1].split("\t")
    assert row[1:3] == written
    (back,) = import_regions(out, "audition")
    assert (back.start, back.end) == pytest.approx((start, end), abs=1e-3)


SV_WITH_POINTS = [Region("clarinet", 0.5, 1.25, 0.8), Region("hit", 1.0, 1.0, 0.6), Region("violin", 2.0, 3.0, 0.4)]


def test_sonic_visualiser_svl_keeps_point_markers_as_time_instants(tmp_path: Path) -> None:
    src = tmp_path / "take.wav"
    sf.write(src, np.zeros(48000 * 4, dtype=np.float32), 48000)
    out = export_regions("sonic-visualiser", SV_WITH_POINTS, tmp_path / "layer.svl", source_audio=src)
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    assert {m.get("sampleRate") for m in root.iter("model")} == {"48000"}  # frames at the recording's rate
    assert [layer.get("type") for layer in root.find("display")] == ["regions", "timeinstants"]
    regions_set, instants = root.find("data").findall("dataset")
    assert [p.attrib for p in regions_set] == [
        {"frame": "24000", "value": "0.800000", "duration": "36000", "label": "clarinet"},
        {"frame": "96000", "value": "0.400000", "duration": "48000", "label": "violin"}]
    assert [p.attrib for p in instants] == [{"frame": "48000", "label": "hit"}]
    assert import_regions(out) == [Region("clarinet", 0.5, 1.25, 0.8), Region("hit", 1.0, 1.0), Region("violin", 2.0, 3.0, 0.4)]
    # Without point markers the file holds the region layer alone.
    only = export_regions("sonic-visualiser", SV_WITH_POINTS[::2], tmp_path / "regions.svl", source_audio=src)
    assert [layer.get("type") for layer in ET.fromstring(only.read_text(encoding="utf-8")).find("display")] == [
        "regions"]


def test_sonic_visualiser_csv_layout_follows_the_file_name(tmp_path: Path) -> None:
    out = export_regions("sonic-visualiser", SV_WITH_POINTS, tmp_path / "layer.CSV")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "time,value,duration,label" and lines[2] == "1.000000,0.600000,0.000000,hit"
    assert detect_import_format(tmp_path / "x.svl") == format_for_path(tmp_path / "x.svl") == "sonic-visualiser"


def test_an_audition_marker_called_name_is_not_taken_for_the_header(tmp_path: Path) -> None:
    out = export_regions("audition", [Region("Name", 1.0, 2.0), Region("flute", 3.0, 4.0)], tmp_path / "m.csv",
                         options=ExportOptions(name_template="{label}"))
    assert [r.label for r in import_regions(out, "audition")] == ["Name", "flute"]


def test_a_sonic_visualiser_csv_without_its_header_is_recognised(tmp_path: Path) -> None:
    """SV writes a region layer's CSV without a header unless asked: time,value,duration,label."""
    path = tmp_path / "layer.csv"
    path.write_text("1.000000000,0.5,2.000000000,flute\n4.5,0.25,0.5,oboe\n", encoding="utf-8")
    assert detect_import_format(path) == "sonic-visualiser"
    assert [(r.label, r.start, r.end) for r in import_regions(path)] == [("flute", 1.0, 3.0), ("oboe", 4.5, 5.0)]


def test_svl_import_of_a_file_as_sonic_visualiser_writes_it(tmp_path: Path) -> None:
    """A layer file in SV's own layout (its export adds other models and layers, which are skipped)."""
    path = tmp_path / "sv.svl"
    path.write_text('''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sonic-visualiser>
<sv>
  <data>
    <model id="7" name="" sampleRate="44100" start="0" end="88200" type="sparse" dimensions="3" resolution="1"
      notifyOnAdd="true" dataset="6" subtype="region" valueQuantization="0" minimum="1" maximum="4" units=""/>
    <dataset id="6" dimensions="3">
      <point frame="44100" value="4" duration="22050" label="Solo &amp; tutti" />
      <point frame="0" value="1" duration="11025" label="" />
    </dataset>
    <model id="9" name="" sampleRate="22050" start="0" end="0" type="sparse" dimensions="1" resolution="1"
      notifyOnAdd="true" dataset="8" />
    <dataset id="8" dimensions="1"><point frame="33075" label="beat" /></dataset>
    <model id="11" name="" sampleRate="44100" start="0" end="0" type="sparse" dimensions="2" resolution="1"
      notifyOnAdd="true" dataset="10" />
    <dataset id="10" dimensions="2"><point frame="100" value="3" label="curve" /></dataset>
  </data>
  <display>
    <layer id="12" type="regions" name="Regions" model="7" verticalScale="0" plotStyle="0"/>
  </display>
</sv>
''', encoding="utf-8")
    assert import_regions(path) == [Region("", 0.0, 0.25, 1.0), Region("Solo & tutti", 1.0, 1.5, 4.0),
                                    Region("beat", 1.5, 1.5, 1.0)]


@pytest.mark.parametrize(("content", "why"), [
    ("<sv><data>", "not a Sonic Visualiser layer file"),
    ("<sv><data/></sv>", "no region or time-instants layer"),
    ('<sv><data><model id="1" type="sparse" dimensions="1" dataset="0"/></data></sv>', "no valid sampleRate"),
    ('<sv><data><model id="1" type="sparse" dimensions="1" dataset="0" sampleRate="8000"/>'
     '<dataset id="0"><point frame="x"/></dataset></data></sv>', "model 1, point 1"),
])
def test_svl_import_refuses_what_it_cannot_read(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "bad.svl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MarkerFileError, match=why):
        import_regions(path)


def test_reaper_measures_beats_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "beats.csv"
    path.write_text("#,Name,Start,End,Length\nR1,Verse,1.1.00,5.1.00,4.0.00\n", encoding="utf-8")
    with pytest.raises(MarkerFileError, match=r"beats\.csv:2: times must be in seconds"):
        import_regions(path)


def test_import_of_unknown_or_export_only_files(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("alpha;beta\n1;2\n", encoding="utf-8")
    with pytest.raises(MarkerFileError, match="not a marker list"):
        import_regions(tmp_path / "x.csv")
    with pytest.raises(MarkerFileError, match="cannot import markers from a .wav"):
        import_regions(tmp_path / "x.wav")
    with pytest.raises(MarkerFileError, match="can be exported but not imported"):
        import_regions(tmp_path / "x.csv", "csv-activity")
    with pytest.raises(MarkerFileError, match="cannot read"):
        import_regions(tmp_path / "missing.txt")
    (tmp_path / "bad.json").write_text('{"regions": [{"label": "a", "start": "soon"}]}', encoding="utf-8")
    with pytest.raises(MarkerFileError, match="region 1 needs label"):
        import_regions(tmp_path / "bad.json")
