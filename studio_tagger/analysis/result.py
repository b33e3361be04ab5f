"""What an analysis gives and the errors it raises, without torch: the app's window, sessions and the
command line handle results before torch has loaded (`analyzer` needs it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio import AudioError, AudioInfo
from ..features.params import FeatureParams
from .levels import sounding_bins
from .regions import Region, RegionParams, file_regions


class Cancelled(Exception):
    """Raised by `Analyzer.analyze` when ``should_cancel`` answered True."""


@dataclass
class ActivityChunk:
    times: np.ndarray  # (n,) bin centres in seconds
    activity: np.ndarray  # (n, labels) in [0, 1]
    done: float  # seconds of audio consumed so far
    total: float  # seconds in the file


@dataclass
class AnalysisResult:
    file: str
    duration: float
    sample_rate: int
    model: str
    labels: tuple[str, ...]
    hop: float
    window: float
    times: np.ndarray
    activity: np.ndarray
    device: str = "cpu"
    elapsed: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json_dict(self, regions: list[Region] | None = None) -> dict:
        return {
            "file": self.file,
            "duration": round(self.duration, 6),
            "sample_rate": self.sample_rate,
            "model": self.model,
            "labels": list(self.labels),
            "hop": self.hop,
            "window": self.window,
            "times": [round(float(t), 6) for t in self.times],
            "activity": [[round(float(p), 5) for p in row] for row in self.activity],
            "regions": [r.to_dict() for r in (regions or [])],
        }

    @property
    def shorter_than_window(self) -> bool:
        """Whether the file fills less than one window: its scores still say what it sounds like (a
        one-shot's label), but a region over padding is not a finding."""
        return self.duration < self.window

    def short_notice(self) -> str:
        """What `analyze`, `batch` and the app say of a file shorter than one window."""
        return f"shorter than the {self.window:g} s window: scored as one window filled out with silence, no regions"

    def regions(self, params: RegionParams | None = None) -> list[Region]:
        """The file's regions (`find_regions` with ``params``); none for a file shorter than one window,
        as `analyze` and `batch` both report it."""
        return file_regions(self.times, self.activity, self.labels, params, self.duration, self.window)

    def best_label(self) -> str | None:
        """What `classify` names the file: the label of the best mean score; None for a silent recording
        (the analyzer said so in a notice), where every score is the model's guess at nothing."""
        if self.extra.get("silent"):
            return None
        scores = self.mean_scores()
        return max(scores, key=scores.get) if scores else None

    def mean_scores(self) -> dict[str, float]:
        """One score per label for the whole file (what `classify` and `batch` report): the mean activity
        over the bins that sound (RMS level within `SOUNDING_DB` of the loudest bin's), so a sample's
        silent tail or the silence around a take does not water it down; over every bin when all sound
        alike, or when the analysis kept no levels."""
        if len(self.activity) == 0:
            return dict.fromkeys(self.labels, 0.0)
        levels = self.extra.get("bin_levels")
        sounding = sounding_bins(levels) if levels is not None and len(levels) == len(self.activity) else None
        means = (self.activity if sounding is None else self.activity[sounding]).mean(axis=0)
        return {label: float(p) for label, p in zip(self.labels, means, strict=True)}


def require_analysable(info: AudioInfo, params: FeatureParams | None = None) -> None:
    """Raises AudioError for a recording shorter than one feature frame (nothing to analyse)."""
    params = params or FeatureParams()
    if info.frames < params.frame_length * info.sample_rate / params.sample_rate:
        needs = params.frame_length / params.sample_rate
        raise AudioError(f"{info.path}: too short to analyse ({info.duration:.3f} s; needs at least {needs:.3f} s)")


def bin_times(n_bins: int, hop: float, first: int = 0) -> np.ndarray:
    """Centres of bins first .. first + n_bins - 1."""
    return (np.arange(first, first + n_bins) + 0.5) * hop
