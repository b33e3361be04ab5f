"""Train a tagger and export it with its model card.

    python -m training.train --data synth --root DIR --train fluid --val gm6 --arch activity_cnn \\
        --objective multi --epochs 30 --run-dir runs/activity --out resources/models/default.safetensors
    python -m training.train --resume runs/activity            # continue after an interruption

Data: clips are decoded once to 16 kHz (cached) and kept in memory; each step plans a batch of rows
(`training.augment.plan_mixtures`), renders and augments them on the training device, and computes the
log-mel there. Objectives: ``single`` (softmax, cross-entropy weighted 1 - n_c/N per class: the paper's)
and ``multi`` (a sigmoid per label, binary cross-entropy; rows may hold two labels or none). The
ActivityCNN learns from `clip_logits` (the mean of its frame logits, as the analyzer pools a window).

Every epoch ends with a validation pass scored like the analyzer (`training.evaluate.clip_scores`) and a
checkpoint in the run folder: checkpoint.safetensors (model, optimizer tensors, torch RNG states) and
checkpoint.json (epoch, optimizer settings, numpy RNG state, history); no pickles. Resuming restores all
of it, so a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors

from studio_tagger.analysis.device import resolve_device
from studio_tagger.atomic import atomic_write
from studio_tagger.features import FeatureParams, LogMel, window_frames
from studio_tagger.models import ActivityCNN, build_model, load_model, save_model
from studio_tagger.models.hashing import weights_sha256
from studio_tagger.progress import progress
from studio_tagger.shipped import model_files
from training.augment import KIND_NAMES, Augmenter, AugmentParams, plan_mixtures
from training.data import CACHE_DIR, ClipSet, decode, ensure_synth, load_dataset, select, split
from training.evaluate import clip_metrics, clip_scores, metrics_summary, write_clip_report
from training.realdata import credits
from training.soundfonts import EVALUATION_ONLY_FAMILIES, SAMPLED_BANKS
from training.synth import DEFAULT_OUT as SYNTH_DEFAULT

WINDOW_SECONDS = 2.0
AUX_MIN_CLIPS = 100
GENERIC_INSTRUMENTS = frozenset({"", "noise", "phrases", "accompaniment"})
"""Accompaniment names that say where a clip came from, not what plays: never an auxiliary output."""
RESUMABLE = ("epochs", "device", "threads", "out", "progress")
"""Options a resumed run may change; everything else comes from the run's own run.json."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", choices=("medley", "synth", "folder"), default="synth", help="dataset kind")
    p.add_argument("--root", type=Path, default=None, help=f"dataset root (synth default {SYNTH_DEFAULT})")
    p.add_argument("--accompaniment", type=Path, action="append", default=[],
                   help="extra accompaniment: a Medley-layout root or a folder of audio (repeatable; "
                        "its clips have subset 'accompaniment' unless the root says otherwise)")
    p.add_argument("--also", type=Path, action="append", default=[], metavar="ROOT",
                   help="another labelled Medley-layout root (e.g. a training.realsynth set) whose subsets join "
                        "the selection (repeatable)")
    p.add_argument("--train", default="", help="subsets/families to train on, comma-separated (default: all "
                                               "not used for validation)")
    p.add_argument("--val", default="", help="subsets/families to validate on, or split:FRACTION for a "
                                             "song-aware random split of the training data")
    p.add_argument("--max-per-label", type=int, default=0,
                   help="use at most this many files per label (and of accompaniment) per side; 0 = all")
    p.add_argument("--synth-banks", default=",".join(SAMPLED_BANKS), help="banks to render when --data synth is missing")
    p.add_argument("--synth-clips", type=int, default=500, help="clips per label and bank to render")
    p.add_argument("--synth-accompaniment", type=int, default=500, help="accompaniment clips per bank to render")
    p.add_argument("--arch", choices=("activity_cnn", "paper_cnn", "paper_ast"), default="activity_cnn")
    p.add_argument("--arch-params", default="{}", help="JSON of extra architecture parameters")
    p.add_argument("--init", type=Path, default=None, metavar="MODEL",
                   help="start from this model file's weights (same architecture; a fine-tune) instead of "
                        "random ones; calibration in its card is not carried over")
    p.add_argument("--teacher", type=Path, default=None, metavar="MODEL",
                   help="distil: blend each clip's targets with this model's scores of the same augmented "
                        "clip (e.g. an ensemble from training.ensemble; its calibration is not used)")
    p.add_argument("--teacher-weight", type=float, default=0.5,
                   help="share of the teacher's scores in the targets (0: the labels only, 1: the teacher only)")
    p.add_argument("--aux-instruments", default="",
                   help="also learn to name accompaniment instruments (activity_cnn): 'auto' for every one "
                        f"with at least {AUX_MIN_CLIPS} training clips, or a comma-separated list; these "
                        "outputs shape the embedding and are dropped from the exported model")
    p.add_argument("--aux-weight", type=float, default=0.5, help="weight of the auxiliary outputs' loss")
    p.add_argument("--objective", choices=("multi", "single"), default="multi",
                   help="multi: sigmoid + BCE (lanes); single: softmax + weighted cross-entropy (paper)")
    p.add_argument("--augment", choices=("full", "paper"), default="full",
                   help="full: crop, speed, gain, EQ, reverb, noise, mixtures; paper: random 2 s crop only")
    p.add_argument("--augment-params", default="{}", help="JSON overriding AugmentParams fields")
    p.add_argument("--epochs", type=int, default=None, help="default 15")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                   help="learning rate over epochs (cosine: from --lr down to 5 %% of it)")
    p.add_argument("--steps-per-epoch", type=int, default=0, help="0: one pass over the labelled clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="decoding processes")
    p.add_argument("--cache", type=Path, default=CACHE_DIR, help="decoded-clip cache folder")
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoints, log and reports (default runs/<name>)")
    p.add_argument("--resume", type=Path, default=None, help="continue the run in this folder")
    p.add_argument("--out", type=Path, default=None, help="exported model (default RUN_DIR/model.safetensors)")
    p.add_argument("--name", default="", help="model name in the card")
    p.add_argument("--version", default="1", help="model version in the card")
    p.add_argument("--progress", action="store_true", default=None, help="draw progress even when not a terminal")
    p.add_argument("--inference-seconds", type=float, default=60.0, help="audio length for the speed measurement")
    return p


def _defaults(args: argparse.Namespace) -> argparse.Namespace:
    for key, value in (("epochs", 15), ("device", "auto"), ("threads", 2), ("progress", False)):
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.root is None:
        args.root = SYNTH_DEFAULT
    if not args.name:
        args.name = f"{args.arch}-{args.objective}-{args.data}"
    if args.run_dir is None:
        args.run_dir = Path("runs") / args.name
    return args


def _args_to_json(args: argparse.Namespace) -> dict:
    return {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if isinstance(v, list) else v)
            for k, v in vars(args).items()}


