"""Throughput of `studio-tagger batch` over a generated archive, beside the floor of just decoding it.

Generates an archive (not committed) of music-like takes, 1-5 min each, as WAV, FLAC and Ogg Vorbis at
22.05 to 48 kHz, mono and stereo; then, for each worker count:
  floor   every file decoded and resampled to 16 kHz (the analyzer's own reader), spread over that many
          processes already started: what no tagger can beat
  batch   `studio-tagger batch ARCHIVE --out RESULTS --workers N --quiet` as a fresh process, wall time
          from start to summary (start-up, model loading, results and summary included)
and prints for each the speed (x real time), the CPU seconds spent per hour of audio (which a machine shared
with other jobs does not distort), batch/floor, and the scaling from the first to the last worker count. `--per-file K` also times `studio-tagger analyze` run once per file on K files
(the way to tag an archive before `batch`). A GPU, when there is one, adds a `--device cuda` run.

    python benchmarks/batch_throughput.py                           # 200 files, 1 and 2 workers
    python benchmarks/batch_throughput.py --files 40 --max-minutes 3 --archive /tmp/archive40
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATES = (22050, 32000, 44100, 48000)
FORMATS = ("wav", "flac", "ogg")


def render_take(args: tuple[Path, float, int, int, int]) -> None:
    """Chords of harmonic tones changing every 0.25-1 s over a soft noise bed, written in 10 s blocks."""
    path, seconds, rate, channels, seed = args
    rng = np.random.default_rng(seed)
    block = 10 * rate
    written = 0
    total = int(seconds * rate)
    subtype = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS"}[path.suffix[1:]]
    with sf.SoundFile(str(path), "w", rate, channels, subtype=subtype) as f:
        while written < total:
            n = min(block, total - written)
            x = 0.01 * rng.standard_normal(n)
            start = 0
            while start < n:
                length = min(n - start, int(rng.uniform(0.25, 1.0) * rate))
                t = np.arange(length) / rate
                envelope = np.exp(-t * rng.uniform(1.0, 4.0))
                for midi in rng.integers(40, 84, size=rng.integers(1, 4)):
                    f0 = 440.0 * 2 ** ((midi - 69) / 12)
                    for h in range(1, 5):
                        x[start:start + length] += 0.08 / h * envelope * np.sin(2 * np.pi * f0 * h * t)
                start += length
            frames = np.repeat(x[:, None], channels, axis=1) if channels > 1 else x[:, None]
            f.write(np.clip(frames, -1, 1).astype(np.float32))
            written += n


def make_archive(root: Path, files: int, min_minutes: float, max_minutes: float, jobs: int) -> None:
    rng = np.random.default_rng(0)
    jobs_args = []
    for i in range(files):
        fmt = FORMATS[i % len(FORMATS)]
        path = root / f"box{i % 7:02d}" / f"take{i:04d}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        jobs_args.append((path, 60 * rng.uniform(min_minutes, max_minutes), int(rng.choice(RATES)),
                          int(rng.integers(1, 3)), i))
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(render_take, jobs_args, chunksize=1)
    (root / ".complete").write_text(f"{files} {min_minutes} {max_minutes}\n")


def decode(path: str) -> float:
    """Decode and resample one file; returns the CPU seconds it took."""
    from studio_tagger.audio import iter_blocks

    started = time.process_time()
    for _ in iter_blocks(path, 16000, 30.0):
        pass
    return time.process_time() - started


def floor_seconds(paths: list[str], workers: int) -> tuple[float, float]:
    """Wall time and CPU seconds to decode and resample every file over ``workers`` processes that are
    already running."""
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(decode, paths[:workers])  # start-up and imports before the clock starts
        started = time.perf_counter()
        cpu = sum(pool.map(decode, sorted(paths, key=os.path.getsize, reverse=True), chunksize=1))
        return time.perf_counter() - started, cpu


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU seconds of a command and the processes it started and waited for."""
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr}")
    return wall, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--min-minutes", type=float, default=1.0)
    parser.add_argument("--max-minutes", type=float, default=5.0)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    parser.add_argument("--archive", help="keep the generated archive here (reused when already complete)")
    parser.add_argument("--per-file", type=int, default=0, metavar="K", help="also time `analyze` on K files")
    parser.add_argument("--model", help="default: the shipped model")
    parser.add_argument("--threads", type=int, help="batch --threads: model threads per worker (default: the "
                                                     "cores shared out, so one worker alone uses them all)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    cli = [sys.executable, "-m", "studio_tagger.cli"]
    model = ["--model", args.model] if args.model else []
    threads = ["--threads", str(args.threads)] if args.threads else []

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.archive) if args.archive else Path(tmp) / "archive"
        if not (root / ".complete").is_file():
            print(f"generating {args.files} takes of {args.min_minutes:g}-{args.max_minutes:g} min ...",
                  file=sys.stderr)
            started = time.perf_counter()
            make_archive(root, args.files, args.min_minutes, args.max_minutes, os.cpu_count() or 1)
            print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr)
        paths = sorted(str(p) for p in root.rglob("take*.*"))
        infos = [sf.info(p) for p in paths]
        hours = sum(i.frames / i.samplerate for i in infos) / 3600
        kinds = {fmt: sum(p.endswith(fmt) for p in paths) for fmt in FORMATS}
        size = sum(os.path.getsize(p) for p in paths) / 1e9
        formats = ", ".join(f"{k.upper()} {v}" for k, v in kinds.items())
        print(f"archive: {len(paths)} files, {hours:.2f} h of audio ({formats}; "
              f"{min(i.samplerate for i in infos)}-{max(i.samplerate for i in infos)} Hz, mono and stereo), "
              f"{size:.2f} GB; {os.cpu_count()} CPU cores")

        # CPU seconds beside wall time: on a machine shared with other jobs they still say how much work
        # each way costs, which is what the wall time on an idle machine follows.
        speeds = {}
        for n in counts:
            floor, floor_cpu = floor_seconds(paths, n)
            out = Path(tmp) / f"results-{n}"
            wall, cpu = timed([*cli, "batch", str(root), "--out", str(out), "--workers", str(n), "--device", "cpu",
                               "--quiet", *model, *threads])
            speeds[n] = hours * 3600 / wall
            print(f"{n} worker(s): floor {floor:7.1f} s ({hours * 3600 / floor:6.0f}x real time, "
                  f"{floor_cpu / hours:5.1f} CPU s per audio hour); batch {wall:7.1f} s ({speeds[n]:6.0f}x real "
                  f"time, {cpu / hours:5.1f} CPU s per audio hour), {wall / floor:.2f}x the floor's wall time, "
                  f"{cpu / floor_cpu:.2f}x its CPU time")
        if len(counts) > 1:
            print(f"scaling {counts[0]} -> {counts[-1]} workers: {speeds[counts[-1]] / speeds[counts[0]]:.2f}x")

        if args.per_file:
            sample = paths[: args.per_file]
            seconds = sum(i.frames / i.samplerate for i in infos[: args.per_file])
            wall = sum(timed([*cli, "analyze", p, "--quiet", "--device", "cpu", "--json",
                              str(Path(tmp) / "one.json"), *model])[0] for p in sample)
            print(f"`analyze` once per file ({len(sample)} files): {wall:.1f} s, {seconds / wall:.0f}x real time")

        import torch

        if torch.cuda.is_available():
            out = Path(tmp) / "results-gpu"
            wall, _ = timed([*cli, "batch", str(root), "--out", str(out), "--device", "cuda", "--quiet", *model])
            print(f"GPU ({torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}): batch {wall:.1f} s, "
                  f"{hours * 3600 / wall:.0f}x real time")
        else:
            print("GPU: none on this machine")


if __name__ == "__main__":
    main()
