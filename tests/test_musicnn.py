"""The musicnn port: checkpoint bundles read without TensorFlow, weights mapped into torch the TF way."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from training.musicnn import (
    BN_EPS,
    MusiCNN,
    MusicnnLogMel,
    linear_probe,
    read_checkpoint,
    slaney_mel_filters,
    state_from_checkpoint,
)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB table block with prefix-compressed keys and a single restart point."""
    out, previous = bytearray(), b""
    for key, value in entries:
        shared = 0
        while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
            shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    return bytes(out) + struct.pack("<II", 0, 1)


def _write_checkpoint(prefix: Path, tensors: dict[str, np.ndarray]) -> None:
    """The two files TensorFlow writes for a checkpoint, as TensorFlow lays them out."""
    data, entries = bytearray(), [(b"", _field(1, 1))]  # the bundle header comes first (empty key)
    for name in sorted(tensors):
        array = np.asarray(tensors[name], dtype=np.float32)
        shape = b"".join(_field(2, _field(1, d)) for d in array.shape)
        entry = _field(1, 1) + _field(2, shape) + _field(4, len(data)) + _field(5, array.nbytes)
        entries.append((name.encode(), entry))
        data += array.tobytes()
    table = bytearray()

    def add(block: bytes) -> bytes:
        handle = _varint(len(table)) + _varint(len(block))
        table.extend(block + b"\0" + b"\0\0\0\0")  # no compression; the checksum is not checked on reading
        return handle

    data_handle = add(_block(entries))
    meta_handle = add(_block([]))
    index_handle = add(_block([(entries[-1][0], data_handle)]))
    footer = (meta_handle + index_handle).ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(f"{prefix}.index").write_bytes(bytes(table) + footer)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))