def _args_from_json(saved: dict, given: argparse.Namespace) -> argparse.Namespace:
    args = build_parser().parse_args([])
    for k, v in saved.items():
        setattr(args, k, v)
    for k in ("root", "cache", "run_dir", "out", "resume", "init", "teacher"):
        if getattr(args, k) is not None:
            setattr(args, k, Path(getattr(args, k)))
    args.accompaniment = [Path(x) for x in args.accompaniment]
    args.also = [Path(x) for x in getattr(args, "also", [])]
    for k in RESUMABLE:
        if getattr(given, k) is not None:
            setattr(args, k, getattr(given, k))
    args.run_dir = given.resume
    return args


# Data --------------------------------------------------------------------------------------------------


def _cap(sources: list, limit: int) -> list:
    """At most ``limit`` sources per label (accompaniment counts as one label), in file order."""
    if not limit:
        return sources
    seen: dict[int, int] = {}
    out = []
    for s in sources:
        if seen.get(s.label_id, 0) < limit:
            seen[s.label_id] = seen.get(s.label_id, 0) + 1
            out.append(s)
    return out


def load_clips(args: argparse.Namespace) -> tuple[ClipSet, ClipSet | None]:
    if args.data == "synth":
        banks = [b for b in args.synth_banks.split(",") if b]
        ensure_synth(args.root, banks, args.synth_clips, args.synth_accompaniment, args.seed, args.jobs)
    dataset = load_dataset(args.data, args.root, args.accompaniment)
    for root in args.also:
        more = load_dataset("synth", root)
        if more.labels != dataset.labels:
            raise SystemExit(f"{root}: labels {more.labels} differ from {dataset.labels}")
        dataset.sources += more.sources
    everything = dataset.sources
    val_sources: list = []
    if args.val.startswith("split:"):
        pool = select(everything, args.train) if args.train else everything
        train_sources, val_sources = split(pool, float(args.val.split(":", 1)[1]), args.seed)
    else:
        if args.val:
            val_sources = select(everything, args.val)
        held = set(val_sources)
        train_sources = select(everything, args.train) if args.train else [s for s in everything if s not in held]
    train_sources, val_sources = _cap(train_sources, args.max_per_label), _cap(val_sources, args.max_per_label)
    kept_out = sorted({s.subset for s in train_sources if s.family in EVALUATION_ONLY_FAMILIES})
    if kept_out:
        raise SystemExit(f"{', '.join(kept_out)}: evaluation-only bank, not a Debian GM SoundFont; it may be "
                         "tested on (--val) but not trained on")
    if not any(s.label_id >= 0 for s in train_sources):
        raise SystemExit("no labelled training clips selected")
    train = decode(train_sources, dataset.labels, args.cache, args.jobs, args.progress)
    val = decode(val_sources, dataset.labels, args.cache, args.jobs, args.progress) if val_sources else None
    return train, val


