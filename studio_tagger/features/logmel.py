"""The log-mel front end of Hugging Face's ``ASTFeatureExtractor``, in torch, on CPU or GPU.

It is Kaldi's fbank: 25 ms frames every 10 ms at 16 kHz with no edge padding, DC removal, 0.97
pre-emphasis, a symmetric Hann window, a 512-point power spectrum, 128 triangular mel filters laid out
on Kaldi's mel scale from 20 Hz to Nyquist, natural log with a float32-epsilon floor, then the AudioSet
mean/std normalisation. Every frame depends only on its own 400 samples, so features computed once over
a whole recording and sliced equal features computed per window; `StreamingLogMel` exploits that.
"""

from __future__ import annotations

import numpy as np
import torch

from .params import FeatureParams, mel_filters, seconds_to_frames, window_frames

__all__ = ["FeatureParams", "LogMel", "StreamingLogMel", "mel_filters", "seconds_to_frames", "window_frames"]


class LogMel(torch.nn.Module):
    """Waveform (..., samples) at 16 kHz -> normalised log-mel (..., frames, n_mels)."""

    def __init__(self, params: FeatureParams | None = None) -> None:
        super().__init__()
        self.params = params or FeatureParams()
        p = self.params
        window = torch.hann_window(p.frame_length, periodic=False, dtype=torch.float64)
        # Kaldi's symmetric Hann window is zero at the first sample of a frame, the one sample where its
        # per-frame pre-emphasis differs from emphasising the whole signal once: forward() relies on it.
        padded = torch.nn.functional.pad(window, (0, p.n_fft - p.frame_length))
        self.register_buffer("window", padded.float(), persistent=False)
        self.register_buffer("window_spectrum", torch.fft.rfft(padded).to(torch.complex64), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filters(p)).float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        p = self.params
        n = p.frames_in(wave.shape[-1])
        if n == 0:
            return wave.new_zeros(*wave.shape[:-1], 0, p.n_mels)
        # Kaldi removes each frame's mean, pre-emphasises inside the frame, then windows. All three are
        # linear, so the per-frame work shrinks to one multiply: the signal is pre-emphasised once, framed
        # 512 wide (the window is zero past sample 400, so no padding copy before the FFT), and each
        # frame's mean comes off in the spectrum, as the mean times the spectrum of the window. Less than
        # half the time of framing first, on the thread that also decodes.
        emphasised = wave.new_zeros(*wave.shape[:-1], wave.shape[-1] + p.n_fft - p.frame_length)
        emphasised[..., 1 : wave.shape[-1]] = wave[..., 1:] - p.preemphasis * wave[..., :-1]
        frames = emphasised.unfold(-1, p.n_fft, p.frame_shift)[..., :n, :]
        spectrum = torch.fft.rfft(frames * self.window)
        dc = (1.0 - p.preemphasis) * wave.unfold(-1, p.frame_length, p.frame_shift).mean(dim=-1, keepdim=True)
        real = torch.addcmul(spectrum.real, dc, self.window_spectrum.real, value=-1.0)
        imag = torch.addcmul(spectrum.imag, dc, self.window_spectrum.imag, value=-1.0)
        power = real.square_().add_(imag.square_())
        mel = (power @ self.filters).clamp_min_(p.floor).log_()
        return mel.sub_(p.mean).div_(2.0 * p.std)


class StreamingLogMel:
    """Feeds audio blocks of any size, returns the frames they complete.

    Frames are exactly those of `LogMel` over the concatenated audio: leftover samples that do not yet
    fill a frame (and the 240-sample overlap into the next one) are carried to the next call.
    """

    def __init__(self, logmel: LogMel, device: torch.device | str = "cpu") -> None:
        self.logmel = logmel
        self.device = torch.device(device)
        self._carry = torch.zeros(0, device=self.device)
        self.frames_done = 0

    def push(self, block: np.ndarray | torch.Tensor) -> torch.Tensor:
        p = self.logmel.params
        block = torch.as_tensor(block, dtype=torch.float32).to(self.device)
        buf = torch.cat([self._carry, block]) if len(self._carry) else block
        n = p.frames_in(len(buf))
        if n == 0:
            self._carry = buf
            return torch.zeros(0, p.n_mels, device=self.device)
        used = n * p.frame_shift
        feats = self.logmel(buf[: (n - 1) * p.frame_shift + p.frame_length])
        self._carry = buf[used:]
        self.frames_done += n
        return feats

    def moved_to(self, logmel: LogMel, device: torch.device | str) -> StreamingLogMel:
        """The same stream (samples carried over included) continued with ``logmel`` on ``device``."""
        moved = StreamingLogMel(logmel, device)
        moved._carry = self._carry.to(moved.device)
        moved.frames_done = self.frames_done
        return moved
