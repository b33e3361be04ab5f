"""The background jobs of an open recording: waveform/spectrogram summaries, and analysis.

Each is a function for :class:`~studio_tagger.app.workers.Worker`; it runs on a pool thread and
talks to the GUI only through ``emit``/``progress``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..adapt.embedded import embeddings_key
from ..audio.peaks import build_peaks
from .document import Document

if TYPE_CHECKING:
    from ..analysis import Analyzer

SUMMARY_BLOCK_SECONDS = 10.0


@dataclass(frozen=True)
class AnalysisStarted:
    labels: tuple[str, ...]
    hop: float
    model: str
    device: str
    window: float


@dataclass(frozen=True)
class AnalysisNotice:
    """The analysis changed course (out of GPU memory: smaller pieces, then the CPU)."""

    text: str


@dataclass(frozen=True)
class AnalysisSettings:
    model: str  # '' for the shipped default
    device: str
    hop: float
    block_seconds: float | None = None  # None: the analyzer's choice for the device


class AnalyzerCache:
    """Keeps the last analyzer so re-running with the same model and device does not reload it."""

    def __init__(self) -> None:
        self._key: AnalysisSettings | None = None
        self._analyzer: Analyzer | None = None
        self._lock = threading.Lock()  # a cancelled run and its replacement may ask at once

    def get(self, settings: AnalysisSettings) -> Analyzer:
        with self._lock:
            if self._analyzer is None or self._key != settings:
                # torch loads here, on the worker thread, the first time: the window shows without it.
                from ..analysis import Analyzer
                from ..models import load_model

                # Decoding stays on the worker thread: with a decoder thread too, a two-core laptop has no
                # core left for the GUI, and pan/zoom stalled for up to 150 ms while a 3-hour take ran.
                model = load_model(settings.model or None)
                # The window embeddings come almost free with the scores and let adapting, a new lane and
                # the way back to the shipped model start at once (a model without them just scores).
                self._analyzer = Analyzer(model, device=settings.device, hop=settings.hop,
                                          block_seconds=settings.block_seconds, overlap_decoding=False,
                                          embeddings=model.gives_embeddings)
                self._key = settings
            return self._analyzer


def summary_job(doc: Document):
    """Fill the document's peak pyramid and spectrogram from one decode of the file.

    Both are preallocated and written in place; ``emit`` only says how far they got, so nothing large
    crosses threads.
    """
    peaks, spec, path = doc.peaks, doc.spectrogram, doc.path

    def job(emit, progress, should_cancel):
        def on_block(pyramid, block) -> None:
            spec.push(block)
            progress(pyramid.filled_seconds / max(doc.duration, 1e-9))

        built = build_peaks(path, block_seconds=SUMMARY_BLOCK_SECONDS, on_block=on_block,
                            should_cancel=should_cancel, into=peaks)
        spec.finish()
        return built

    return job


def analysis_job(path: Path, settings: AnalysisSettings, cache: AnalyzerCache):
    def job(emit, progress, should_cancel):
        analyzer = cache.get(settings)
        emit(AnalysisStarted(tuple(analyzer.model.labels), analyzer.hop, analyzer.model.name, str(analyzer.device),
                             analyzer.model.window_seconds))
        result = analyzer.analyze(path, progress=progress, on_chunk=emit, should_cancel=should_cancel,
                                  notice=lambda text: emit(AnalysisNotice(text)))
        if "embeddings" in result.extra:
            result.extra["embeddings_key"] = embeddings_key(analyzer.model, analyzer.hop)
        return result

    return job
