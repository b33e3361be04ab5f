"""The project's model: what inference runs must equal what training learned, for every layout."""

import pytest
import torch

from studio_tagger.models import ActivityCNN
from studio_tagger.models.activity_cnn import LANE_BANDS, PairMax, band_means

LAYOUTS = {
    "default": {},
    "first release": {"stem_stride": (2, 2), "pools": ((2, 2), (2, 2), (1, 2))},
    "a lane taught from examples": {"head_bands": LANE_BANDS},
}


def _trained_looking(layout: dict) -> ActivityCNN:
    """Random weights and BatchNorm statistics far from the identity, as after training."""
    torch.manual_seed(0)
    model = ActivityCNN(**layout)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model.eval()


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_inference_copy_gives_the_trained_outputs(layout):
    model = _trained_looking(layout)
    fused = model.for_inference()
    # Folded norms, and ReLU moved after each max-pool: fewer layers, same numbers.
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(3, 598, 128)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), model(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_one_output_frame_per_time_stride(layout):
    model = _trained_looking(layout)
    assert model.time_stride == 8
    with torch.inference_mode():
        assert model(torch.randn(1, 800, 128)).shape == (1, 100, 8)


def test_pools_must_match_the_blocks():
    with pytest.raises(ValueError, match="one pool per block"):
        ActivityCNN(channels=(8, 16), pools=((2, 2), (2, 2)))


@pytest.mark.parametrize("pool", [(1, 1), (1, 2), (2, 1), (2, 2)])
@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (1, 4, 8, 6), (1, 2, 1, 3)])
def test_pair_max_equals_max_pool(pool, shape):
    x = torch.randn(shape).contiguous(memory_format=torch.channels_last)
    if shape[2] < pool[0] or shape[3] < pool[1]:  # too small: both refuse (the analyzer pads such input)
        for pool_op in (PairMax(pool), lambda t: torch.nn.functional.max_pool2d(t, pool)):
            with pytest.raises(RuntimeError):
                pool_op(x)
        return
    torch.testing.assert_close(PairMax(pool)(x), torch.nn.functional.max_pool2d(x, pool), atol=0, rtol=0)


def test_pair_max_refuses_larger_pools():
    with pytest.raises(ValueError, match="by 1 or 2"):
        PairMax((3, 1))


def test_band_features_are_the_last_blocks_means_over_equal_frequency_bands():
    h = torch.arange(2 * 3 * 5 * 8, dtype=torch.float32).reshape(2, 3, 5, 8)
    b = band_means(h, 4)
    assert b.shape == (2, 3 * 4, 5)
    # band k of channel c sits at k * channels + c and averages frequency rows 2k and 2k + 1
    torch.testing.assert_close(b[:, 2 * 3 + 1], h[:, 1, :, 4:6].mean(dim=2))
    with pytest.raises(ValueError, match="cannot make"):
        band_means(h, 9)


def test_a_head_reading_bands_reads_the_embedding_then_the_bands():
    model = _trained_looking({"head_bands": LANE_BANDS})
    x = torch.randn(1, 400, 128)
    with torch.inference_mode():
        e, b = model.embed_parts(x, LANE_BANDS)
        assert e.shape[1] == model.embed_width and b.shape[1] == model.band_channels * LANE_BANDS
        torch.testing.assert_close(model.embed(x), torch.cat([e, b], dim=1))
        assert model.head.in_channels == model.embed_width + model.band_channels * LANE_BANDS
        # The bands alone move the logits: zeroing their weights leaves the embedding's part.
        full = model(x)
        model.head.weight[:, model.embed_width:] = 0
        assert not torch.allclose(full, model(x))
    with pytest.raises(ValueError, match="head_bands"):
        ActivityCNN(head_bands=3)