# Checkpoints -------------------------------------------------------------------------------------------


def save_checkpoint(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    rng: np.random.Generator, gen: torch.Generator, state: dict) -> None:
    """Tensors to checkpoint.safetensors, the rest to checkpoint.json (written second: it names the
    epoch, and a resume checks that both files agree)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict] = {}
    for idx, entry in opt["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.augment"] = gen.get_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    epoch = str(state["epoch"])
    with atomic_write(run_dir / "checkpoint.safetensors", "wb") as f:
        f.write(save_tensors(tensors, metadata={"epoch": epoch}))
    meta = {**state, "optimizer": {"param_groups": opt["param_groups"], "scalars": scalars},
            "numpy_rng": rng.bit_generator.state}
    with atomic_write(run_dir / "checkpoint.json", "w") as f:
        json.dump(meta, f, indent=1)


def load_checkpoint(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    rng: np.random.Generator, gen: torch.Generator) -> dict:
    meta = json.loads((run_dir / "checkpoint.json").read_text())
    path = run_dir / "checkpoint.safetensors"
    with safe_open(str(path), "pt") as f:
        if f.metadata().get("epoch") != str(meta["epoch"]):
            raise SystemExit(f"{run_dir}: checkpoint files are from different epochs; cannot resume")
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, values in meta["optimizer"]["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    groups = meta["optimizer"]["param_groups"]
    for g in groups:
        g["betas"] = tuple(g["betas"]) if "betas" in g else None
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    torch.set_rng_state(tensors["rng.torch"])
    gen.set_state(tensors["rng.augment"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    rng.bit_generator.state = meta["numpy_rng"]
    return meta


# Training ----------------------------------------------------------------------------------------------


def architecture_params(args: argparse.Namespace, n_labels: int) -> dict:
    """The architecture's parameters for the card; for the project's model every constructor parameter,
    written out, so a card still describes its weights after a later release changes a default."""
    params: dict = {"n_labels": n_labels}
    if args.arch in ("paper_cnn", "paper_ast"):
        params["n_frames"] = window_frames(WINDOW_SECONDS)
    if args.arch == "activity_cnn":
        defaults = {name: p.default for name, p in inspect.signature(ActivityCNN).parameters.items()}
        params = json.loads(json.dumps(defaults)) | params  # tuples become JSON lists
    return params | json.loads(args.arch_params)


def aux_vocabulary(train: ClipSet, spec: str, labels: Sequence[str]) -> tuple[str, ...]:
    """The accompaniment instruments learnt as auxiliary outputs: ``auto`` takes every named one with at
    least AUX_MIN_CLIPS training clips (so a stray name does not become an output of a few examples)."""
    if not spec:
        return ()
    known = [train.sources[i].instrument for i in train.source_index[train.label_ids < 0]]
    counts = {name: known.count(name) for name in set(known) - GENERIC_INSTRUMENTS - set(labels)}
    if spec == "auto":
        return tuple(sorted(name for name, n in counts.items() if n >= AUX_MIN_CLIPS))
    wanted = tuple(dict.fromkeys(x.strip() for x in spec.split(",") if x.strip()))
    missing = [name for name in wanted if not counts.get(name)]
    if missing:
        raise SystemExit(f"--aux-instruments: no accompaniment clips of {', '.join(missing)} in the training "
                         f"data (there are: {', '.join(sorted(counts)) or 'none'})")
    return wanted


def aux_targets(plan_first: np.ndarray, plan_second: np.ndarray, aux_ids: np.ndarray, n_aux: int) -> np.ndarray:
    """(rows, n_aux) multi-hot: which auxiliary instruments each planned row holds (either source)."""
    out = np.zeros((len(plan_first), n_aux), np.float32)
    for column in (plan_first, plan_second):
        rows = np.flatnonzero(column >= 0)
        ids = aux_ids[column[rows]]
        out[rows[ids >= 0], ids[ids >= 0]] = 1.0
    return out


class LabelOutputs(torch.nn.Module):
    """A frame model seen through its first ``n`` outputs: how validation scores a model trained with
    auxiliary outputs, exactly as the exported one will score."""

    def __init__(self, model: torch.nn.Module, n: int) -> None:
        super().__init__()
        self.model, self.n = model, n
        self.kind = getattr(model, "kind", "clip")
        self.time_stride = getattr(model, "time_stride", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[..., : self.n]


def without_aux(model: ActivityCNN, n: int) -> ActivityCNN:
    """The model with only its first ``n`` outputs: the head's other rows were for training only."""
    head = torch.nn.Conv1d(model.head.in_channels, n, 1).to(model.head.weight.device)
    with torch.no_grad():
        head.weight.copy_(model.head.weight[:n])
        head.bias.copy_(model.head.bias[:n])
    model.head = head
    return model


