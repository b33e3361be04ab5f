"""From log-mel frames to one score vector per analysis window, streamed.

Windows are `win` feature frames long and start every `hop` frames. Two ways to score them:

* `FrameWindowScorer`, for fully convolutional models: the model runs once over long stretches of
  frames (with a margin on each side so stretch boundaries leave no seam), its logits are spread back
  to 10 ms resolution, and each window's logit is the mean over the window. Overlapping windows share
  all their computation.
* `ClipWindowScorer`, for models that take one fixed-size window (the paper's CNN and AST): windows are
  cut from the frame stream and batched.

Both take frames as they arrive and return the window logits that became complete, in order; the
window after the last full one covers what remains (the valid part for the frame model, padded with
silence for clip models).

Out of GPU memory, a scorer does not give up: it retries the same step in smaller pieces (shorter
stretches, smaller batches) and, below a floor, has its `ModelRunner` carry on on the CPU. Each step
is redone from its inputs, so nothing is skipped or scored twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..features import FeatureParams
from .device import place_module

MIN_STRETCH_FRAMES = 256  # shortest frame-model stretch tried on a GPU before falling back to the CPU


class ModelRunner:
    """Calls the model; after out-of-memory errors that smaller pieces did not cure, calls a CPU copy.

    Inputs and outputs stay on the analysis device either way, so the scorers never notice the move.
    ``notice`` gets one line for the user each time the runner changes how it works.
    """

    def __init__(self, module: torch.nn.Module, device: torch.device,
                 notice: Callable[[str], None] | None = None, cpu_source: torch.nn.Module | None = None) -> None:
        """``cpu_source``: the model as loaded (on the CPU), which the CPU copy is made from; copying the
        device's module would need GPU memory, the one thing there is none of."""
        self.module, self.device = module, device
        self.notice = notice or (lambda text: None)
        self.cpu_source = cpu_source if cpu_source is not None else module
        self._cpu_module: torch.nn.Module | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._cpu_module is not None:
            return self._cpu_module(x.cpu()).to(x.device)
        return self.module(x)

    def out_of_memory(self, retry_with: str | None) -> None:
        """After an OutOfMemoryError (handled, so its traceback no longer holds tensors): free the
        allocator's cache, then either retry with ``retry_with`` (smaller pieces) or move to the CPU."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if retry_with is not None:
            self.notice(f"GPU out of memory; retrying with {retry_with}")
            return
        if self._cpu_module is not None:
            raise torch.OutOfMemoryError("out of memory on the CPU as well")
        self._cpu_module = place_module(self.cpu_source, torch.device("cpu"), fresh_copy=True)
        self.notice("GPU out of memory even in small pieces; continuing on the CPU (slower)")


def silence_level(params: FeatureParams) -> float:
    """The normalised log-mel value of digital silence."""
    return (math.log(params.floor) - params.mean) / (2.0 * params.std)


def n_windows(n_frames: int, win: int, hop: int) -> int:
    """Windows needed so every frame is covered: at least one, the last may run past the end."""
    if n_frames <= win:
        return 1
    return 1 + math.ceil((n_frames - win) / hop)


def window_means(logits: torch.Tensor, starts: torch.Tensor, win: int) -> torch.Tensor:
    """Mean of per-frame ``logits`` (..., frames, labels) over each window [s, s + win), cut at the last
    frame: (..., windows, labels). One cumulative sum (in float64, so long stretches lose no precision)
    serves every window."""
    frames = logits.shape[-2]
    cum = torch.cat([torch.zeros_like(logits.narrow(-2, 0, 1)), logits], dim=-2).double().cumsum(dim=-2)
    ends = (starts + win).clamp_max(frames)
    sums = cum.index_select(-2, ends) - cum.index_select(-2, starts)
    return (sums / (ends - starts).to(sums.dtype).unsqueeze(-1)).to(logits.dtype)


def strided_window_means(frames: torch.Tensor, first: int, stride: int, starts: torch.Tensor,
                         ends: torch.Tensor) -> torch.Tensor:
    """`window_means` of ``frames`` (model frames, outputs) each repeated ``stride`` times, without
    repeating them: window [s, e) (in input frames; model frame k covers [k * stride, (k + 1) * stride))
    takes its whole model frames from one cumulative sum (float64) and its two part-covered ones by the
    share they cover. ``first``: the model frame ``frames[0]`` is; ``starts``, ``ends``: absolute."""
    cum = torch.cat([torch.zeros_like(frames[:1]), frames], dim=0).double().cumsum(dim=0)
    padded = torch.cat([frames, torch.zeros_like(frames[:1])], dim=0).double()

    def prefix(t: torch.Tensor) -> torch.Tensor:  # sum over input frames [first * stride, t)
        k = torch.div(t, stride, rounding_mode="floor") - first
        part = (t - (k + first) * stride).to(torch.float64).unsqueeze(-1)
        return stride * cum.index_select(0, k) + part * padded.index_select(0, k)

    sums = prefix(ends) - prefix(starts)
    return (sums / (ends - starts).to(sums.dtype).unsqueeze(-1)).to(frames.dtype)


class FrameWindowScorer:
    def __init__(
        self, module: torch.nn.Module, win: int, hop: int, device: torch.device, segment: int = 6000,
        margin: int = 64, runner: ModelRunner | None = None, silence: float = 0.0,
    ) -> None:
        self.module, self.win, self.hop, self.device, self.silence = module, win, hop, device, silence
        self.run = runner or ModelRunner(module, device)
        self.stride = int(module.time_stride)
        # Stretches start and end on the model's stride so pooling lines up with a whole-file run.
        self.segment = max(self.stride, segment // self.stride * self.stride)
        self.margin = math.ceil(margin / self.stride) * self.stride
        self._feats = torch.zeros(0, 0, device=device)  # frames not yet needed by any stretch
        self._feats_base = 0  # absolute index of _feats[0]
        self._scored = 0  # frames whose logits are known
        # The model's logits, one row per model frame (``stride`` input frames), from model frame
        # _logits_base on; the last row of a recording stands in for a tail shorter than the stride.
        # Kept per model frame, not repeated per input frame: with the embeddings the analyzer keeps for
        # adapting, repeating them made the app's analysis a quarter slower.
        self._logits = torch.zeros(0, 0, device=device)
        self._logits_base = 0
        self._next_window = 0
        self._total = 0

    def push(self, feats: torch.Tensor) -> torch.Tensor:
        self._append(feats)
        while self._total - self._scored >= self.segment + self.margin:
            self._score(self._scored + self.segment, final=False)
        return self._windows(final=False)

    def finish(self) -> torch.Tensor:
        while self._total > self._scored:
            if self._total - self._scored >= self.segment + self.margin:  # only after out-of-memory shrinks
                self._score(self._scored + self.segment, final=False)
            else:
                self._score(self._total, final=True)
        return self._windows(final=True)

    def _append(self, feats: torch.Tensor) -> None:
        self._feats = feats if self._feats.numel() == 0 else torch.cat([self._feats, feats])
        self._total += len(feats)

    def _score(self, end: int, final: bool) -> None:
        """Logits for frames [_scored, end), computed on [start - margin, end + margin].

        Out of memory, it shortens the stretches (or moves the model to the CPU) and returns without
        scoring; the caller's loop then asks again."""
        start = self._scored
        lo = max(0, start - self.margin)
        hi = self._total if final else min(self._total, end + self.margin)
        x = self._feats[lo - self._feats_base : hi - self._feats_base]
        frame_logits = self._model_frames(x)  # (model frames, labels)
        if frame_logits is None:
            shorter = (min(self.segment, end - start) // 2) // self.stride * self.stride
            if shorter >= MIN_STRETCH_FRAMES:
                self.segment = shorter
                self.run.out_of_memory(f"stretches of {shorter / 100:g} s")
            else:
                self.run.out_of_memory(None)
            return
        # [start, end) in model frames; start and lo lie on the stride, end does too but at the file's end.
        first, count = (start - lo) // self.stride, -(-(end - start) // self.stride)
        # The model drops a tail shorter than its stride; the last logits stand in for those frames.
        if len(frame_logits) < first + count:
            pad = frame_logits[-1:] if len(frame_logits) else torch.zeros(1, self._n_labels(), device=self.device)
            frame_logits = torch.cat([frame_logits, pad.expand(first + count - len(frame_logits), -1)])
        new = frame_logits[first : first + count]
        self._logits = new if self._logits.numel() == 0 else torch.cat([self._logits, new])
        self._scored = end
        keep_from = max(0, end - self.margin)
        self._feats = self._feats[keep_from - self._feats_base :]
        self._feats_base = keep_from

    def _model_frames(self, x: torch.Tensor) -> torch.Tensor | None:
        """The model's logits over a stretch of frames; None when out of memory."""
        try:
            return self.run(x.unsqueeze(0))[0]
        except torch.OutOfMemoryError:
            return None
        except RuntimeError:
            if len(x) >= self.win:
                raise
        # A recording of a few tens of milliseconds is too short for the model's pooling: padded with
        # silence to one window (which the model is known to take), its frames come first in the output.
        pad = torch.full((self.win - len(x), x.shape[1]), self.silence, device=x.device, dtype=x.dtype)
        return self.run(torch.cat([x, pad]).unsqueeze(0))[0]

    def _n_labels(self) -> int:
        # A module that returns more than its head's scores per frame (embeddings too) says how many.
        return int(getattr(self.module, "n_outputs", 0) or self.module.head.out_channels)

    def _windows(self, final: bool) -> torch.Tensor:
        first = self._next_window
        if final:
            stop = n_windows(self._scored, self.win, self.hop)
        else:  # only windows that lie wholly in the scored frames
            stop = max(first, (self._scored - self.win) // self.hop + 1 if self._scored >= self.win else 0)
        if stop == first:
            return torch.zeros(0, self._n_labels(), device=self.device)
        starts = torch.arange(first, stop, device=self.device) * self.hop
        ends = (starts + self.win).clamp_max(self._scored)  # cut at the last frame
        out = strided_window_means(self._logits, self._logits_base, self.stride, starts, ends)
        self._next_window = stop
        drop = stop * self.hop // self.stride - self._logits_base  # model frames before the next window
        if drop > 0 and not final:
            self._logits = self._logits[drop:]
            self._logits_base += drop
        return out


class ClipWindowScorer:
    def __init__(
        self, module: torch.nn.Module, win: int, hop: int, device: torch.device, params: FeatureParams,
        batch: int = 64, runner: ModelRunner | None = None,
    ) -> None:
        self.module, self.win, self.hop, self.device, self.batch = module, win, hop, device, batch
        self.run = runner or ModelRunner(module, device)
        self.silence = silence_level(params)
        self.n_mels = params.n_mels
        self._feats = torch.zeros(0, params.n_mels, device=device)
        self._base = 0
        self._next_window = 0
        self._total = 0

    def push(self, feats: torch.Tensor) -> torch.Tensor:
        self._feats = torch.cat([self._feats, feats])
        self._total += len(feats)
        return self._windows(final=False)

    def finish(self) -> torch.Tensor:
        return self._windows(final=True)

    def _windows(self, final: bool) -> torch.Tensor:
        stop = n_windows(self._total, self.win, self.hop) if final else None
        starts = []
        k = self._next_window
        while (k < stop) if final else (k * self.hop + self.win <= self._total):
            starts.append(k * self.hop - self._base)
            k += 1
        if final:
            need = (starts[-1] + self.win) if starts else 0
            if need > len(self._feats):
                pad = torch.full((need - len(self._feats), self.n_mels), self.silence, device=self.device)
                self._feats = torch.cat([self._feats, pad])
        logits = []
        done = 0
        while done < len(starts):
            scored = self._run(starts[done : done + self.batch])
            if scored is not None:  # None: out of memory; retry with what _run changed
                logits.append(scored)
                done += len(scored)
        self._next_window = k
        drop = k * self.hop - self._base
        if drop > 0:
            self._feats = self._feats[drop:]
            self._base += drop
        if not logits:
            return torch.zeros(0, 0, device=self.device)
        return torch.cat(logits)

    def _run(self, starts: list[int]) -> torch.Tensor | None:
        x = torch.stack([self._feats[s : s + self.win] for s in starts])
        try:
            return self.run(x)
        except torch.OutOfMemoryError:
            pass
        del x  # the handled error's traceback is gone; now its memory can go too
        if len(starts) > 1:
            self.batch = len(starts) // 2
            self.run.out_of_memory(f"batches of {self.batch} windows")
        else:
            self.run.out_of_memory(None)
        return None
