"""The torch front end must equal Hugging Face's ASTFeatureExtractor, and slicing must equal per-window."""

import numpy as np
import pytest
import torch
from transformers import ASTFeatureExtractor

from studio_tagger.features import FeatureParams, LogMel, StreamingLogMel, window_frames


def _reference(x: np.ndarray) -> np.ndarray:
    fe = ASTFeatureExtractor(max_length=window_frames(len(x) / 16000))
    return fe(x, sampling_rate=16000, return_tensors="np")["input_values"][0]


@pytest.mark.parametrize("kind", ["noise", "tone", "dc_and_chirp", "quiet"])
def test_matches_ast_feature_extractor(kind):
    rng = np.random.default_rng(1)
    t = np.arange(32000) / 16000
    x = {
        "noise": 0.1 * rng.standard_normal(32000),
        "tone": 0.5 * np.sin(2 * np.pi * 440 * t),
        "dc_and_chirp": 0.3 + 0.4 * np.sin(2 * np.pi * (200 + 1500 * t) * t),
        "quiet": 1e-4 * rng.standard_normal(32000),
    }[kind].astype(np.float32)
    ours = LogMel()(torch.from_numpy(x)).numpy()
    ref = _reference(x)
    assert ours.shape == ref.shape == (198, 128)
    # float32 here against float64 there: differences stay three orders below the feature scale (~1).
    assert np.abs(ours - ref).max() < 1e-3


def test_whole_recording_slices_equal_per_window_extraction():
    rng = np.random.default_rng(2)
    x = (0.2 * rng.standard_normal(16000 * 7)).astype(np.float32)
    whole = LogMel()(torch.from_numpy(x)).numpy()
    hop = 8000  # 0.5 s: a whole number of 160-sample frame shifts
    for k in range(0, 10):
        window = x[k * hop : k * hop + 32000]
        sliced = whole[k * 50 : k * 50 + 198]
        assert np.abs(sliced - _reference(window)).max() < 2e-4


def test_streaming_equals_one_pass_for_any_block_sizes():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(50_000).astype(np.float32)
    stream = StreamingLogMel(LogMel())
    cuts = [0, 1, 399, 400, 561, 10_000, 10_001, 33_333, 50_000]
    parts = [stream.push(x[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    torch.testing.assert_close(torch.cat(parts), LogMel()(torch.from_numpy(x)), atol=1e-5, rtol=0)
    assert stream.frames_done == FeatureParams().frames_in(len(x))


def test_frame_count_follows_kaldi_snip_edges():
    p = FeatureParams()
    assert p.frames_in(399) == 0 and p.frames_in(400) == 1 and p.frames_in(560) == 2
    assert window_frames(2.0) == 198


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matches_cpu():
    x = torch.randn(48000)
    cpu = LogMel()(x)
    gpu = LogMel().cuda()(x.cuda()).cpu()
    assert (cpu - gpu).abs().max() < 1e-3