def load_init(model: torch.nn.Module, path: Path, n_labels: int) -> str:
    """Copy a model file's weights into ``model``; rows of the head past ``n_labels`` (auxiliary outputs)
    keep their fresh initialisation. Returns the file's weights hash for the card."""
    weights, _ = model_files(path)
    given = load_file(str(weights))
    own = model.state_dict()
    for key, value in given.items():
        if key not in own:
            raise SystemExit(f"--init {path}: {key} is not in this architecture")
        if own[key].shape == value.shape:
            own[key] = value
        elif key.startswith("head.") and own[key].shape[1:] == value.shape[1:] and value.shape[0] == n_labels:
            own[key][:n_labels] = value
        else:
            raise SystemExit(f"--init {path}: {key} has shape {tuple(value.shape)}, this model {tuple(own[key].shape)}")
    missing = set(own) - set(given)
    if missing:
        raise SystemExit(f"--init {path}: no weights for {', '.join(sorted(missing))}")
    model.load_state_dict(own)
    return weights_sha256(weights)


def class_weights(train: ClipSet) -> torch.Tensor:
    """The paper's 1 - n_c / N over the labelled training clips."""
    counts = np.array(list(train.counts().values()), dtype=np.float64)
    return torch.tensor(1.0 - counts / counts.sum(), dtype=torch.float32)


