"""The archive's summary table, rebuilt from the per-recording records on every run.

One row per recording found (and one per entry the walk could not read): path, result key, content hash,
size, duration, model, status, error, regions, the label `classify` would give it and its score, then two
columns per instrument, the seconds it is active (the total length of its regions) and its mean score over
the stretches of the recording that sound (as `classify` scores it). Written as CSV always and as Parquet
when pyarrow is installed (the `cluster` extra), both atomically.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_write

SUMMARY_STEM = "summary"
BASE_COLUMNS = ("path", "key", "content_hash", "size", "duration", "sample_rate", "model", "status", "error",
                "notices", "regions", "label", "score")
_INTS = {"size", "sample_rate", "regions"}
_STRINGS = {"path", "key", "content_hash", "model", "status", "error", "notices", "label"}


def active_column(label: str) -> str:
    return f"{label}: seconds active"


def score_column(label: str) -> str:
    return f"{label}: mean score"


def summary_labels(records: Sequence[dict]) -> list[str]:
    labels: list[str] = []
    for record in records:
        labels.extend(label for label in record.get("labels", []) if label not in labels)
    return labels


def summary_rows(records: Sequence[dict], problems: Sequence[tuple[str, str]] = ()) -> list[dict]:
    labels = summary_labels(records)
    rows = []
    for r in records:
        row = {name: r.get(name) for name in BASE_COLUMNS}
        row["model"] = r.get("model", {}).get("id")
        row["notices"] = "; ".join(r.get("notices") or []) or None  # e.g. a WAV cut short of its header
        means = r.get("mean_score") or {}
        # What `classify` names the recording (a sample library's one-shots): its best mean score, none when
        # silent; a record of an earlier version has no label and gets the best score's.
        row["label"] = r["label"] if "label" in r else max(means, key=means.get) if means else None
        row["score"] = means.get(row["label"]) if row["label"] else None
        for label in labels:
            row[active_column(label)] = r.get("seconds_active", {}).get(label)
            row[score_column(label)] = means.get(label)
        rows.append(row)
    for path, reason in problems:
        rows.append({"path": path, "status": "unreadable", "error": reason})
    return rows


def _utf8(value: object) -> object:
    """Parquet strings must be UTF-8: a file name that is not (Python holds its bytes as surrogates) gets
    U+FFFD where its odd bytes were; the CSV keeps the bytes themselves."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def write_summary(out: Path, records: Sequence[dict], problems: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """Write RESULTS/summary.csv (and .parquet when pyarrow is there); returns the paths written."""
    labels = summary_labels(records)
    columns = [*BASE_COLUMNS, *(c for label in labels for c in (active_column(label), score_column(label)))]
    rows = summary_rows(records, problems)
    csv_path = out / f"{SUMMARY_STEM}.csv"
    with atomic_write(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    written = [csv_path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    schema = pa.schema([(c, pa.int64() if c in _INTS else pa.string() if c in _STRINGS else pa.float64())
                        for c in columns])
    table = pa.table({c: [_utf8(row.get(c)) if c in _STRINGS else row.get(c) for row in rows] for c in columns},
                     schema=schema)
    parquet_path = out / f"{SUMMARY_STEM}.parquet"
    with atomic_write(parquet_path, "wb") as f:
        pq.write_table(table, f)
    written.append(parquet_path)
    return written
