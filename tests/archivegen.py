"""A small archive made on the fly for the batch tests: short takes in nested folders at mixed rates,
channel counts and formats (WAV, FLAC, Ogg Vorbis), plus a few files that cannot be tagged."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from audiogen import tone_burst

RATES = (16000, 22050, 44100, 48000)
FORMATS = ("wav", "flac", "ogg")

# name -> bytes: a WAV whose header stops inside the fmt chunk, an empty file, a PNG image named .ogg
BAD = {
    "corrupt.wav": b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00",
    "empty.flac": b"",
    "picture.ogg": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300),
}


def make_archive(root: Path, n_good: int, seconds: float = 2.5) -> tuple[list[Path], list[Path]]:
    """Writes ``n_good`` takes (2.5-4 s) in three folders and the BAD files, plus a text file that the
    walk must skip; returns (good paths, bad paths)."""
    good = []
    for i in range(n_good):
        rate, fmt = RATES[i % len(RATES)], FORMATS[i % len(FORMATS)]
        path = root / f"set{i % 3}" / ("deeper" if i % 5 == 4 else "") / f"take{i:02d}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        duration = seconds + (i % 4) * 0.5
        data = tone_burst(duration, rate, 0.5, duration - 0.5, channels=1 + i % 2, freq=300.0 + 70 * i, seed=i)
        sf.write(str(path), data, rate)
        good.append(path)
    bad = []
    for name, data in BAD.items():
        path = root / "set1" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        bad.append(path)
    (root / "set0" / "notes.txt").write_text("session notes, not audio\n")
    return good, bad


def analyze_json(path: Path, model: Path, scratch: Path, device: str = "auto") -> dict:
    """What single-file `studio-tagger analyze FILE --json` writes for ``path`` (on the device the batch
    used: a GPU's scores differ from the CPU's in the last digits)."""
    import json

    from studio_tagger.cli import main

    out = scratch / f"{path.name}.analyze.json"
    assert main(["analyze", str(path), "--model", str(model), "--json", str(out), "--quiet", "--device", device]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def check_results(out: Path, root: Path, good: list[Path], bad: list[Path], model: Path, scratch: Path,
                  device: str = "auto") -> None:
    """Every good take's result equals single-file `analyze`; every bad one is recorded as failed with the
    reason `analyze` gives; the summary (CSV and Parquet) has one matching row per recording."""
    import csv
    import json

    import pyarrow.parquet as pq

    with (out / "summary.csv").open(encoding="utf-8", newline="") as f:
        rows = {row["path"]: row for row in csv.DictReader(f)}
    table = pq.read_table(out / "summary.parquet").to_pylist()
    assert [r["path"] for r in table] == list(rows)
    by_path = {r["path"]: r for r in table}
    assert set(rows) == {str(p) for p in good + bad}
    for path in good:
        key = path.relative_to(root).as_posix()
        expected = analyze_json(path, model, scratch, device)
        assert json.loads((out / f"{key}.json").read_text(encoding="utf-8")) == expected
        row = by_path[str(path)]
        assert row["status"] == "done" and row["error"] is None and row["key"] == key
        assert row["duration"] == expected["duration"] and row["regions"] == len(expected["regions"])
        means = {}
        for label in expected["labels"]:
            active = sum(r["end"] - r["start"] for r in expected["regions"] if r["label"] == label)
            column = [a[expected["labels"].index(label)] for a in expected["activity"]]
            means[label] = sum(column) / len(column)
            assert abs(row[f"{label}: seconds active"] - active) < 1e-3
            assert abs(row[f"{label}: mean score"] - means[label]) < 1e-4
        best = max(means, key=means.get)  # the label classify gives it
        assert row["label"] == best and abs(row["score"] - means[best]) < 1e-4
        assert rows[str(path)]["status"] == "done"
    for path in bad:
        row = by_path[str(path)]
        assert row["status"] == "failed" and row["error"].startswith(f"{path}: ") and row["duration"] is None
        assert row["label"] is None
        assert not (out / f"{path.relative_to(root).as_posix()}.json").exists()
