"""The musicnn tagger's weights (trained on real music) in torch, and a probe of what they know here.

    pip download musicnn==0.1.0 --no-deps -d WHEELS && unzip WHEELS/musicnn-0.1.0-py3-none-any.whl -d WHEELS
    python -m training.musicnn convert --checkpoint WHEELS/musicnn/MTT_musicnn \
        --out runs/musicnn-mtt.safetensors
    python -m training.musicnn probe --weights runs/musicnn-mtt.safetensors --root DIR --train fluid --val gm6
    python -m training.musicnn zeroshot --weights runs/musicnn-mtt.safetensors --root DIR --subsets FreePats

The `musicnn` wheel (Pons & Serra) ships TensorFlow 1 checkpoints of taggers trained on MagnaTagATune and
the Million Song Dataset. ``convert`` is the one-off conversion: it reads the checkpoint's tensor bundle
directly (a LevelDB-format table of names, shapes and byte offsets, next to one raw data file), so no
TensorFlow is needed anywhere, and writes the weights as safetensors. `MusiCNN` is the musicnn architecture
in torch (front end of "timbral" filters spanning 38 and 67 of 96 mel bands and "temporal" filters of
32-128 frames, a residual 1-D mid end, mean+max pooled back end), on its own log-mel (`musicnn_logmel`:
16 kHz, 512-point FFT, hop 256, 96 Slaney mel bands, log10(1 + 10^4 x), like the librosa call it was
trained on).

``probe`` asks whether that real-music knowledge bridges the gap between SoundFont families: it embeds
clips of a training and a validation selection with the frozen network (the 1,506 pooled mid-end
features, the 200-unit penultimate layer, the 50 tag logits), fits a linear classifier on the first and
reports accuracy on the second, per label. On the fluid -> gm6 split it reaches 66-67 %, no better
than the project's own CNN (see the README), so the shipped model does not use it; the code stays so
the experiment can be rerun and extended (fine-tuning needs far more than a 2-core CPU: ~0.05 s per
clip forward alone).
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
BN_EPS = 1e-3
"""TensorFlow 1's `batch_normalization` default."""
MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
    "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
    "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
    "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)
"""The MagnaTagATune model's 50 outputs, in order (from the paper's tag list)."""

_TABLE_MAGIC = 0xDB4775248B80FB57
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}


