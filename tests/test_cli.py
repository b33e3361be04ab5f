"""The command-line contract: outputs, JSON/CSV schemas, exit codes and one-line errors."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from audiogen import tone_burst

from studio_tagger.cli import main
from studio_tagger.labels import LABELS


@pytest.fixture
def take(write_audio):
    return write_audio("take ü.flac", tone_burst(12.0, 44100, 3.0, 6.0, channels=2), 44100)


def test_classify_writes_json_and_csv(tmp_path, take, random_model_path, capsys):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(take.read_bytes())  # same audio, another name
    out_json, out_csv = tmp_path / "tags.json", tmp_path / "tags.csv"
    rc = main(["classify", str(take), str(clip), "--model", str(random_model_path),
               "--json", str(out_json), "--csv", str(out_csv)])
    assert rc == 0
    rows = json.loads(out_json.read_text(encoding="utf-8"))
    assert [r["file"] for r in rows] == [str(take), str(clip)]
    for row in rows:
        assert set(row) == {"file", "label", "scores"}
        assert list(row["scores"]) == list(LABELS)
        assert row["label"] == max(row["scores"], key=row["scores"].get)
        assert all(0.0 <= p <= 1.0 for p in row["scores"].values())
    assert rows[0]["scores"] == rows[1]["scores"]
    with out_csv.open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["file", "label", *LABELS] and len(table) == 3
    assert table[1][1] == rows[0]["label"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split("\t")[:2] == [str(take), rows[0]["label"]]


def test_analyze_json_contract(tmp_path, take, random_model_path):
    out = tmp_path / "analysis.json"
    rc = main(["analyze", str(take), "--model", str(random_model_path), "--hop", "0.25", "--json", str(out),
               "--quiet", "--threshold", "0.3"])
    assert rc == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"file", "duration", "sample_rate", "model", "labels", "hop", "window", "times",
                         "activity", "regions"}
    assert data["file"] == str(take) and data["sample_rate"] == 44100
    assert data["duration"] == pytest.approx(12.0) and data["hop"] == 0.25 and data["window"] == 2.0
    assert data["labels"] == list(LABELS) and data["model"] == "test-random"
    assert len(data["times"]) == len(data["activity"]) == 48
    assert all(len(row) == len(LABELS) for row in data["activity"])
    np.testing.assert_allclose(np.diff(data["times"]), 0.25)
    for r in data["regions"]:
        assert set(r) == {"label", "start", "end", "score"} and r["label"] in LABELS
        assert 0.0 <= r["start"] < r["end"] <= 12.0


def test_analyze_json_to_stdout(take, random_model_path, capsys):
    assert main(["analyze", str(take), "--model", str(random_model_path), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == list(LABELS)


def test_failures_exit_1_with_one_line(tmp_path, random_model_path, capsys):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    assert main(["analyze", str(bad), "--model", str(random_model_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("studio-tagger: error: ") and "notes.wav" in err
    assert "Traceback" not in err
    assert main(["classify", str(tmp_path / "missing.wav"), "--model", str(random_model_path)]) == 1
    assert "missing.wav: no such file" in capsys.readouterr().err


def test_missing_model_is_a_failure_not_a_crash(take, tmp_path, capsys):
    assert main(["classify", str(take), "--model", str(tmp_path / "nope.safetensors")]) == 1
    assert "model file not found" in capsys.readouterr().err


def test_usage_errors_exit_2(take, capsys):
    for argv in (["analyze"], ["analyze", str(take), "--hop", "-1"], ["classify"], ["frobnicate", "--x"],
                 ["analyze", str(take), "--export", "nonsense"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_debug_shows_the_traceback(tmp_path, random_model_path):
    bad = tmp_path / "x.wav"
    bad.write_text("nope")
    with pytest.raises(Exception, match="not a readable audio file"):
        main(["analyze", str(bad), "--model", str(random_model_path), "--debug"])


def test_console_script_runs_as_a_process(take, random_model_path):
    proc = subprocess.run(
        [sys.executable, "-m", "studio_tagger.cli", "classify", str(take), "--model", str(random_model_path),
         "--json", "-"], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["file"] == str(take)
    proc = subprocess.run([sys.executable, "-m", "studio_tagger.cli", "analyze", "/nonexistent.wav",
                           "--model", str(random_model_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip() == "studio-tagger: error: /nonexistent.wav: no such file"


def test_a_reader_that_stops_early_ends_the_command_quietly(take, random_model_path):
    """`studio-tagger analyze FILE --json - | head -1`: no error about the broken pipe."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio_tagger.cli", "analyze", str(take), "--model", str(random_model_path),
         "--json", "-", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert stderr == ""


def test_analyze_exports_and_export_command(tmp_path, take, random_model_path):
    analysis = tmp_path / "a.json"
    labels_txt = tmp_path / "labels.txt"
    rc = main(["analyze", str(take), "--model", str(random_model_path), "--threshold", "0.01", "--quiet",
               "--json", str(analysis), "--export", f"audacity={labels_txt}",
               "--export", f"csv-activity={tmp_path / 'act.csv'}"])
    assert rc == 0
    regions = json.loads(analysis.read_text(encoding="utf-8"))["regions"]
    assert regions, "threshold 0.01 must open regions even for an untrained model"
    lines = labels_txt.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(regions)
    start, end, label = lines[0].split("\t")
    assert (float(start), float(end), label) == (regions[0]["start"], regions[0]["end"], regions[0]["label"])
    assert (tmp_path / "act.csv").read_text().splitlines()[0].startswith("time,")
    reaper = tmp_path / "markers.csv"
    assert main(["export", str(analysis), "--format", "reaper", "--out", str(reaper), "--name", "{label} {n}"]) == 0
    rows = list(csv.reader(reaper.open(encoding="utf-8")))
    assert rows[0] == ["#", "Name", "Start", "End", "Length"] and len(rows) == len(regions) + 1
    assert rows[1][1].endswith(" 1")


def test_export_refuses_unknown_format_and_bad_source(tmp_path, capsys):
    src = tmp_path / "s.json"
    src.write_text("{}")
    assert main(["export", str(src), "--format", "reaper", "--out", str(tmp_path / "x.csv")]) == 1
    assert "no 'regions'" in capsys.readouterr().err
    assert main(["export", str(src), "--format", "nope", "--out", str(tmp_path / "x.csv")]) == 1
    assert "unknown export format" in capsys.readouterr().err
