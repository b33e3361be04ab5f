"""The command line guards the user's work: no output onto an input or onto another output, no model that
scores NaN, no pipe that blocks an archive run, no half-written file when a job manager stops it."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from audiogen import tone_burst
from safetensors.torch import load_file, save_file

from studio_tagger import cli
from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.regions import Region, lane_name, on_lanes
from studio_tagger.cli import main
from studio_tagger.models import ModelError, load_model
from studio_tagger.session import Edit, Session, content_hash, save_session


@pytest.fixture
def take(write_audio):
    return write_audio("take.wav", tone_burst(12.0, 16000, 3.0, 6.0), 16000)


def _analysis(tmp_path: Path, take: Path, model: Path) -> Path:
    out = tmp_path / "a.json"
    assert main(["analyze", str(take), "--model", str(model), "--json", str(out), "--quiet"]) == 0
    return out


def test_export_refuses_to_replace_the_analysis_or_session_it_reads(tmp_path, take, random_model_path, capsys):
    analysis = _analysis(tmp_path, take, random_model_path)
    before = analysis.read_bytes()
    assert main(["export", str(analysis), "--format", "csv", "--out", str(analysis)]) == 1
    assert "is the session or analysis being exported" in capsys.readouterr().err
    assert analysis.read_bytes() == before
    data = json.loads(before)
    session = Session(source=take, source_hash=content_hash(take), duration=data["duration"],
                      sample_rate=data["sample_rate"], model=data["model"], labels=tuple(data["labels"]),
                      hop=data["hop"], times=np.asarray(data["times"]), activity=np.asarray(data["activity"]),
                      edits=[Edit("add", new=Region("flute", 1.0, 4.0))])
    path = save_session(session, tmp_path / "t.stsession")
    saved = path.read_bytes()
    assert main(["export", str(path), "--format", "audacity", "--out", str(path)]) == 1
    assert path.read_bytes() == saved
    # The same export elsewhere still works, with the editor's region in it.
    assert main(["export", str(path), "--format", "audacity", "--out", str(tmp_path / "labels.txt")]) == 0
    assert "flute" in (tmp_path / "labels.txt").read_text(encoding="utf-8")


def test_two_outputs_on_one_file_are_a_usage_error(tmp_path, take, random_model_path, capsys):
    same = tmp_path / "out.txt"
    assert main(["analyze", str(take), "--model", str(random_model_path), "--json", str(same),
                 "--export", f"csv={same}"]) == 2
    assert "named for two outputs" in capsys.readouterr().err and not same.exists()
    assert main(["classify", str(take), "--model", str(random_model_path), "--csv", str(same),
                 "--json", str(tmp_path / "." / "out.txt")]) == 2
    assert not same.exists()


def test_a_review_of_one_window_adapts_to_finite_weights(tmp_path, write_audio, random_model_path):
    short = write_audio("short.wav", tone_burst(2.0, 16000, 0.0, 2.0), 16000)
    review = tmp_path / "r.json"
    review.write_text(json.dumps({"file": str(short), "regions": [{"label": "trumpet", "start": 0, "end": 2}]}))
    assert main(["adapt", str(review), "--base", str(random_model_path), "--out", str(tmp_path / "m"), "-q"]) == 0
    weights = load_file(str(tmp_path / "m.safetensors"))
    assert all(bool(t.isfinite().all()) for t in weights.values())
    assert np.isfinite(Analyzer(load_model(tmp_path / "m.safetensors")).analyze(short).activity).all()


def test_weights_that_are_not_numbers_are_refused_on_loading_and_saving(tmp_path, random_model_path):
    model = load_model(random_model_path)
    state = load_file(str(random_model_path))
    state["head.bias"][0] = float("nan")
    broken = tmp_path / "broken.safetensors"
    save_file(state, str(broken))
    (tmp_path / "broken.json").write_text(random_model_path.with_suffix(".json").read_text())
    with pytest.raises(ModelError, match="not numbers"):
        load_model(broken)
    from studio_tagger.models import save_model

    model.module.load_state_dict(state)
    with pytest.raises(ModelError, match="not written"):
        save_model(model.module, {k: v for k, v in model.card.items() if k not in ("format", "format_version")},
                   tmp_path / "again")
    assert not (tmp_path / "again.safetensors").exists()


def test_adapt_will_not_replace_a_json_that_is_not_a_model_card(tmp_path, take, random_model_path, capsys):
    analysis = _analysis(tmp_path, take, random_model_path)
    review = tmp_path / "review.json"
    review.write_text(json.dumps({"file": str(take), "regions": [{"label": "flute", "start": 3, "end": 9}]}))
    before = analysis.read_bytes()
    assert main(["adapt", str(review), "--base", str(random_model_path), "--out", str(tmp_path / "a.safetensors"),
                 "-q"]) == 1
    assert "not a model card" in capsys.readouterr().err
    assert analysis.read_bytes() == before and not (tmp_path / "a.safetensors").exists()
    # An earlier adapted model of that name is replaced, as asked.
    assert main(["adapt", str(review), "--base", str(random_model_path), "--out", str(tmp_path / "m"), "-q"]) == 0
    assert main(["adapt", str(review), "--base", str(random_model_path), "--out", str(tmp_path / "m"), "-q"]) == 0


def test_batch_reports_a_named_pipe_instead_of_waiting_on_it(tmp_path, take, random_model_path, capsys):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "take.wav").write_bytes(take.read_bytes())
    os.mkfifo(archive / "pipe.wav")
    assert main(["batch", str(archive), "--out", str(tmp_path / "res"), "--workers", "1",
                 "--model", str(random_model_path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "1 of 1 recordings failed" not in err and "0 of 1 recordings failed and 1 entries were unreadable" in err
    assert (tmp_path / "res" / "take.wav.json").is_file()
    from studio_tagger.batch.walk import walk

    found = walk([archive])
    assert [f.path.name for f in found.files] == ["take.wav"]
    assert found.problems == [(str(archive / "pipe.wav"), "not a regular file (a pipe, socket or device)")]


def test_a_json_export_keeps_the_recordings_name_when_it_cannot_be_found(tmp_path, take, random_model_path,
                                                                        monkeypatch):
    monkeypatch.chdir(take.parent)
    sub = tmp_path / "sub"
    sub.mkdir()
    assert main(["analyze", take.name, "--model", str(random_model_path), "--json", str(sub / "a.json"), "-q"]) == 0
    monkeypatch.chdir(sub)  # neither beside the analysis nor here
    assert main(["export", "a.json", "--format", "json", "--out", "regions.json"]) == 0
    assert json.loads((sub / "regions.json").read_text(encoding="utf-8"))["source"] == take.name


def test_sigterm_stops_like_ctrl_c_and_leaves_no_file(tmp_path, take, random_model_path, capsys, monkeypatch):
    """`run` answers SIGTERM (a job manager stopping the command) as main answers Ctrl+C: exit 143, and the
    output being written when it comes is removed by its atomic write, temporary file and all."""
    import studio_tagger.outputs as outputs

    out = tmp_path / "out"
    out.mkdir()
    write = outputs.write_analysis_json
    seen = []

    def stopped_while_writing(result, regions, f, **options):
        f.write("{")
        seen.extend(p.name for p in out.iterdir())  # the temporary file, half written
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises before this call returns
        write(result, regions, f, **options)

    monkeypatch.setattr(outputs, "write_analysis_json", stopped_while_writing)
    previous = signal.signal(signal.SIGTERM, cli._terminate)  # what `run` installs for this command
    try:
        assert main(["analyze", str(take), "--model", str(random_model_path), "--json", str(out / "a.json"),
                     "--export", f"wav={out / 'a.wav'}"]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "terminated" in capsys.readouterr().err
    assert len(seen) == 1 and seen[0].endswith(".tmp") and list(out.iterdir()) == []


def test_classify_names_the_readable_files_when_one_fails(tmp_path, take, random_model_path, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEnot audio at all")
    out = tmp_path / "tags.csv"
    assert main(["classify", str(take), str(broken), str(take), "--model", str(random_model_path),
                 "--csv", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert str(broken) in err and "1 of 3 files could not be classified" in err
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    # the broken file keeps its row, with the reason and no label, so a library's table misses none
    assert [r["file"] for r in rows] == [str(take), str(broken), str(take)]
    assert rows[1]["label"] == "" and "not a readable audio file" in rows[1]["error"]
    assert rows[0]["error"] == "" and rows[0]["label"] in rows[0]


@pytest.mark.parametrize("argv", [["--merge-gap", "inf"], ["--smoothing", "1e300"], ["--min-duration", "-5"],
                                  ["--smoothing", "nan"], ["--hop", "100"], ["--hop", "0"]])
def test_option_values_out_of_range_are_usage_errors(take, random_model_path, capsys, argv):
    """Exit 2 with the option named, whether argparse or the model's window refuses it."""
    try:
        code = main(["analyze", str(take), "--model", str(random_model_path), *argv])
    except SystemExit as exc:  # argparse's own usage error
        code = exc.code
    assert code == 2
    assert argv[0] in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_folder_given_as_the_model_is_one_line(take, capsys):
    assert main(["analyze", str(take), "--model", "."]) == 1
    assert capsys.readouterr().err == "studio-tagger: error: .: names a folder, not a model file (give its .safetensors)\n"


