"""Window means of a frame model's outputs: streamed in stretches and blocks, they equal the means over
the whole recording's frames, each model frame standing for ``stride`` input frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio_tagger.analysis.windows import FrameWindowScorer, n_windows, strided_window_means, window_means


class StrideMeans(torch.nn.Module):
    """A frame model without learning: each model frame is the mean of its 8 input frames and their
    squares, dropping a tail shorter than 8 (as the network's pooling does)."""

    kind = "frames"
    time_stride = 8
    n_outputs = 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1] // 8 * 8
        m = x[:, :t].reshape(x.shape[0], t // 8, 8, x.shape[2]).mean(dim=2)
        return torch.cat([m, m * m], dim=2)


def _reference(feats: torch.Tensor, win: int, hop: int) -> torch.Tensor:
    frames = StrideMeans()(feats.unsqueeze(0))[0]
    spread = frames.repeat_interleave(8, dim=0)
    spread = torch.cat([spread, spread[-1:].expand(len(feats) - len(spread), -1)])
    starts = torch.arange(n_windows(len(feats), win, hop)) * hop
    return window_means(spread, starts, win)


@pytest.mark.parametrize("n_frames", [3001, 2400, 205])
@pytest.mark.parametrize("segment", [6000, 400, 96])
def test_streamed_window_means_equal_the_whole_recordings(n_frames, segment):
    rng = np.random.default_rng(n_frames + segment)
    feats = torch.as_tensor(rng.standard_normal((n_frames, 3)), dtype=torch.float32)
    scorer = FrameWindowScorer(StrideMeans(), win=200, hop=50, device=torch.device("cpu"), segment=segment,
                               margin=0)
    out, done = [], 0
    while done < n_frames:  # blocks of uneven lengths, as decoding gives them
        step = int(rng.integers(1, 700))
        out.append(scorer.push(feats[done:done + step]))
        done += step
    out.append(scorer.finish())
    torch.testing.assert_close(torch.cat(out), _reference(feats, 200, 50), atol=1e-6, rtol=1e-6)


def test_part_covered_model_frames_count_by_their_share():
    frames = torch.tensor([[1.0], [2.0], [4.0]])
    # input frames [3, 10) at a stride of 4: model frame 0 covers one of them, frame 1 four, frame 2 two
    got = strided_window_means(frames, 0, 4, torch.tensor([3]), torch.tensor([10]))
    assert got.item() == pytest.approx((1 * 1.0 + 4 * 2.0 + 2 * 4.0) / 7)
    # an offset buffer (model frames before 1 dropped) gives the same
    assert strided_window_means(frames[1:], 1, 4, torch.tensor([5]), torch.tensor([12])).item() == pytest.approx(
        (3 * 2.0 + 4 * 4.0) / 7)
