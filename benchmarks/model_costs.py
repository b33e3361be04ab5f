"""Parameters, training speed and inference speed of each architecture: the paper's CNN and AST, and the
project's ActivityCNN, on random log-mel input (no data loading or augmentation in the figures).

    python benchmarks/model_costs.py                       # CPU
    python benchmarks/model_costs.py --device cuda --batch 256

Training: clips per second of forward + backward + Adam step on batches of 2 s log-mel crops
(198 x 128), with the loss each model trains with in `training.train` (cross-entropy for the paper's
single-label models, binary cross-entropy on the clip logits for the ActivityCNN), on all CPU threads.
Inference: seconds of audio per second at the analyzer's default hop of 0.5 s, each model placed as the
analyzer places it (`place_module`): a clip model scores every 2 s window (two per second of audio) in
batches of 32, the ActivityCNN runs once over 30 s stretches; on the CPU with one thread fewer than the
machine has, as `Analyzer` leaves one to decoding. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from studio_tagger.analysis.device import place_module, resolve_device
from studio_tagger.models import build_model

ARCHS = ("paper_cnn", "paper_ast", "activity_cnn")
FRAMES = 198  # one 2 s window of 10 ms frames
MELS = 128
HOP = 0.5  # seconds, the analyzer's default
STRETCH = 3000  # frames: the analyzer's 30 s CPU stretch


def _timed(step, min_seconds: float, min_runs: int = 3) -> float:
    """Seconds per call of ``step`` after one warm-up call, over at least ``min_runs`` calls and ``min_seconds``."""
    step()
    runs, started = 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - started < min_seconds:
        step()
        runs += 1
    return (time.perf_counter() - started) / runs


def training_rate(module: nn.Module, device: torch.device, batch: int, seconds: float) -> float:
    """Training clips per second."""
    module = module.to(device).train()
    frames_model = getattr(module, "kind", "clip") == "frames"
    if frames_model and device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)
    x = torch.randn(batch, FRAMES, MELS, device=device)
    n_labels = 8
    if frames_model:
        target, loss_fn = torch.randint(0, 2, (batch, n_labels), device=device).float(), nn.BCEWithLogitsLoss()
    else:
        target, loss_fn = torch.randint(0, n_labels, (batch,), device=device), nn.CrossEntropyLoss()

    def step() -> None:
        logits = module.clip_logits(x) if frames_model else module(x)
        loss = loss_fn(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return batch / _timed(step, seconds)


def inference_rate(module: nn.Module, device: torch.device, seconds: float) -> float:
    """Seconds of audio analysed per second (model only)."""
    placed = place_module(module.eval(), device, fresh_copy=True)
    if getattr(placed, "kind", "clip") == "frames":
        x, audio_seconds = torch.randn(1, STRETCH, MELS, device=device), STRETCH / 100
    else:
        windows = 32 if device.type == "cpu" else 256  # the analyzer's batch
        x, audio_seconds = torch.randn(windows, FRAMES, MELS, device=device), windows * HOP

    def step() -> None:
        with torch.inference_mode():
            placed(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return audio_seconds / _timed(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--batch", type=int, default=32, help="training batch")
    parser.add_argument("--seconds", type=float, default=5.0, help="least time to measure each figure")
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated architectures")
    args = parser.parse_args()
    device = resolve_device(args.device)
    cores = os.cpu_count() or 1
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {cores} cores"
    print(f"device: {name}; torch {torch.__version__}; training batch {args.batch}")
    print(f"{'architecture':<14} {'parameters':>11} {'train clips/s':>14} {'inference x real time':>22}")
    for arch in args.archs.split(","):
        torch.manual_seed(0)
        module = build_model(arch, {})
        n_params = sum(p.numel() for p in module.parameters())
        if device.type == "cpu":
            torch.set_num_threads(cores)
        train = training_rate(module, device, args.batch, args.seconds)
        if device.type == "cpu":
            torch.set_num_threads(max(1, cores - 1))
        infer = inference_rate(module, device, args.seconds)  # on a copy; the speed does not depend on the weights
        print(f"{arch:<14} {n_params:>11,} {train:>14.1f} {infer:>22.0f}", flush=True)


if __name__ == "__main__":
    main()
