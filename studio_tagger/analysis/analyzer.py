"""Sliding-window analysis of a whole recording, streamed block by block.

file -> audio blocks -> log-mel, computed once over the recording (both on a helper thread) ->
window scores -> overlap-add into activity bins -> `on_chunk` callbacks in time order -> result.
Memory stays bounded by the block size plus the activity matrix, whatever the length of the file.
A GPU that runs out of memory makes the run slower, not fail (see `windows.ModelRunner`); what changed
is told through `notice` and kept in ``AnalysisResult.extra["notices"]``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..audio import iter_blocks, probe
from ..audio.prefetch import DecodeAhead, Prefetch
from ..audio.truncation import promised_seconds
from ..features import LogMel, window_frames
from ..models import LoadedModel, load_model
from ..models.activity_cnn import LANE_BANDS
from .aggregate import DEFAULT_HOP, BinAggregator
from .device import place_module, resolve_device
from .frontend import ResilientLogMel
from .levels import BinLevels
from .result import ActivityChunk, AnalysisResult, Cancelled, bin_times, require_analysable
from .windows import ClipWindowScorer, FrameWindowScorer, ModelRunner, silence_level


def activate(logits: torch.Tensor, activation: str, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Scores from logits: a softmax over the labels, or a sigmoid per label after adding ``bias`` (the
    card's calibration, one value per label) when there is one."""
    if activation == "softmax":
        return torch.softmax(logits, dim=-1)
    return torch.sigmoid(logits if bias is None else logits.float() + bias)