def measure_inference(module: torch.nn.Module, activation: str, device: torch.device, seconds: float = 60.0) -> dict:
    """Seconds of audio scored per second of compute (log-mel + model + window pooling) on ``device``."""
    audio = np.random.default_rng(0).standard_normal((1, int(seconds * 16000))).astype(np.float32) * 0.1
    lengths = np.array([audio.shape[1]])
    clip_scores(module, audio[:, :48000], np.array([48000]), activation=activation, device=device)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    clip_scores(module, audio, lengths, activation=activation, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {"device": str(device), "audio_seconds": seconds, "compute_seconds": round(elapsed, 4),
            "realtime_factor": round(seconds / elapsed, 1)}


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


@dataclass
class Pool:
    """The training clips on the training device, and how rows are made from them."""

    audio: torch.Tensor
    lengths: torch.Tensor
    label_ids: np.ndarray
    n_labels: int
    augmenter: Augmenter
    logmel: LogMel
    aux_ids: np.ndarray | None = None
    """(clips,) auxiliary output of each clip's instrument, -1 for none."""
    n_aux: int = 0


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Sequence[np.ndarray], pool: Pool,
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], params: AugmentParams,
                rng: np.random.Generator, gen: torch.Generator, desc: str, show: bool,
                teacher: tuple[torch.nn.Module, float] | None = None) -> tuple[float, np.ndarray]:
    """One pass over ``batches`` of primary clip indices; returns (mean loss, rows of each kind).
    ``teacher`` (module, weight): the labels' targets become (1 - weight) x labels + weight x the
    teacher's sigmoid scores of the very clip the student sees."""
    model.train()
    frames_model = getattr(model, "kind", "clip") == "frames"
    total, rows, kinds = 0.0, 0, np.zeros(len(KIND_NAMES), dtype=np.int64)
    for batch in progress(batches, len(batches), desc, force=show):
        plan = plan_mixtures(batch, pool.label_ids, pool.n_labels, params, rng)
        targets = plan.targets
        if pool.n_aux:
            targets = np.concatenate([targets, aux_targets(plan.first, plan.second, pool.aux_ids, pool.n_aux)], axis=1)
        with torch.no_grad():
            feats = pool.augmenter.mask_features(pool.logmel(pool.augmenter(pool.audio, pool.lengths, plan, gen)), gen)
        target = torch.from_numpy(targets).to(feats.device)
        if teacher is not None:
            module, weight = teacher
            with torch.no_grad():
                soft = torch.sigmoid(module.clip_logits(feats))
            n = soft.shape[1]
            target = torch.cat([(1 - weight) * target[:, :n] + weight * soft, target[:, n:]], dim=1)
        logits = model.clip_logits(feats) if frames_model else model(feats)
        loss = loss_fn(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
        rows += len(batch)
        kinds += np.bincount(plan.kinds, minlength=len(KIND_NAMES))
    return total / max(rows, 1), kinds


def validate(model: torch.nn.Module, val: ClipSet, activation: str, device: torch.device, show: bool):
    scores = clip_scores(model, val.audio, val.lengths, activation=activation, device=device, show_progress=show)
    return clip_metrics(scores, val.label_ids, val.labels, activation)


def train(args: argparse.Namespace, argv: Sequence[str]) -> Path:
    run_dir: Path = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Log(run_dir / "train.log")
    command = "python -m training.train " + shlex.join(argv)
    resuming = (run_dir / "checkpoint.json").is_file() and args.resume is not None
    if resuming:
        first_command = json.loads((run_dir / "run.json").read_text())["command"]
    else:
        first_command = command
        with atomic_write(run_dir / "run.json", "w") as f:
            json.dump({"args": _args_to_json(args), "command": command}, f, indent=1)
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    # cuDNN's fastest kernels may add in a different order each run; fixed ones keep --seed reproducible.
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.manual_seed(args.seed)
    log(f"{'resume' if resuming else 'start'}: {command} (device {device}, torch {torch.__version__})")

    train_set, val_set = load_clips(args)
    labels = train_set.labels
    log(f"train: {json.dumps(train_set.describe())}")
    if val_set is not None:
        log(f"validation: {json.dumps(val_set.describe())}")

    params = architecture_params(args, len(labels))
    aux = aux_vocabulary(train_set, args.aux_instruments, labels)
    if aux and (args.arch != "activity_cnn" or args.objective != "multi"):
        raise SystemExit("--aux-instruments needs --arch activity_cnn and --objective multi")
    if aux:
        log(f"auxiliary outputs ({len(aux)}, dropped at export): {', '.join(aux)}")
    # Loading the teacher builds a module (drawing random initial weights): before the seed below, so the
    # student starts and drops out exactly as without one.
    teacher = None
    if args.teacher is not None:
        if args.objective != "multi":
            raise SystemExit("--teacher needs --objective multi")
        taught_by = load_model(args.teacher)
        if tuple(taught_by.labels) != tuple(labels) or not hasattr(taught_by.module, "clip_logits"):
            raise SystemExit(f"--teacher {args.teacher}: a frame model with the labels {', '.join(labels)} is needed")
        module = taught_by.module.for_inference() if hasattr(taught_by.module, "for_inference") else taught_by.module
        teacher = (module.to(device).eval(), float(args.teacher_weight))
        teacher_sha = weights_sha256(taught_by.path)
        log(f"teacher {args.teacher} (weights sha256 {teacher_sha[:12]}), weight {args.teacher_weight}")

    torch.manual_seed(args.seed)  # the same initial weights whatever happened before
    model = build_model(args.arch, params | {"n_labels": len(labels) + len(aux)}).to(device)
    init_sha = None
    if args.init is not None:
        init_sha = load_init(model, Path(args.init), len(labels))
        log(f"initialised from {args.init} (weights sha256 {init_sha[:12]})")
    n_params = sum(p.numel() for p in model.parameters())
    single = args.objective == "single"
    activation = "softmax" if single else "sigmoid"
    aug_params = AugmentParams.from_dict(AugmentParams.preset(args.augment).to_dict() | json.loads(args.augment_params))
    if single:
        aug_params = aug_params.single_label()
    augmenter = Augmenter(aug_params)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    weights = class_weights(train_set).to(device) if single else None

    n = len(labels)

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if single:
            return torch.nn.functional.cross_entropy(logits, target.argmax(dim=1), weight=weights)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        loss = bce(logits[:, :n], target[:, :n])
        if aux:
            loss = loss + args.aux_weight * bce(logits[:, n:], target[:, n:])
        return loss

    rng = np.random.default_rng(args.seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)
    state = {"epoch": 0, "history": [], "train_seconds": 0.0, "resumed": []}
    if resuming:
        state = load_checkpoint(run_dir, model, optimizer, rng, gen)
        state["resumed"] = [*state.get("resumed", []), command]
        log(f"resumed after epoch {state['epoch']}")
    log(f"model {args.arch} {params}: {n_params:,} parameters; objective {args.objective}; "
        f"augmentation {args.augment}")

    pool = Pool(torch.from_numpy(train_set.audio).to(device), torch.from_numpy(train_set.lengths).to(device),
                train_set.label_ids, len(labels), augmenter, LogMel(FeatureParams()).to(device),
                train_set.instrument_ids(aux), len(aux))
    scored = LabelOutputs(model, len(labels)) if aux else model
    labelled = np.flatnonzero(train_set.label_ids >= 0)
    steps = args.steps_per_epoch or max(1, len(labelled) // args.batch_size)
    last_val = None
    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(args.lr, args.schedule, epoch, args.epochs)
        order = np.resize(rng.permutation(labelled), steps * args.batch_size)  # wraps when steps are fixed
        batches = [order[i: i + args.batch_size] for i in range(0, len(order), args.batch_size)]
        loss, kinds = train_epoch(model, optimizer, batches, pool, loss_fn, aug_params, rng, gen,
                                  f"epoch {epoch}/{args.epochs}", args.progress, teacher)
        train_time = time.perf_counter() - started
        entry = {"epoch": epoch, "loss": loss, "train_seconds": round(train_time, 2),
                 "clips_per_second": round(len(order) / train_time, 1),
                 "rows": dict(zip(KIND_NAMES, kinds.tolist(), strict=True))}
        if val_set is not None:
            t0 = time.perf_counter()
            last_val = validate(scored, val_set, activation, device, args.progress)
            entry["validation"] = metrics_summary(*last_val)
            entry["val_seconds"] = round(time.perf_counter() - t0, 2)
        state["train_seconds"] += time.perf_counter() - started
        state["history"].append(entry)
        state["epoch"] = epoch
        save_checkpoint(run_dir, model, optimizer, rng, gen, state)
        log(json.dumps(entry))

    if aux:
        model = without_aux(model, len(labels))
        n_params = sum(p.numel() for p in model.parameters())
    card = model_card(args, labels, params, activation, aug_params, train_set, val_set, state, n_params,
                      first_command, device)
    if aux:
        card["training"]["auxiliary_outputs"] = {
            "instruments": list(aux), "loss_weight": args.aux_weight,
            "why": "naming the accompaniment instruments shapes the embedding that adapting and new lanes "
                   "learn from; the outputs are dropped from the exported model"}
    if teacher is not None:
        card["training"]["teacher"] = {"model": str(args.teacher), "weights_sha256": teacher_sha,
                                       "weight": args.teacher_weight}
    if init_sha is not None:
        card["training"]["initialised_from"] = {"model": str(args.init), "weights_sha256": init_sha}
    if val_set is not None:
        table, detection = last_val or validate(model, val_set, activation, device, args.progress)
        card["metrics"]["validation"] = metrics_summary(table, detection) | {"selection": args.val}
        write_clip_report(run_dir / "validation", table, detection, f"{args.name}: validation on {args.val}",
                          {"summary": card["metrics"]["validation"], "scoring": "in-memory clip_scores"})
    card["metrics"]["inference"] = measure_inference(model, activation, device, args.inference_seconds)
    out = args.out or run_dir / "model.safetensors"
    weights_path, card_path = save_model(model.cpu(), card, out)
    log(f"trained {state['epoch']} epochs in {state['train_seconds']:.1f} s "
        f"(median {card['training']['clips_per_second']} clips/s on {device}); {n_params:,} parameters")
    log(f"inference: {json.dumps(card['metrics']['inference'])}")
    log(f"model written to {weights_path} and {card_path}")
    return weights_path


def epoch_lr(base: float, schedule: str, epoch: int, epochs: int) -> float:
    """The learning rate of a 1-based epoch. Cosine decays to 5 % of ``base`` by the last epoch, which
    steadies the cross-collection score that otherwise swings from epoch to epoch; derived from the
    epoch number alone, so a resumed run follows the same curve."""
    if schedule == "constant" or epochs <= 1:
        return base
    progress = (epoch - 1) / (epochs - 1)
    return base * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def model_card(args, labels, params, activation, aug_params, train_set, val_set, state, n_params, command,
               device) -> dict:
    history = state["history"]
    clip_rates = [h["clips_per_second"] for h in history]
    return {
        "name": args.name,
        "version": args.version,
        "architecture": {"type": args.arch, "params": params},
        "labels": list(labels),
        "activation": activation,
        "features": FeatureParams().to_dict(),
        "window_seconds": WINDOW_SECONDS,
        "parameters": n_params,
        "training": {
            "data": {"kind": args.data, "root": str(args.root), "train_selection": args.train or "all",
                     "val_selection": args.val or None, "train": train_set.describe(),
                     "validation": val_set.describe() if val_set is not None else None,
                     "accompaniment_roots": [str(a) for a in args.accompaniment],
                     "also_roots": [str(a) for a in args.also],
                     "credits": credits(train_set.describe()["subsets"])},
            "command": command,
            "resumed_with": state["resumed"],
            "seed": args.seed, "epochs": state["epoch"], "batch_size": args.batch_size,
            "steps_per_epoch": args.steps_per_epoch or "one pass over the labelled clips",
            "optimizer": {"type": "Adam", "lr": args.lr, "schedule": args.schedule},
            "objective": args.objective,
            "loss": "weighted cross-entropy (1 - n_c/N)" if args.objective == "single" else "binary cross-entropy",
            "augmentation": {"preset": args.augment, **aug_params.to_dict()},
            "duration_seconds": round(state["train_seconds"], 1),
            "clips_per_second": round(float(np.median(clip_rates)), 1) if clip_rates else None,
            "device": str(device), "torch": torch.__version__, "python": platform.python_version(),
            "history": history,
        },
        "metrics": {},
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    given = build_parser().parse_args(argv)
    if given.resume is not None:
        saved = json.loads((given.resume / "run.json").read_text())
        args = _args_from_json(saved["args"], given)
        args.resume = given.resume
        argv_record = argv
    else:
        args, argv_record = given, argv
    args = _defaults(args)
    if args.resume is not None and not (args.run_dir / "checkpoint.json").is_file():
        raise SystemExit(f"{args.run_dir}: no checkpoint to resume from")
    train(args, argv_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

