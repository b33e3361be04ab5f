"""What `analyze` writes for one recording, shared by `analyze` and `batch` so both write the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from .analysis import AnalysisResult, Region
from .jsontext import json_text


def write_analysis_json(result: AnalysisResult, regions: Sequence[Region], out: IO[str], *,
                        to_check: Sequence | None = None) -> None:
    """The analysis document (see the README's `analyze` contract) as one line of JSON; with ``to_check``
    (`adapt.doubt.SpanToCheck`), the spans `analyze --to-check` found, as ``to_check``."""
    document = result.to_json_dict(list(regions))
    if to_check is not None:
        document["to_check"] = [{"start": s.start, "end": s.end, "label": s.label, "activity": s.activity}
                                for s in to_check]
    out.write(json_text(document))
    out.write("\n")


def export_result(fmt: str, regions: Sequence[Region], out: Path, source_audio: Path | None,
                  result: AnalysisResult | None = None, options=None) -> None:
    """One marker export of ``regions``; ``result`` supplies the activity matrix some formats need. Without
    ``options``, markers are named as the app and `export` name them by default (`DEFAULT_NAME_TEMPLATE`)."""
    from .interchange import DEFAULT_NAME_TEMPLATE, ActivityTable, ExportOptions, export_regions

    if options is None:
        options = ExportOptions(name_template=DEFAULT_NAME_TEMPLATE)
    activity = None
    if result is not None:
        activity = ActivityTable(times=result.times, activity=result.activity, labels=tuple(result.labels))
    export_regions(fmt, regions, out, options=options, source_audio=source_audio, activity=activity)