def test_checkpoint_tensors_are_read_without_tensorflow(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {"conv2d/kernel": rng.normal(size=(7, 38, 1, 4)), "conv2d/bias": rng.normal(size=4),
               "conv2d_1/kernel": rng.normal(size=(3, 2)), "global_step": np.zeros(())}
    _write_checkpoint(tmp_path / "model", tensors)
    read = read_checkpoint(tmp_path / "model")
    assert set(read) == set(tensors)
    for name, array in tensors.items():
        assert read[name].shape == array.shape
        np.testing.assert_array_equal(read[name], array.astype(np.float32))
    (tmp_path / "bad.index").write_bytes(b"\0" * 64)
    (tmp_path / "bad.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(ValueError, match="not a checkpoint"):
        read_checkpoint(tmp_path / "bad")


def _tf_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random tensors named and shaped as in the musicnn MTT checkpoint."""
    tf: dict[str, np.ndarray] = {}
    norms = [1, 204, 204, 51, 51, 51, 64, 64, 64, 1506, 200]
    for i, n in enumerate(norms):
        name = "batch_normalization" if i == 0 else f"batch_normalization_{i}"
        tf |= {f"{name}/gamma": rng.uniform(0.5, 2, n), f"{name}/beta": rng.normal(size=n),
               f"{name}/moving_mean": rng.normal(size=n), f"{name}/moving_variance": rng.uniform(0.1, 3, n)}
    kernels = [(7, 38, 1, 204), (7, 67, 1, 204), (128, 1, 1, 51), (64, 1, 1, 51), (32, 1, 1, 51),
               (7, 561, 1, 64), (7, 64, 1, 64), (7, 64, 1, 64)]
    for i, shape in enumerate(kernels):
        name = "conv2d" if i == 0 else f"conv2d_{i}"
        tf |= {f"{name}/kernel": rng.normal(0, 0.05, shape), f"{name}/bias": rng.normal(size=shape[-1])}
    tf |= {"dense/kernel": rng.normal(0, 0.05, (1506, 200)), "dense/bias": rng.normal(size=200),
           "dense_1/kernel": rng.normal(0, 0.05, (200, 50)), "dense_1/bias": rng.normal(size=50)}
    return {k: v.astype(np.float32) for k, v in tf.items()}


def test_weights_map_onto_the_torch_layers_as_tensorflow_applies_them() -> None:
    rng = np.random.default_rng(1)
    tf = _tf_weights(rng)
    model = MusiCNN()
    model.load_state_dict(state_from_checkpoint(tf))  # strict: every parameter mapped, every shape right
    # A TF conv2d (NHWC, kernel (time, freq, in, out), 'valid') computed by hand, against the timbral layer.
    x = rng.normal(size=(10, 96)).astype(np.float32)
    kernel = tf["conv2d/kernel"][:, :, 0, :]
    by_hand = np.einsum("tfkw,kwo->tfo", sliding_window_view(x, (7, 38)), kernel) + tf["conv2d/bias"]
    with torch.no_grad():
        ours = model.timbral[0](torch.from_numpy(x)[None, None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, by_hand, atol=1e-4)
    # A batch norm folds to TF's inference formula.
    v = rng.normal(size=51).astype(np.float32)
    name = "batch_normalization_3"
    expected = ((v - tf[f"{name}/moving_mean"]) / np.sqrt(tf[f"{name}/moving_variance"] + BN_EPS)
                * tf[f"{name}/gamma"] + tf[f"{name}/beta"])
    with torch.no_grad():
        got = model.front_norms[2](torch.from_numpy(v)[None, :, None])[0, :, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # Whole network: any number of frames in, 753 features per frame, 50 tags and 200 hidden units out.
    with torch.no_grad():
        logmel = MusicnnLogMel()(torch.randn(2, 16000 * 3) * 0.1)
        assert logmel.shape == (2, 188, 96)
        assert model.features(logmel).shape == (2, 753, 188)
        tags, hidden = model(logmel)
    assert tags.shape == (2, 50) and hidden.shape == (2, 200) and torch.isfinite(tags).all()


def test_slaney_mel_filters_are_unit_area_triangles_on_slaneys_scale() -> None:
    filters = slaney_mel_filters()
    assert filters.shape == (96, 257) and (filters >= 0).all()
    bin_hz = 8000 / 256
    wide = np.count_nonzero(filters, axis=1) >= 6
    np.testing.assert_allclose(filters[wide].sum(axis=1) * bin_hz, 1.0, rtol=0.05)
    centres = (filters * np.arange(257)).sum(axis=1) / filters.sum(axis=1) * bin_hz
    assert np.all(np.diff(centres) > 0)
    low = centres[(centres > 200) & (centres < 900)]  # linear below 1 kHz: even spacing
    assert np.ptp(np.diff(low)) < 0.1 * np.mean(np.diff(low))
    high = centres[centres > 2000]  # logarithmic above: spacing grows with frequency
    assert np.diff(high)[-1] > 3 * np.diff(high)[0]


def test_linear_probe_separates_separable_features() -> None:
    rng = np.random.default_rng(2)
    means = rng.normal(0, 4, size=(3, 5))
    labels = np.repeat(np.arange(3), 40)
    train = means[labels] + rng.normal(size=(120, 5))
    val = means[labels] + rng.normal(size=(120, 5))
    assert np.mean(linear_probe(train, labels, val, 3) == labels) > 0.9


def test_zero_shot_names_the_label_whose_strongest_tag_is_highest() -> None:
    from training.musicnn import MTT_TAGS, ZERO_SHOT, zero_shot

    tags = np.full((3, len(MTT_TAGS)), -5.0)
    tags[0, MTT_TAGS.index("piano")] = 2.0
    tags[1, MTT_TAGS.index("strings")] = 1.0  # violin's second tag
    tags[1, MTT_TAGS.index("flute")] = 0.5
    tags[2, MTT_TAGS.index("woman")] = 3.0
    tags[2, MTT_TAGS.index("guitar")] = 9.0  # a tag of no label: ignored
    assert [list(ZERO_SHOT)[i] for i in zero_shot(tags)] == ["piano", "violin", "female singer"]
