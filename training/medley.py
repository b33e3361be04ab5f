"""Medley-solos-DB's folder layout, read and written (our synthetic sets use the same layout).

    <root>/annotation/Medley-solos-DB_metadata.csv   subset,instrument,instrument_id,song_id,uuid4[,extra...]
    <root>/audio/Medley-solos-DB_{subset}-{instrument_id}_{uuid4}.wav

The real set has subsets training/validation/test; ours name the SoundFont bank in ``subset``. Instruments
outside the eight labels (our accompaniment sets) carry instrument_id -1. Columns after the official five
are kept as ``Record.extra`` strings, so the real five-column file reads the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio_tagger.atomic import atomic_write
from studio_tagger.labels import LABELS

METADATA = Path("annotation") / "Medley-solos-DB_metadata.csv"
COLUMNS = ("subset", "instrument", "instrument_id", "song_id", "uuid4")
OFFICIAL_SUBSETS = ("training", "validation", "test")
NOT_A_LABEL = -1


@dataclass(frozen=True)
class Record:
    path: Path
    label: str
    label_id: int
    """Index into LABELS, or NOT_A_LABEL for an instrument outside them."""
    subset: str
    song_id: int
    uuid: str
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


def audio_path(root: Path, subset: str, label_id: int, uuid: str) -> Path:
    """Where the clip of a record lives under ``root``."""
    return Path(root) / "audio" / f"Medley-solos-DB_{subset}-{label_id}_{uuid}.wav"


def read_metadata(root: str | Path, subsets: Iterable[str] | None = None) -> list[Record]:
    """The records of the dataset at ``root``, optionally only those of ``subsets``, in file order.

    Raises ValueError naming the file and line when a row is malformed or its instrument disagrees with
    its id (a wrong id would silently mislabel training data).
    """
    return read_csv(Path(root) / METADATA, root, subsets)


def read_csv(csv_path: Path, root: str | Path, subsets: Iterable[str] | None = None) -> list[Record]:
    """Records of a metadata-format CSV anywhere, with audio paths under the dataset ``root``."""
    root = Path(root)
    wanted = None if subsets is None else set(subsets)
    records = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        extra_columns = [c for c in reader.fieldnames or () if c not in COLUMNS]
        for line, row in enumerate(reader, start=2):
            if wanted is not None and row["subset"] not in wanted:
                continue
            try:
                label_id, song_id = int(row["instrument_id"]), int(float(row["song_id"]))
            except ValueError:
                raise ValueError(f"{csv_path}:{line}: instrument_id and song_id must be integers") from None
            label = row["instrument"]
            if label_id != NOT_A_LABEL and (not 0 <= label_id < len(LABELS) or LABELS[label_id] != label):
                raise ValueError(f"{csv_path}:{line}: instrument {label!r} does not match id {label_id}")
            records.append(Record(audio_path(root, row["subset"], label_id, row["uuid4"]), label, label_id,
                                  row["subset"], song_id, row["uuid4"], {c: row[c] for c in extra_columns}))
    return records


def write_metadata(root: str | Path, records: Sequence[Record]) -> Path:
    """Write the metadata CSV of ``records`` atomically; extra columns follow the official five."""
    path = Path(root) / METADATA
    write_csv(path, records)
    return path


def write_csv(path: Path, records: Sequence[Record]) -> None:
    """Write ``records`` in the metadata format to ``path`` (atomically, creating its folder)."""
    extra_columns = list(dict.fromkeys(c for r in records for c in r.extra))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*COLUMNS, *extra_columns])
        for r in records:
            writer.writerow([r.subset, r.label, r.label_id, r.song_id, r.uuid,
                             *(r.extra.get(c, "") for c in extra_columns)])


def song_split(records: Sequence[Record], fraction: float, seed: int = 0) -> tuple[list[Record], list[Record]]:
    """(rest, held out): about ``fraction`` of the records held out, whole songs at a time.

    Clips of one song are near-duplicates, so a song on both sides would flatter validation scores.
    """
    songs = sorted({r.song_id for r in records})
    order = np.random.default_rng(seed).permutation(len(songs))
    target = fraction * len(records)
    sizes: dict[int, int] = {}
    for r in records:
        sizes[r.song_id] = sizes.get(r.song_id, 0) + 1
    held: set[int] = set()
    count = 0
    for i in order:
        if count >= target:
            break
        held.add(songs[i])
        count += sizes[songs[i]]
    return [r for r in records if r.song_id not in held], [r for r in records if r.song_id in held]
