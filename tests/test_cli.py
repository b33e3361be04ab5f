"""The command-line contract: outputs, JSON/CSV schemas, exit codes and one-line errors."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audiogen import tone_burst

from studio_tagger.analysis.analyzer import DEFAULT_HOP
from studio_tagger.analysis.regions import RegionParams
from studio_tagger.audio import ffmpeg, probe
from studio_tagger.cli import build_parser, main, region_params_from
from studio_tagger.interchange import DEFAULT_NAME_TEMPLATE, FORMATS
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
    assert table[0] == ["file", "label", *LABELS, "error"] and len(table) == 3 and table[1][-1] == ""
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


def test_analyze_names_the_spans_to_check(tmp_path, take, random_model_path, capsys):
    """--to-check N: the spans where the lanes written are least sure, as the app's Next Span to Check
    finds them, in the JSON and the summary."""
    from studio_tagger.adapt.doubt import spans_to_check

    out = tmp_path / "analysis.json"
    assert main(["analyze", str(take), "--model", str(random_model_path), "--json", str(out), "--to-check", "3",
                 "--threshold", "0.5"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    expected = spans_to_check(np.array(data["times"]), np.array(data["activity"]), data["labels"],
                              RegionParams(threshold_on=0.5), duration=data["duration"], count=3)
    assert [(s["start"], s["end"], s["label"]) for s in data["to_check"]] == [(s.start, s.end, s.label) for s in expected]
    for s in data["to_check"]:
        assert 0.0 <= s["start"] < s["end"] <= data["duration"] and s["label"] in LABELS
    printed = capsys.readouterr().out
    assert ("to check, most doubtful first" in printed) == bool(expected)
    assert "to_check" not in json.loads(_analysis(take, random_model_path, tmp_path / "plain.json"))


def _analysis(take, model, out) -> str:
    assert main(["analyze", str(take), "--model", str(model), "--json", str(out), "--quiet"]) == 0
    return out.read_text(encoding="utf-8")


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


def test_the_command_leaves_its_files_whole_though_it_skips_the_interpreters_teardown(tmp_path, take,
                                                                                      random_model_path):
    """`analyze` ends with os._exit (half a second saved with torch loaded): what it wrote must be complete."""
    out, labels = tmp_path / "a.json", tmp_path / "labels.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "studio_tagger.cli", "analyze", str(take), "--model", str(random_model_path),
         "--threshold", "0.01", "--json", str(out), "--export", f"audacity={labels}"],
        capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # stdout buffered, as for users
    )
    assert proc.returncode == 0, proc.stderr
    regions = json.loads(out.read_text(encoding="utf-8"))["regions"]
    assert regions and len(labels.read_text(encoding="utf-8").splitlines()) == len(regions)
    assert f"wrote {out}" in proc.stdout  # the summary, printed last, reached the pipe


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
    first = min(regions, key=lambda r: (r["start"], r["end"], r["label"]))
    start, end, name = lines[0].split("\t")
    # Named with the one default template the app uses too.
    assert (float(start), float(end), name) == (first["start"], first["end"], f"{first['label']} 1")
    assert DEFAULT_NAME_TEMPLATE == "{label} {n}"
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
    assert main(["export", str(src), "--format", "nope", "--out", str(tmp_path / "x.csv")]) == 2
    assert "unknown export format" in capsys.readouterr().err


def _help_of(command: str, option: str) -> str:
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return next(a.help for a in sub._actions if option in a.option_strings)


def test_help_shows_the_defaults_the_code_applies():
    defaults = RegionParams()
    assert "default 0.5)" not in _help_of("analyze", "--threshold")  # the old, wrong figure
    for option, value in (("--threshold", defaults.threshold_on), ("--smoothing", defaults.smoothing),
                          ("--min-duration", defaults.min_duration), ("--merge-gap", defaults.merge_gap),
                          ("--shadow-margin", defaults.shadow_margin), ("--hop", DEFAULT_HOP)):
        assert f"(default {value:g}" in _help_of("analyze", option), option
    assert f"closes below {defaults.threshold_off:g}" in _help_of("analyze", "--threshold")
    off = region_params_from(build_parser().parse_args(["analyze", "x.flac", "--shadow-margin", "0"]))
    assert off.shadow_margin == 0.0 and RegionParams().shadow_margin > 0
    assert repr(DEFAULT_NAME_TEMPLATE) in _help_of("export", "--name")
    assert ", ".join(FORMATS) in _help_of("analyze", "--export")
    args = build_parser().parse_args(["export", "x.json", "--format", "csv", "--out", "y.csv"])
    assert args.name == DEFAULT_NAME_TEMPLATE


def _one_usage_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("studio-tagger: error: "), err
    return err


def test_labels_option_takes_a_lane_named_with_a_comma():
    # A lane taught from examples may be called "strings, low": --labels used to split it into two unknown names.
    from studio_tagger.cli import UsageError, _chosen_labels

    vocabulary = [*LABELS, "strings, low", "strings"]
    assert _chosen_labels("Strings, Low,violin", vocabulary) == {"strings, low", "violin"}
    assert _chosen_labels("strings,violin", vocabulary) == {"strings", "violin"}
    assert _chosen_labels("violin, strings, low", vocabulary) == {"violin", "strings, low"}
    with pytest.raises(UsageError, match="'low'"):
        _chosen_labels("violin, low", vocabulary)


def test_unknown_labels_and_formats_are_usage_errors(tmp_path, take, random_model_path, capsys):
    analysis = tmp_path / "a.json"
    assert main(["analyze", str(take), "--model", str(random_model_path), "--threshold", "0.01", "--quiet",
                 "--json", str(analysis)]) == 0
    out = tmp_path / "only.txt"
    assert main(["export", str(analysis), "--format", "audacity", "--out", str(out), "--labels", "clarinett"]) == 2
    err = _one_usage_line(capsys)
    assert "'clarinett'" in err and all(label in err for label in LABELS)
    assert not out.exists()  # no empty file that looks like a result
    # Case does not matter; the file holds exactly that instrument.
    assert main(["export", str(analysis), "--format", "audacity", "--out", str(out), "--labels", "Clarinet, VIOLIN"]) == 0
    wanted = [r for r in json.loads(analysis.read_text())["regions"] if r["label"] in ("clarinet", "violin")]
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(wanted)
    assert main(["analyze", str(take), "--model", str(random_model_path), "--export", f"foo={tmp_path / 'x'}"]) == 2
    err = _one_usage_line(capsys)
    assert "'foo'" in err and all(name in err for name in FORMATS)
    assert not (tmp_path / "x").exists()
    assert main(["export", str(analysis), "--format", "Audacity", "--out", str(tmp_path / "l.txt")]) == 0


def test_summary_counts_regions_per_instrument_and_lists_them_on_request(tmp_path, take, random_model_path, capsys):
    analysis, labels_txt = tmp_path / "a.json", tmp_path / "labels.txt"
    argv = ["analyze", str(take), "--model", str(random_model_path), "--threshold", "0.01",
            "--json", str(analysis), "--export", f"audacity={labels_txt}"]
    assert main(argv) == 0
    summary = capsys.readouterr().out.splitlines()
    regions = json.loads(analysis.read_text(encoding="utf-8"))["regions"]
    assert summary[0].endswith(f"{len(regions)} regions")
    per_label = {label: sum(r["label"] == label for r in regions) for label in LABELS}
    assert summary[1].strip() == ", ".join(f"{k} {n}" for k, n in per_label.items() if n)
    assert summary[2].strip() == f"wrote {analysis}, {labels_txt} (audacity)"
    assert len(summary) == 3  # regions are not listed by default
    assert main([*argv, "--regions"]) == 0
    listed = capsys.readouterr().out.splitlines()[3:]
    assert len(listed) == len(regions)
    assert all(r["label"] in line for r, line in zip(regions, listed, strict=True))
    assert main([*argv, "--verbose"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3 + len(regions)


def test_a_file_shorter_than_one_window_says_so(tmp_path, write_audio, random_model_path, capsys):
    short = write_audio("blip.wav", tone_burst(1.2, 16000, 0.0, 1.2), 16000)
    out = tmp_path / "blip.json"
    assert main(["analyze", str(short), "--model", str(random_model_path), "--threshold", "0.0",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "shorter than the 2 s window: scored as one window" in printed and "0 regions" not in printed
    assert json.loads(out.read_text(encoding="utf-8"))["regions"] == []  # even a threshold of 0 finds nothing
    # batch writes what analyze writes: no region over the padding either (it had one per lane)
    results = tmp_path / "results"
    assert main(["batch", str(short), "--out", str(results), "--model", str(random_model_path), "--threshold",
                 "0.0", "--min-duration", "0", "--workers", "1", "-q"]) == 0
    assert json.loads((results / "blip.wav.json").read_text(encoding="utf-8"))["regions"] == []
    record = json.loads((results / "blip.wav.record.json").read_text(encoding="utf-8"))
    assert record["notices"] == ["shorter than the 2 s window: scored as one window filled out with silence, no regions"]


def test_a_json_export_finds_its_recording_from_anywhere(tmp_path, take, random_model_path, monkeypatch):
    """The JSON export stores the recording's absolute path, so it can be turned into a WAV copy later
    from another folder; an older export with a bare file name still works when the recording lies beside it."""
    regions_json = tmp_path / "exports" / "regions.json"
    regions_json.parent.mkdir()
    monkeypatch.chdir(take.parent)
    assert main(["analyze", take.name, "--model", str(random_model_path), "--threshold", "0.01", "--quiet",
                 "--export", f"json={regions_json}"]) == 0
    assert json.loads(regions_json.read_text(encoding="utf-8"))["source"] == str(take.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["export", str(regions_json), "--format", "wav", "--out", "copy.wav"]) == 0
    copy = sf.info(str(elsewhere / "copy.wav"))
    assert copy.frames == sf.info(str(take)).frames
    old = json.loads(regions_json.read_text(encoding="utf-8"))
    old["source"] = take.name
    beside = take.parent / "old.json"
    beside.write_text(json.dumps(old), encoding="utf-8")
    assert main(["export", str(beside), "--format", "wav", "--out", "copy2.wav"]) == 0


def test_help_and_the_region_options_load_without_torch():
    """Importing torch takes a second or more: the parser, the region settings and the model's files are
    found without it, so `analyze` starts decoding while torch loads and `--help` answers at once."""
    code = ("import sys\nfrom studio_tagger.cli import build_parser, region_params_from\n"
            "from studio_tagger.shipped import model_files\n"
            "args = build_parser().parse_args(['analyze', 'x.flac', '--threshold', '0.3'])\n"
            "assert region_params_from(args).threshold_on == 0.3 and model_files(None)[1].is_file()\n"
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.skipif(not ffmpeg.available(), reason="needs ffmpeg and ffprobe")
def test_an_m4a_is_analysed_and_copied_with_markers_like_any_recording(tmp_path, take, random_model_path):
    """AAC in .m4a (read through ffmpeg): analysed as its FLAC original, and its WAV copy with markers has
    every frame at the file's rate."""
    m4a = tmp_path / "take.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(take), "-c:a", "aac", "-b:a", "192k", str(m4a)],
                   check=True, timeout=120)
    runs = {}
    for path in (take, m4a):
        out = tmp_path / f"{path.suffix[1:]}.json"
        extra = ["--export", f"wav={tmp_path / 'copy.wav'}"] if path == m4a else []
        assert main(["analyze", str(path), "--model", str(random_model_path), "--json", str(out), "--quiet",
                     "--threshold", "0.01", *extra]) == 0
        runs[path.suffix] = json.loads(out.read_text(encoding="utf-8"))
    flac, aac = runs[".flac"], runs[".m4a"]
    assert aac["duration"] == pytest.approx(flac["duration"], abs=0.05) and aac["sample_rate"] == 44100
    assert len(aac["times"]) == len(flac["times"])
    np.testing.assert_allclose(np.asarray(aac["activity"]), np.asarray(flac["activity"]), atol=0.05)
    copy = sf.info(str(tmp_path / "copy.wav"))
    assert (copy.samplerate, copy.channels, copy.frames) == (44100, 2, probe(m4a).frames)


