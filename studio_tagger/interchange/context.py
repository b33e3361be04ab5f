"""What a format writer gets besides the markers: the source recording, the activity matrix, a cancel hook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ExportCancelled, ExportError


@dataclass(frozen=True)
class ActivityTable:
    """Per-window instrument activity: ``times`` (n,) window centres in seconds, ``activity`` (n, L)."""

    times: np.ndarray
    activity: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64)
        activity = np.asarray(self.activity, dtype=np.float64)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "activity", activity)
        object.__setattr__(self, "labels", tuple(self.labels))
        if times.ndim != 1 or activity.shape != (len(times), len(self.labels)):
            raise ExportError(
                f"activity must be (times, labels) = ({len(times)}, {len(self.labels)}), got {activity.shape}"
            )


@dataclass(frozen=True)
class ExportContext:
    """Inputs some formats need; writers call :meth:`check_cancel` between long steps. ``target`` is the
    file being written, for formats whose layout follows its extension (Sonic Visualiser: .svl or .csv)."""

    source_audio: Path | None = None
    activity: ActivityTable | None = None
    should_cancel: Callable[[], bool] | None = None
    target: Path | None = None

    def check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise ExportCancelled("export cancelled")