def test_lane_names_are_one_line_and_spaced_once():
    assert lane_name(" French\n  horn\t") == "French horn"
    assert lane_name("oboe\x00") == "oboe"
    regions = on_lanes([Region("Trumpet\n", 0, 1), Region("french  HORN", 1, 2), Region("French horn", 2, 3)],
                       ["trumpet"])
    assert [r.label for r in regions] == ["trumpet", "french HORN", "french HORN"]


def test_an_earlier_runs_results_inside_the_archive_are_not_tagged(tmp_path, take, random_model_path):
    archive = tmp_path / "archive"
    (archive / "reel 1").mkdir(parents=True)
    (archive / "reel 1" / "take.wav").write_bytes(take.read_bytes())
    first = archive / "results"
    assert main(["batch", str(archive), "--out", str(first), "--workers", "1", "--export", "wav",
                 "--model", str(random_model_path), "-q"]) == 0
    # The records lie in a subfolder per folder of the archive; the copy with markers matches *.wav.
    assert (first / "reel 1" / "take.wav.wav.wav").is_file() and not list(first.glob("*.record.json"))
    from studio_tagger.batch.walk import walk

    assert [f.key for f in walk([archive]).files] == ["reel 1/take.wav"]
    # Named as a root of its own, the folder is walked: the user asked for it.
    assert [f.key for f in walk([first]).files] == ["reel 1/take.wav.wav.wav"]