# -- the checkpoint bundle -------------------------------------------------------------------------------

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of one table block: prefix-compressed keys, then restart offsets we do not need."""
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    i, key = 0, b""
    while i < end:
        shared, i = _varint(block, i)
        unshared, i = _varint(block, i)
        size, i = _varint(block, i)
        key = key[:shared] + block[i: i + unshared]
        i += unshared
        yield key, block[i: i + size]
        i += size


def _block(table: bytes, handle: bytes) -> bytes:
    offset, i = _varint(handle, 0)
    size, _ = _varint(handle, i)
    if table[offset + size] != 0:  # the byte after a block names its compression
        raise ValueError("compressed checkpoint index blocks are not supported")
    return table[offset: offset + size]


def _fields(message: bytes) -> dict[int, list]:
    """A protobuf message's fields by number (varints as ints, everything else as bytes)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(message):
        tag, i = _varint(message, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(message, i)
        elif wire == 2:
            size, i = _varint(message, i)
            value, i = message[i: i + size], i + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, i = message[i: i + width], i + width
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a TensorFlow checkpoint (``prefix.index`` + ``prefix.data-00000-of-00001``).

    The index is a LevelDB table mapping tensor names to BundleEntryProto messages (dtype = field 1,
    shape = 2, offset = 4, size = 5); the data file holds the raw little-endian tensors.
    """
    index = Path(f"{prefix}.index").read_bytes()
    data = Path(f"{prefix}.data-00000-of-00001").read_bytes()
    footer = index[-48:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise ValueError(f"{prefix}.index is not a checkpoint index")
    _, i = _varint(footer, 0)  # the metaindex handle, unused
    _, i = _varint(footer, i)
    index_handle = footer[i:]
    tensors = {}
    for _, handle in _block_entries(_block(index, index_handle)):
        for name, entry in _block_entries(_block(index, handle)):
            if not name:  # the bundle header
                continue
            f = _fields(entry)
            dtype = _DTYPES.get(f.get(1, [1])[0])
            if dtype is None:
                continue  # strings and other types are bookkeeping, not weights
            dims = _fields(f[2][0]).get(2, []) if 2 in f else []
            shape = [_fields(d).get(1, [0])[0] for d in dims]
            offset, size = f.get(4, [0])[0], f.get(5, [0])[0]
            raw = np.frombuffer(data[offset: offset + size], dtype=dtype)
            tensors[name.decode()] = raw.reshape(shape).copy()
    return tensors


# -- features --------------------------------------------------------------------------------------------

def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's scale: linear to 1 kHz, logarithmic above (librosa's default)."""
    hz = np.asarray(hz, dtype=float)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, hz / (200.0 / 3))


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=float)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def slaney_mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangles on Slaney's scale, each of unit area (Slaney normalisation)."""
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(rate / 2)), n_mels + 2))
    rising = (freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - freqs[None, :]) / np.diff(edges)[1:, None]
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return (triangles * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


class MusicnnLogMel(nn.Module):
    """(batch, samples) at 16 kHz -> (batch, frames, 96) musicnn input; centred frames, reflect padding."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)
        self.register_buffer("mel", torch.from_numpy(slaney_mel_filters()), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=True, pad_mode="reflect",
                          return_complex=True)
        power = spec.real**2 + spec.imag**2
        return torch.log10(1.0 + 10_000.0 * torch.einsum("mf,bft->btm", self.mel, power))


# -- the network -----------------------------------------------------------------------------------------

class Affine(nn.Module):
    """An inference-time batch norm (TensorFlow's, folded to a scale and a shift) on dimension 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape) + self.shift.view(shape)


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: the odd sample goes after."""
    return (kernel - 1) // 2, kernel // 2


class MusiCNN(nn.Module):
    """musicnn (the MTT/MSD models: 1.6x front end, 64-filter mid end, 200-unit back end) in torch.

    The layout follows the original graph: each convolution is followed by a ReLU and then the batch norm;
    front-end maps are max-pooled over all frequencies; the mid end's outputs are concatenated with the
    front end's (753 channels) and pooled over time as interleaved (max, mean) pairs.
    """

    TIMBRAL = (38, 67)
    """Frequency extents (0.4 and 0.7 of 96 bands) of the two 7-frame timbral filter banks."""
    TEMPORAL = (128, 64, 32)

    def __init__(self, n_tags: int = 50, frontend: int = 204, temporal: int = 51, midend: int = 64,
                 backend: int = 200) -> None:
        super().__init__()
        self.input_norm = Affine(1)
        self.timbral = nn.ModuleList(nn.Conv2d(1, frontend, (7, w)) for w in self.TIMBRAL)
        self.temporal = nn.ModuleList(nn.Conv2d(1, temporal, (k, 1)) for k in self.TEMPORAL)
        self.front_norms = nn.ModuleList(Affine(frontend) for _ in self.TIMBRAL)
        self.front_norms.extend(Affine(temporal) for _ in self.TEMPORAL)
        front = frontend * len(self.TIMBRAL) + temporal * len(self.TEMPORAL)
        self.mid = nn.ModuleList([nn.Conv1d(front, midend, 7), nn.Conv1d(midend, midend, 7),
                                  nn.Conv1d(midend, midend, 7)])
        self.mid_norms = nn.ModuleList(Affine(midend) for _ in range(3))
        self.n_features = front + 3 * midend
        self.pool_norm = Affine(2 * self.n_features)
        self.dense = nn.Linear(2 * self.n_features, backend)
        self.dense_norm = Affine(backend)
        self.tags = nn.Linear(backend, n_tags)

    def features(self, logmel: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 96) -> (batch, 753, frames): front- and mid-end features per frame."""
        x = self.input_norm(logmel.unsqueeze(1))
        maps = []
        convs = [*self.timbral, *self.temporal]
        for conv, norm in zip(convs, self.front_norms, strict=True):
            # Timbral filters see 3 frames either side ('same' in time, 'valid' in frequency); temporal
            # ones are 'same' in time as TensorFlow pads it.
            time_pad = (3, 3) if conv in self.timbral else _same_pad(conv.kernel_size[0])
            maps.append(norm(F.relu(conv(F.pad(x, (0, 0, *time_pad))))).amax(dim=3))
        layers = [torch.cat(maps, dim=1)]
        for i, (conv, norm) in enumerate(zip(self.mid, self.mid_norms, strict=True)):
            out = norm(F.relu(conv(F.pad(layers[-1], (3, 3)))))
            layers.append(out if i == 0 else out + layers[-1])
        return torch.cat(layers, dim=1)

    def pooled(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, 753, frames) -> (batch, 1506): per feature its max and its mean over time, interleaved."""
        return torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)

    def head(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, 1506) pooled features -> (tag logits, penultimate 200-unit layer)."""
        hidden = self.dense_norm(F.relu(self.dense(self.pool_norm(pooled))))
        return self.tags(hidden), hidden

    def forward(self, logmel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(tag logits, penultimate 200-unit layer)."""
        return self.head(self.pooled(self.features(logmel)))


def _fold(tf: dict[str, np.ndarray], name: str) -> dict[str, torch.Tensor]:
    gamma, beta = tf[f"{name}/gamma"], tf[f"{name}/beta"]
    mean, var = tf[f"{name}/moving_mean"], tf[f"{name}/moving_variance"]
    scale = gamma / np.sqrt(var + BN_EPS)
    return {"scale": torch.from_numpy(scale), "shift": torch.from_numpy(beta - mean * scale)}


def state_from_checkpoint(tf: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """`MusiCNN`'s state dict from the TF checkpoint's tensors (layers named in graph-construction order)."""
    def conv2d(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        name = "conv2d" if i == 0 else f"conv2d_{i}"
        kernel = tf[f"{name}/kernel"]  # (time, freq, in, out)
        return torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()), torch.from_numpy(tf[f"{name}/bias"])

    state: dict[str, torch.Tensor] = {}
    norms = ["input_norm"] + [f"front_norms.{i}" for i in range(5)] + [f"mid_norms.{i}" for i in range(3)]
    norms += ["pool_norm", "dense_norm"]
    for i, module in enumerate(norms):
        name = "batch_normalization" if i == 0 else f"batch_normalization_{i}"
        state.update({f"{module}.{k}": v for k, v in _fold(tf, name).items()})
    convs = [f"timbral.{i}" for i in range(2)] + [f"temporal.{i}" for i in range(3)]
    for i, module in enumerate(convs):
        state[f"{module}.weight"], state[f"{module}.bias"] = conv2d(i)
    for i in range(3):
        weight, bias = conv2d(5 + i)  # (out, 1, 7, in): a 1-D convolution over all front-end channels
        state[f"mid.{i}.weight"] = weight[:, 0].permute(0, 2, 1).contiguous()
        state[f"mid.{i}.bias"] = bias
    for module, name in (("dense", "dense"), ("tags", "dense_1")):
        state[f"{module}.weight"] = torch.from_numpy(tf[f"{name}/kernel"].T.copy())
        state[f"{module}.bias"] = torch.from_numpy(tf[f"{name}/bias"])
    return state


def load(weights: str | Path) -> MusiCNN:
    from safetensors.torch import load_file

    model = MusiCNN()
    model.load_state_dict(load_file(str(weights)))
    return model.eval()


# -- command line ----------------------------------------------------------------------------------------

def convert(checkpoint: Path, out: Path) -> None:
    from safetensors.torch import save_file

    prefix = f"{checkpoint}/" if checkpoint.is_dir() else str(checkpoint)  # the wheel's files are ".index"...
    model = MusiCNN()
    model.load_state_dict(state_from_checkpoint(read_checkpoint(prefix)))
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out),
              metadata={"source": str(checkpoint), "architecture": "musicnn"})
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters -> {out}", file=sys.stderr)


@torch.no_grad()
def embed(model: MusiCNN, audio: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    """Frozen features of (clips, samples) 16 kHz audio: pooled (1506), penultimate (200), tag logits (50)."""
    frontend = MusicnnLogMel()
    out: dict[str, list[np.ndarray]] = {"pooled": [], "penultimate": [], "tags": []}
    for start in range(0, len(audio), batch):
        logmel = frontend(torch.from_numpy(audio[start: start + batch].astype(np.float32)))
        pooled = model.pooled(model.features(logmel))  # the costly part, once for all three outputs
        logits, hidden = model.head(pooled)
        out["pooled"].append(pooled.numpy())
        out["penultimate"].append(hidden.numpy())
        out["tags"].append(logits.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, n_labels: int,
                 weight_decay: float = 1e-2, steps: int = 300, seed: int = 0) -> np.ndarray:
    """Predicted labels of ``val_x`` from a softmax regression fitted on standardised ``train_x``."""
    torch.manual_seed(seed)
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    x = torch.from_numpy(((train_x - mean) / std).astype(np.float32))
    y = torch.from_numpy(train_y.astype(np.int64))
    layer = nn.Linear(x.shape[1], n_labels)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(layer(x), y).backward()
        opt.step()
    with torch.no_grad():
        return layer(torch.from_numpy(((val_x - mean) / std).astype(np.float32))).argmax(1).numpy()


def probe(args: argparse.Namespace) -> None:
    from training.data import decode, load_dataset, select

    model = load(args.weights)
    dataset = load_dataset(args.data, args.root)
    rng = np.random.default_rng(args.seed)
    embedded = {}
    for side, names in (("train", args.train), ("val", args.val)):
        clips = decode([s for s in select(dataset.sources, names) if s.label_id >= 0], dataset.labels)
        rows = np.concatenate([rng.permutation(np.flatnonzero(clips.label_ids == c))[: args.per_label]
                               for c in range(len(dataset.labels))])
        start = time.monotonic()
        embedded[side] = (embed(model, clips.audio[rows]), clips.label_ids[rows])
        seconds = time.monotonic() - start
        print(f"{side} ({names}): {len(rows)} clips embedded in {seconds:.0f} s", file=sys.stderr)
    (train, train_y), (val, val_y) = embedded["train"], embedded["val"]
    short = [label.split()[-1][:7] for label in dataset.labels]
    print(f"{'features':12} {'dims':>5} {'val acc':>8}  " + " ".join(f"{s:>7}" for s in short))
    for name in ("pooled", "penultimate", "tags"):
        predicted = linear_probe(train[name], train_y, val[name], len(dataset.labels), seed=args.seed)
        recall = [float(np.mean(predicted[val_y == c] == c)) for c in range(len(dataset.labels))]
        print(f"{name:12} {train[name].shape[1]:5d} {np.mean(predicted == val_y):8.3f}  "
              + " ".join(f"{r:7.2f}" for r in recall))


ZERO_SHOT = {
    "piano": ("piano",), "violin": ("violin", "strings"), "flute": ("flute",),
    "female singer": ("female vocal", "female", "woman", "female voice", "singing", "vocal", "vocals", "voice"),
}
"""The four labels the MagnaTagATune tags name, and the tags that stand for each."""


def zero_shot(tags: np.ndarray) -> np.ndarray:
    """Per clip, the `ZERO_SHOT` label (index in its order) whose strongest tag logit is highest."""
    columns = {tag: i for i, tag in enumerate(MTT_TAGS)}
    scores = np.stack([tags[:, [columns[t] for t in group]].max(axis=1) for group in ZERO_SHOT.values()], axis=1)
    return scores.argmax(axis=1)


def zeroshot(args: argparse.Namespace) -> None:
    """What musicnn's tags alone call the clips of each label of a selection: one of `ZERO_SHOT`'s four."""
    from training.data import decode, load_dataset, select

    model = load(args.weights)
    dataset = load_dataset(args.data, args.root)
    clips = decode([s for s in select(dataset.sources, args.subsets) if s.label_id >= 0], dataset.labels)
    rng = np.random.default_rng(args.seed)
    names = list(ZERO_SHOT)
    print(f"{args.root} ({args.subsets}): musicnn's tags alone, {args.per_label} clips a label at most")
    for c, label in enumerate(dataset.labels):
        rows = rng.permutation(np.flatnonzero(clips.label_ids == c))[: args.per_label]
        if len(rows):
            picked = np.bincount(zero_shot(embed(model, clips.audio[rows])["tags"]), minlength=len(names))
            print(f"  {label:26} {len(rows):3d}: " + ", ".join(f"{names[i]} {picked[i]}" for i in np.argsort(-picked)
                                                             if picked[i]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.musicnn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="TensorFlow checkpoint folder of the musicnn wheel -> safetensors")
    c.add_argument("--checkpoint", type=Path, required=True, help="e.g. musicnn/MTT_musicnn")
    c.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("probe", help="linear probe of frozen musicnn features across selections")
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--data", choices=("medley", "synth", "folder"), default="synth")
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--train", required=True, help="subsets or families to fit on")
    p.add_argument("--val", required=True, help="subsets or families to test on")
    p.add_argument("--per-label", type=int, default=150, help="clips per label on each side")
    p.add_argument("--seed", type=int, default=0)
    z = sub.add_parser("zeroshot", help="which of piano, violin, flute, female singer the tags alone name")
    z.add_argument("--weights", type=Path, required=True)
    z.add_argument("--data", choices=("medley", "synth", "folder"), default="synth")
    z.add_argument("--root", type=Path, required=True)
    z.add_argument("--subsets", required=True, help="subsets or families to read")
    z.add_argument("--per-label", type=int, default=40)
    z.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    if args.command == "convert":
        convert(args.checkpoint, args.out)
    elif args.command == "zeroshot":
        zeroshot(args)
    else:
        probe(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