def test_classify_draws_one_bar_for_many_files(tmp_path, take, random_model_path, capsys, monkeypatch):
    clips = []
    for i in range(3):
        clips.append(tmp_path / f"clip{i}.wav")
        clips[-1].write_bytes(take.read_bytes())
    monkeypatch.setenv("STUDIO_TAGGER_PROGRESS", "1")  # the bar, as on a terminal
    assert main(["classify", *map(str, clips), "--model", str(random_model_path)]) == 0
    captured = capsys.readouterr()
    draws = [d for d in captured.err.replace("\n", "\r").split("\r") if d.strip() and not d.startswith("\033")]
    assert draws and all(d.startswith("classify [") for d in draws)  # no bar per file
    assert "3/3 files" in draws[-1]
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == list(map(str, clips))


def test_a_silent_file_is_told_not_named(tmp_path, write_audio, random_model_path, capsys):
    silent = write_audio("silent.wav", np.zeros(3 * 16000, np.float32), 16000, subtype="FLOAT")
    nans = write_audio("nan.wav", np.full(3 * 16000, np.nan, np.float32), 16000, subtype="FLOAT")
    quiet = write_audio("quiet.wav", 10 ** (-80 / 20) * tone_burst(3.0, 16000, 0.0, 3.0)[:, 0], 16000, subtype="FLOAT")
    out = tmp_path / "tags.json"
    assert main(["classify", str(silent), str(nans), str(quiet), "--model", str(random_model_path),
                 "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"{silent}\tsilent\t"
    assert f"notice: {silent}: it is silent (no sample above -90 dBFS" in captured.err
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["label"] for r in rows[:2]] == [None, None] and rows[2]["label"] in LABELS  # -80 dBFS is a sound
    assert f"notice: {quiet}" not in captured.err
    results = tmp_path / "results"  # batch's summary leaves a silent recording's label empty too
    assert main(["batch", str(silent), str(quiet), "--out", str(results), "--model", str(random_model_path),
                 "--workers", "1", "-q"]) == 0
    with (results / "summary.csv").open(encoding="utf-8", newline="") as f:
        labels = {Path(r["path"]).name: r["label"] for r in csv.DictReader(f)}
    assert labels["silent.wav"] == "" and labels["quiet.wav"] in LABELS


def test_control_characters_of_a_file_name_are_escaped_on_lines_of_text(tmp_path, take, random_model_path, capsys):
    # A tab split classify's line into four fields; an escape sequence reached the terminal.
    odd = tmp_path / "a\ttab\x1b[2J.wav"
    odd.write_bytes(take.read_bytes())
    broken = tmp_path / "bad\x1b[31m.wav"
    broken.write_bytes(b"RIFF....WAVEnot audio")
    out = tmp_path / "tags.csv"
    assert main(["classify", str(odd), str(broken), "--model", str(random_model_path), "--csv", str(out)]) == 1
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert len(line.split("\t")) == 3 and line.startswith(str(tmp_path / "a\\ttab\\x1b[2J.wav"))
    assert "\x1b" not in captured.err and "bad\\x1b[31m.wav" in captured.err
    with out.open(encoding="utf-8", newline="") as f:
        assert [r["file"] for r in csv.DictReader(f)] == [str(odd), str(broken)]  # the CSV keeps the names


def test_analyze_and_batch_summaries_escape_control_characters_of_names(tmp_path, take, random_model_path,
                                                                      capsys):
    # analyze's and batch's summary lines printed the names as they were: an escape sequence in a file or
    # folder name reached the terminal.
    folder = tmp_path / "in\x1b[2J"
    folder.mkdir()
    odd = folder / "take\x1b[31m.wav"
    odd.write_bytes(take.read_bytes())
    labels = tmp_path / "out\x07.txt"
    assert main(["analyze", str(odd), "--model", str(random_model_path), "--export", f"audacity={labels}"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith(str(folder).replace("\x1b", "\\x1b") + "/take\\x1b[31m.wav: ")
    assert "out\\x07.txt (audacity)" in out
    assert labels.exists()  # the file itself keeps its name
    results = tmp_path / "results\x1b[0m"
    assert main(["batch", str(folder), "--out", str(results), "--model", str(random_model_path),
                 "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "results\\x1b[0m" in out and (results / "summary.csv").exists()


def test_batch_with_no_root_there_writes_nothing(tmp_path, random_model_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.csv").write_text("path,key,content_hash\nearlier,run,kept\n")
    assert main(["batch", str(tmp_path / "typo"), "--out", str(results), "--model", str(random_model_path)]) == 1
    assert "typo: no such file or folder; nothing was tagged or written" in capsys.readouterr().err
    assert (results / "summary.csv").read_text() == "path,key,content_hash\nearlier,run,kept\n"
