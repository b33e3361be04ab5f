"""Medley-solos-DB layout: reading the official five-column file, writing ours, song-aware splits."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.labels import LABELS
from training.medley import (
    COLUMNS,
    METADATA,
    NOT_A_LABEL,
    Record,
    audio_path,
    read_metadata,
    song_split,
    write_metadata,
)


def _fake_medley(root: Path) -> list[dict[str, str]]:
    """A tiny copy of the real layout: the official header only, float32 clips named as in the real set."""
    rows = []
    for i in range(24):
        subset = ("training", "validation", "test")[i % 3]
        label_id = i % len(LABELS)
        row = {"subset": subset, "instrument": LABELS[label_id], "instrument_id": str(label_id),
               "song_id": str(100 + i // 4), "uuid4": f"00000000-0000-4000-8000-{i:012d}"}
        rows.append(row)
        wav = root / "audio" / f"Medley-solos-DB_{subset}-{label_id}_{row['uuid4']}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, np.zeros(64, dtype=np.float32), 44100, subtype="FLOAT")
    (root / METADATA).parent.mkdir(parents=True)
    with (root / METADATA).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_reads_the_official_layout_and_selects_subsets(tmp_path: Path) -> None:
    rows = _fake_medley(tmp_path)
    records = read_metadata(tmp_path)
    assert len(records) == len(rows)
    for r, row in zip(records, rows, strict=True):
        assert r.path.exists()
        assert r.label == row["instrument"] and LABELS[r.label_id] == r.label
        assert (r.subset, r.song_id, r.uuid) == (row["subset"], int(row["song_id"]), row["uuid4"])
        assert r.extra == {}
    test = read_metadata(tmp_path, subsets=["test"])
    assert {r.subset for r in test} == {"test"}
    assert [r.uuid for r in test] == [row["uuid4"] for row in rows if row["subset"] == "test"]
    assert len(read_metadata(tmp_path, subsets=["training", "validation"])) == 16


def test_written_metadata_keeps_official_columns_first_and_reads_back(tmp_path: Path) -> None:
    records = [
        Record(audio_path(tmp_path, "TimGM6mb", 3, "u1"), "flute", 3, "TimGM6mb", 7, "u1",
               {"family": "gm6", "program": "73"}),
        Record(audio_path(tmp_path, "TimGM6mb", NOT_A_LABEL, "u2"), "cello", NOT_A_LABEL, "TimGM6mb", 8, "u2",
               {"family": "gm6", "program": "42"}),
    ]
    path = write_metadata(tmp_path, records)
    with path.open() as f:
        header = next(csv.reader(f))
    assert header == [*COLUMNS, "family", "program"]
    back = read_metadata(tmp_path)
    assert back == records
    assert [r.extra for r in back] == [r.extra for r in records]
    assert back[1].path.name == "Medley-solos-DB_TimGM6mb--1_u2.wav"


def test_instrument_that_disagrees_with_its_id_is_refused(tmp_path: Path) -> None:
    _fake_medley(tmp_path)
    text = (tmp_path / METADATA).read_text().replace("training,clarinet,0", "training,clarinet,4", 1)
    (tmp_path / METADATA).write_text(text)
    with pytest.raises(ValueError, match="does not match id 4"):
        read_metadata(tmp_path)


def test_song_split_keeps_each_song_on_one_side(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    records = [Record(tmp_path / f"{i}.wav", "piano", 4, "x", int(rng.integers(0, 40)), str(i))
               for i in range(400)]
    rest, held = song_split(records, 0.2, seed=3)
    assert len(rest) + len(held) == len(records)
    assert not {r.song_id for r in rest} & {r.song_id for r in held}
    assert 0.15 <= len(held) / len(records) <= 0.3
    assert song_split(records, 0.2, seed=3) == (rest, held)
    assert song_split(records, 0.2, seed=4) != (rest, held)