class LogitsAndEmbeddings(torch.nn.Module):
    """A frame model whose frames carry its logits followed by its embeddings (the head's input).

    The head is one linear layer, so the mean of a window's frame logits is the head applied to the mean
    of its frame embeddings: the analyzer's window means of these outputs give, beside each window's
    logits, the embedding a retrained head would see for that window (see `studio_tagger.adapt`). An
    ActivityCNN's embeddings also carry its last block's features in `LANE_BANDS` frequency bands, what a
    lane taught from examples reads beside the embedding, whether its head reads them yet or not."""

    kind = "frames"

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.inner = module
        self.time_stride = module.time_stride
        self.n_labels = int(module.head.out_channels)
        self.bands = LANE_BANDS if hasattr(module, "embed_parts") else 0
        self.n_outputs = self.n_labels + feature_width(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.bands:
            e = self.inner.embed(x)
            return torch.cat([self.inner.head(e), e], dim=1).transpose(1, 2)
        e, b = self.inner.embed_parts(x, self.bands)
        logits = self.inner.head(torch.cat([e, b], dim=1) if self.inner.head_bands else e)
        return torch.cat([logits, e, b], dim=1).transpose(1, 2)


def feature_width(module: torch.nn.Module) -> int:
    """Width of the embeddings `LogitsAndEmbeddings` gives for ``module`` (for an ActivityCNN, its
    embedding and the band features; else what its head reads)."""
    if hasattr(module, "embed_parts"):
        return module.embed_width + module.band_channels * LANE_BANDS
    return int(module.head.in_channels)


DEAR_TO_DECODE = frozenset({"FLAC", "OGG", "MP3", "FFMPEG"})
"""Formats (soundfile's names) that take longer to decode than to analyse on a CPU."""


class Pace:
    """Whether the log-mel should move from the decoding thread to the model thread, from what the two
    threads measure as they run: the log-mel's cost per input sample on the decoding thread, and how long
    the model thread waits for each item.

    Where decoding is cheap (a 16-bit WAV: about 0.95 CPU-seconds an hour on two cores, the log-mel 0.85,
    the model 1.9) the decoding thread computes the log-mel too and the two threads are busy alike; where
    it is dear (a FLAC: about 4.8) the model thread, idle half the time, takes the log-mel over. With
    decoding d, log-mel l and model m per item, the model thread waits d + l - m, so a wait longer than l
    means d > m: then the slower side gets shorter and the other stays shorter than it. Both are the
    medians, per sample, of the last five items, so one slow item (the pipeline filling behind the
    model's first calls, which on a WAV once made the second wait three times the log-mel) does not move
    the log-mel where it costs time; the first item of each side is left out."""

    RECENT = 5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log_mel: deque[tuple[int, float]] = deque(maxlen=self.RECENT)
        self._waits: deque[tuple[int, float]] = deque(maxlen=self.RECENT)
        self._first = {"log_mel": True, "wait": True}

    def _add(self, side: str, into: deque, samples: int, seconds: float) -> None:
        with self._lock:
            if self._first[side]:
                self._first[side] = False
            elif samples > 0:
                into.append((samples, seconds))

    def log_mel(self, samples: int, seconds: float) -> None:
        self._add("log_mel", self._log_mel, samples, seconds)

    def waited(self, samples: int, seconds: float) -> None:
        self._add("wait", self._waits, samples, seconds)

    @staticmethod
    def _per_sample(items: deque) -> float:
        return float(np.median([seconds / samples for samples, seconds in items]))

    def decoder_is_slower(self) -> bool:
        with self._lock:
            return (len(self._log_mel) == self.RECENT and len(self._waits) == self.RECENT
                    and self._per_sample(self._waits) > self._per_sample(self._log_mel))


SILENT_PEAK = 10 ** (-90 / 20)
"""Below this peak a recording is silence (digital zero, dither, a disconnected input): whatever the lanes
score there, most from the model's biases, is not a finding."""


class Analyzer:
    """Runs one model over recordings. Reuse it: the model and front end stay loaded on the device."""

    def __init__(
        self, model: LoadedModel | str | Path | None = None, device: str | torch.device = "auto",
        hop: float = DEFAULT_HOP, block_seconds: float | None = None, overlap_decoding: bool = True,
        embeddings: bool = False,
    ) -> None:
        """``overlap_decoding`` decodes on a helper thread while the model runs (fastest); an app that
        must keep a core free for its GUI passes False and decodes in the calling thread.
        ``embeddings`` also keeps each window's mean embedding (float16, windows x width) in
        ``result.extra["embeddings"]``, what adapting a model to a user's corrections trains on; it
        needs a frame model with ``embed`` and a linear ``head`` (ValueError otherwise)."""
        self.overlap_decoding = overlap_decoding
        self.model = model if isinstance(model, LoadedModel) else load_model(model)
        self.embeddings = embeddings
        if embeddings and not self.model.gives_embeddings:
            raise ValueError(f"model {self.model.name} gives no frame embeddings (an ActivityCNN does)")
        self.device = resolve_device(device)
        params = self.model.features
        hop_frames = int(round(hop * params.frame_rate))
        if hop_frames < 1 or hop > self.model.window_seconds:
            raise ValueError(f"hop must be between {1 / params.frame_rate:g} s and the window length")
        self.hop_frames = hop_frames
        self.hop = hop_frames / params.frame_rate
        self.win_frames = window_frames(self.model.window_seconds, params)
        self.module = place_module(self.model.module, self.device)
        self.logmel = LogMel(params).to(self.device)
        on_gpu = self.device.type == "cuda"
        # Bigger stretches keep a GPU busy; on a CPU they only cost memory.
        self.block_seconds = block_seconds or (120.0 if on_gpu else 30.0)
        self.segment_frames = int(self.block_seconds * params.frame_rate)
        self.activation = str(self.model.card.get("activation", "sigmoid"))
        # The card's calibration moves each label's operating point (see `training.calibrate`).
        self.logit_bias = (torch.tensor(self.model.logit_bias, dtype=torch.float32, device=self.device)
                           if self.model.logit_bias and self.activation == "sigmoid" else None)

    def _scorer(self, runner: ModelRunner, module: torch.nn.Module):
        if self.model.kind == "frames":
            return FrameWindowScorer(module, self.win_frames, self.hop_frames, self.device, self.segment_frames,
                                     runner=runner, silence=silence_level(self.model.features))
        batch = 256 if self.device.type == "cuda" else 32
        return ClipWindowScorer(self.module, self.win_frames, self.hop_frames, self.device, self.model.features, batch,
                                runner=runner)

    def _probs(self, logits: torch.Tensor) -> np.ndarray:
        if logits.numel() == 0:
            return np.zeros((0, len(self.model.labels)), np.float32)
        return activate(logits, self.activation, self.logit_bias).float().cpu().numpy()

    def analyze(
        self, path: str | os.PathLike, *, progress: Callable[[float], None] | None = None,
        on_chunk: Callable[[ActivityChunk], None] | None = None, should_cancel: Callable[[], bool] | None = None,
        notice: Callable[[str], None] | None = None, decoded: DecodeAhead | None = None,
    ) -> AnalysisResult:
        """Analyse one recording. ``notice`` gets one line whenever the run had to change course (out of
        GPU memory: smaller pieces, then the CPU), from this thread or the decoding thread; the lines are
        also in ``result.extra["notices"]``. ``decoded``: the recording already being decoded (started
        before the model loaded), used if it is this file at the model's rate; it is closed either way."""
        started = time.perf_counter()
        try:
            info = probe(path)
            params = self.model.features
            require_analysable(info, params)
        except BaseException:
            if decoded is not None:
                decoded.close()
            raise
        if decoded is not None and (decoded.rate != params.sample_rate or decoded.path != info.path):
            decoded.close()
            decoded = None
        n_bins = max(1, math.ceil(round(info.duration / self.hop, 6)))
        aggregator = BinAggregator(BinAggregator.windows_per_bin(self.model.window_seconds, self.hop), n_bins,
                                   len(self.model.labels))
        notices: list[str] = []

        def tell(text: str) -> None:
            notices.append(text)
            if notice is not None:
                notice(text)

        if info.sample_rate < params.sample_rate:
            # The mel bands above the recording's Nyquist frequency are empty: at 11 kHz most phrases of
            # benchmarks/robustness.py changed their top lane.
            tell(f"its sample rate ({info.sample_rate} Hz) is below the model's {params.sample_rate} Hz: the "
                 f"top of the spectrum is missing, and instruments are named less reliably")
        promised = promised_seconds(info.path) if info.format == "WAV" else None
        if promised is not None:
            tell(f"the file ends at {info.duration:.1f} s but its header promises {promised:.1f} s: it was "
                 "probably cut short (an interrupted copy or recording); what is there is analysed")

        module, cpu_source = self.module, self.model.module
        if self.embeddings:
            module, cpu_source = LogitsAndEmbeddings(module), LogitsAndEmbeddings(cpu_source)
        runner = ModelRunner(module, self.device, tell, cpu_source=cpu_source)
        frontend = ResilientLogMel(self.logmel, self.device, runner)
        scorer = self._scorer(runner, module)
        n_labels = len(self.model.labels)
        embedded: list[np.ndarray] = []

        def window_probs(window_out: torch.Tensor) -> np.ndarray:
            if self.embeddings and window_out.numel():
                embedded.append(window_out[:, n_labels:].to(torch.float16).cpu().numpy())
                window_out = window_out[:, :n_labels]
            return self._probs(window_out)

        times: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        total_in = max(1, int(round(info.duration * params.sample_rate)))
        consumed = 0
        delivered = 0  # activity rows so far

        def deliver(new_rows: np.ndarray) -> None:
            nonlocal delivered
            if len(new_rows) == 0:
                return
            # Only the new bins' times: a slice of all the file's times would keep that whole array alive
            # in every chunk, memory growing with the square of the length (700 MB for 10 hours).
            t = bin_times(len(new_rows), self.hop, first=delivered)
            delivered += len(new_rows)
            rows.append(new_rows)
            times.append(t)
            if on_chunk is not None:
                on_chunk(ActivityChunk(t, new_rows, min(info.duration, consumed / params.sample_rate), info.duration))

        def check_cancel() -> None:
            if should_cancel is not None and should_cancel():
                raise Cancelled(f"analysis of {info.path} cancelled")

        pace = Pace()
        loudest = 0.0  # the recording's peak: a silent file is told, not named
        levels = BinLevels(max(1, round(self.hop * params.sample_rate)))  # each bin's, for the file's scores

        def features():
            nonlocal loudest
            # Decoding and resampling run on the helper thread (in line for a recording of one block), the
            # model on this one, and the log-mel on the helper thread until it shows itself the slower (see
            # `Pace`); the log-mel streams, so it moves once, at a block's edge, and never back.
            # inference_mode is per thread.
            source = decoded if decoded is not None else iter_blocks(info.path, params.sample_rate,
                                                                     self.block_seconds)
            # Decoded ahead on a thread of its own, a compressed file keeps that thread busier than the
            # log-mel and model together: this thread then only passes blocks on (a FLAC hour about 6 %
            # faster than with three threads busy on two cores; a WAV 10 % slower, so Pace decides there).
            handed_over = decoded is not None and info.format in DEAR_TO_DECODE
            try:
                with torch.inference_mode():
                    for block in source:
                        if len(block):
                            loudest = max(loudest, float(np.abs(block).max()))
                            levels.push(block)
                        handed_over = handed_over or (overlap and pace.decoder_is_slower())
                        if handed_over:
                            yield len(block), block
                            continue
                        began = time.perf_counter()
                        pieces = list(frontend.push(block))  # timed apart from waits on a full queue
                        pace.log_mel(len(block), time.perf_counter() - began)
                        yield from pieces
            finally:
                source.close()

        # Cancel is looked at before each block and while waiting for a slow decoder. A recording of one
        # block has nothing to overlap, and starting a thread per one-shot sample cost a sample library
        # more than it saved.
        overlap = self.overlap_decoding and info.duration > self.block_seconds
        blocks = Prefetch(features(), poll=check_cancel) if overlap else features()
        threads = torch.get_num_threads()
        if self.device.type == "cpu":
            # Leave one core to the decoding thread (or, without one, to the app's GUI): oversubscribed
            # OpenMP threads spin and stall.
            torch.set_num_threads(max(1, min(threads, (os.cpu_count() or 2) - 1)))
        try:
            with torch.inference_mode():
                try:
                    asked = time.perf_counter()
                    for n_samples, item in blocks:
                        pace.waited(n_samples, time.perf_counter() - asked)
                        check_cancel()
                        # A numpy block is audio whose log-mel the decoding thread handed to this one.
                        pieces = frontend.push(item) if isinstance(item, np.ndarray) else ((n_samples, item),)
                        for n, feats in pieces:
                            consumed += n
                            window_logits = scorer.push(feats)
                            deliver(aggregator.push(window_probs(window_logits)))
                            if progress is not None:
                                progress(min(1.0, consumed / total_in) * 0.999)
                        asked = time.perf_counter()
                    check_cancel()
                    deliver(aggregator.push(window_probs(scorer.finish()), final=True))
                finally:
                    # Inside this block: without a decoding thread, `features` runs on this thread within an
                    # inference_mode of its own, and closing it restores the mode it found, on. Closed after
                    # this block's exit (a cancel), it left inference mode on for the thread's next job: an
                    # app worker that then fitted an adapted head could not take a gradient.
                    blocks.close()
        finally:
            torch.set_num_threads(threads)
        if progress is not None:
            progress(1.0)
        silent = not loudest > SILENT_PEAK  # NaN samples read as silence too
        if silent:
            tell(f"it is silent (no sample above {20 * math.log10(SILENT_PEAK):.0f} dBFS, samples that are not "
                 "numbers counted as silence): no instrument to name")
        activity = np.concatenate(rows) if rows else np.zeros((0, len(self.model.labels)), np.float32)
        extra: dict = {"notices": notices, "silent": silent, "bin_levels": levels.rms(len(activity))}
        if self.embeddings:
            width = feature_width(self.model.module)
            extra["embeddings"] = np.concatenate(embedded) if embedded else np.zeros((0, width), np.float16)
        return AnalysisResult(
            file=str(info.path), duration=info.duration, sample_rate=info.sample_rate, model=self.model.name,
            labels=self.model.labels, hop=self.hop, window=self.model.window_seconds,
            times=np.concatenate(times) if times else np.zeros(0), activity=np.clip(activity, 0.0, 1.0),
            device=str(self.device), elapsed=time.perf_counter() - started, extra=extra,
        )