def test_batch_removes_exports_an_earlier_run_left_of_another_analysis(tmp_path, take, random_model_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "take.wav").write_bytes(take.read_bytes())
    out = tmp_path / "res"
    common = ["--out", str(out), "--workers", "1", "--model", str(random_model_path), "-q"]
    assert main(["batch", str(archive), "--export", "midi,audacity", *common]) == 0
    assert (out / "take.wav.midi.mid").is_file()
    assert main(["batch", str(archive), "--export", "audacity", "--threshold", "0.9", *common]) == 0
    assert (out / "take.wav.audacity.txt").is_file() and not (out / "take.wav.midi.mid").exists()


def test_a_review_that_changes_nothing_is_refused_and_cards_name_files_absolutely(tmp_path, take, random_model_path,
                                                                                  capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    analysis = _analysis(tmp_path, take, random_model_path)
    assert main(["adapt", "a.json", "--base", str(random_model_path), "--out", "same", "-q"]) == 1
    assert "no corrections to learn from" in capsys.readouterr().err and not (tmp_path / "same.json").exists()
    data = json.loads(analysis.read_text(encoding="utf-8"))
    data["regions"] = [r for r in data["regions"] if r["label"] != "flute"]  # one false region deleted
    (tmp_path / "review.json").write_text(json.dumps(data))
    assert main(["adapt", "review.json", "--base", str(random_model_path), "--out", "m", "-q"]) == 0
    card = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["adaptation"]
    assert card["sessions"] == [str(tmp_path / "review.json")] and card["recordings"] == [str(take)]


def test_adapt_out_keeps_its_whole_name_and_a_review_named_twice_counts_once(tmp_path, take, random_model_path,
                                                                            capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = json.loads(_analysis(tmp_path, take, random_model_path).read_text(encoding="utf-8"))
    data["regions"] = [r for r in data["regions"] if r["label"] != "flute"]
    (tmp_path / "review.json").write_text(json.dumps(data))
    assert main(["adapt", "review.json", "./review.json", "--base", str(random_model_path), "--out", "my.hall"]) == 0
    out = capsys.readouterr().out
    assert "corrected seconds in 1 recording:" in out
    assert (tmp_path / "my.hall.safetensors").is_file() and (tmp_path / "my.hall.json").is_file()
    assert not (tmp_path / "my.safetensors").exists()
    assert load_model("my.hall").labels == load_model(random_model_path).labels


def test_a_json_export_moved_with_its_recording_finds_it_beside_itself(tmp_path, take, random_model_path):
    analysis = _analysis(tmp_path, take, random_model_path)
    assert main(["export", str(analysis), "--format", "json", "--out", str(tmp_path / "regions.json")]) == 0
    moved = tmp_path / "moved"
    moved.mkdir()
    (tmp_path / "regions.json").rename(moved / "regions.json")
    take.rename(moved / take.name)  # the absolute "source" is gone; the recording lies beside the export
    assert main(["export", str(moved / "regions.json"), "--format", "wav", "--out", str(tmp_path / "copy.wav")]) == 0
    assert (tmp_path / "copy.wav").read_bytes()[:4] == b"RIFF"


def test_adapt_will_not_replace_a_base_named_without_its_suffix(tmp_path, take, random_model_path, capsys,
                                                                monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    for suffix in (".safetensors", ".json"):
        shutil.copyfile(random_model_path.with_suffix(suffix), tmp_path / f"base{suffix}")
    data = json.loads(_analysis(tmp_path, take, random_model_path).read_text(encoding="utf-8"))
    data["regions"] = [r for r in data["regions"] if r["label"] != "flute"]
    (tmp_path / "review.json").write_text(json.dumps(data))
    before = (tmp_path / "base.safetensors").read_bytes()
    assert main(["adapt", "review.json", "--base", "base", "--out", "base", "-q"]) == 1
    assert "is one of this command's inputs" in capsys.readouterr().err
    assert (tmp_path / "base.safetensors").read_bytes() == before


def test_a_folder_named_like_a_shipped_model_does_not_hide_it(tmp_path, monkeypatch):
    from studio_tagger.shipped import model_files, shipped, shipped_choice

    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").mkdir()
    assert model_files("accurate")[0] == shipped("models/accurate.safetensors")
    assert shipped_choice("accurate") == "accurate"


def test_classify_writes_nothing_when_no_file_can_be_read(tmp_path, random_model_path, capsys):
    bad = [tmp_path / "a.wav", tmp_path / "b.wav"]
    for path in bad:
        path.write_bytes(b"RIFF....WAVEnot audio")
    assert main(["classify", *map(str, bad), "--model", str(random_model_path), "--csv", str(tmp_path / "t.csv")]) == 1
    assert "none of the 2 files could be classified" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
