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
"""

from __future__ import annotations

import math

import torch

from ..features import FeatureParams


def silence_level(params: FeatureParams) -> float:
    """The normalised log-mel value of digital silence."""
    return (math.log(params.floor) - params.mean) / (2.0 * params.std)


def n_windows(n_frames: int, win: int, hop: int) -> int:
    """Windows needed so every frame is covered: at least one, the last may run past the end."""
    if n_frames <= win:
        return 1
    return 1 + math.ceil((n_frames - win) / hop)


class FrameWindowScorer:
    def __init__(
        self, module: torch.nn.Module, win: int, hop: int, device: torch.device, segment: int = 6000,
        margin: int = 64,
    ) -> None:
        self.module, self.win, self.hop, self.device = module, win, hop, device
        self.stride = int(module.time_stride)
        # Stretches start and end on the model's stride so pooling lines up with a whole-file run.
        self.segment = max(self.stride, segment // self.stride * self.stride)
        self.margin = math.ceil(margin / self.stride) * self.stride
        self._feats = torch.zeros(0, 0, device=device)  # frames not yet needed by any stretch
        self._feats_base = 0  # absolute index of _feats[0]
        self._scored = 0  # frames whose logits are known
        self._logits = torch.zeros(0, 0, device=device)  # per-frame logits from _logits_base on
        self._logits_base = 0
        self._next_window = 0
        self._total = 0

    def push(self, feats: torch.Tensor) -> torch.Tensor:
        self._append(feats)
        while self._total - self._scored >= self.segment + self.margin:
            self._score(self._scored + self.segment, final=False)
        return self._windows(final=False)

    def finish(self) -> torch.Tensor:
        if self._total > self._scored:
            self._score(self._total, final=True)
        return self._windows(final=True)

    def _append(self, feats: torch.Tensor) -> None:
        self._feats = feats if self._feats.numel() == 0 else torch.cat([self._feats, feats])
        self._total += len(feats)

    def _score(self, end: int, final: bool) -> None:
        """Logits for frames [_scored, end), computed on [start - margin, end + margin]."""
        start = self._scored
        lo = max(0, start - self.margin)
        hi = self._total if final else min(self._total, end + self.margin)
        x = self._feats[lo - self._feats_base : hi - self._feats_base]
        frame_logits = self.module(x.unsqueeze(0))[0]  # (model frames, labels)
        spread = frame_logits.repeat_interleave(self.stride, dim=0)
        # The model drops a tail shorter than its stride; the last logits stand in for those frames.
        if len(spread) < hi - lo:
            pad = spread[-1:] if len(spread) else torch.zeros(1, self._n_labels(), device=self.device)
            spread = torch.cat([spread, pad.expand(hi - lo - len(spread), -1)])
        new = spread[start - lo : end - lo]
        self._logits = new if self._logits.numel() == 0 else torch.cat([self._logits, new])
        self._scored = end
        keep_from = max(0, end - self.margin)
        self._feats = self._feats[keep_from - self._feats_base :]
        self._feats_base = keep_from

    def _n_labels(self) -> int:
        return int(self.module.head.out_channels)

    def _windows(self, final: bool) -> torch.Tensor:
        out = []
        n_total = n_windows(self._scored, self.win, self.hop) if final else None
        while True:
            k = self._next_window
            s, e = k * self.hop, k * self.hop + self.win
            if final:
                if k >= n_total:
                    break
                e = min(e, self._scored)
            elif e > self._scored:
                break
            seg = self._logits[s - self._logits_base : e - self._logits_base]
            out.append(seg.mean(dim=0) if len(seg) else self._logits[-1])
            self._next_window += 1
        drop = self._next_window * self.hop - self._logits_base
        if drop > 0 and not final:
            self._logits = self._logits[drop:]
            self._logits_base += drop
        return torch.stack(out) if out else torch.zeros(0, self._n_labels(), device=self.device)


class ClipWindowScorer:
    def __init__(
        self, module: torch.nn.Module, win: int, hop: int, device: torch.device, params: FeatureParams,
        batch: int = 64,
    ) -> None:
        self.module, self.win, self.hop, self.device, self.batch = module, win, hop, device, batch
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
        logits = [self._run(starts[i : i + self.batch]) for i in range(0, len(starts), self.batch)]
        self._next_window = k
        drop = k * self.hop - self._base
        if drop > 0:
            self._feats = self._feats[drop:]
            self._base += drop
        if not logits:
            return torch.zeros(0, 0, device=self.device)
        return torch.cat(logits)

    def _run(self, starts: list[int]) -> torch.Tensor:
        x = torch.stack([self._feats[s : s + self.win] for s in starts])
        return self.module(x)
