"""Whole-process speed and peak memory of `studio-tagger analyze` against the paper's per-window path.

Generates a long 44.1 kHz stereo WAV or FLAC (not committed), then runs, each as its own process:
  decode  decoding and resampling the file to the model's rate, nothing else: the floor any analysis pays
  ours    `studio-tagger analyze FILE --quiet --json OUT` (log-mel once over the file, fully convolutional model)
  paper   ASTFeatureExtractor on every 2 s window at the same hop, then the paper's CNN
and prints wall time, x real time, peak resident memory (the child's ru_maxrss) and ours over the floor.

    python benchmarks/analyze_speed.py                  # 60-minute WAV, all three
    python benchmarks/analyze_speed.py --flac --skip-paper
    python benchmarks/analyze_speed.py --minutes 10 --skip-paper
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from studio_tagger.shipped import model_sample_rate


def make_recording(path: Path, minutes: float, rate: int = 44100, subtype: str = "PCM_16") -> None:
    """Tones, chords and noise changing every few seconds, written in one-minute blocks (stereo; the
    container follows the file name: .wav, .rf64, .w64...)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", rate, 2, subtype=subtype) as f:
        for minute in range(int(np.ceil(minutes))):
            n = int(min(60.0, minutes * 60 - minute * 60) * rate)
            t = np.arange(n) / rate
            freqs = rng.uniform(110, 1760, size=3)
            x = sum(0.15 * np.sin(2 * np.pi * fr * t) for fr in freqs) + 0.02 * rng.standard_normal(n)
            f.write(np.stack([x, 0.8 * x], axis=1).astype(np.float32))


def run_child(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process, from its own rusage."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(argv)}\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024


DECODE_ONLY = """
import sys
from studio_tagger.audio import iter_blocks
for _ in iter_blocks(sys.argv[1], int(sys.argv[2]), 30.0):
    pass
"""


def paper_path(path: str, hop: float, model: str | None) -> None:
    """The paper's way: per-window feature extraction, then the CNN (run in a child process)."""
    import torch
    from transformers import ASTFeatureExtractor

    from studio_tagger.audio import read_mono
    from studio_tagger.models import PaperCNN, load_model

    torch.set_num_threads(os.cpu_count() or 1)
    module = load_model(model).module if model else PaperCNN().eval()
    extractor = ASTFeatureExtractor(max_length=198)
    audio = read_mono(path, 16000)
    win, step = 32000, int(hop * 16000)
    starts = range(0, max(1, len(audio) - win + step), step)
    batch: list[np.ndarray] = []
    with torch.inference_mode():
        for s in starts:
            window = audio[s : s + win]
            if len(window) < win:
                window = np.pad(window, (0, win - len(window)))
            batch.append(extractor(window, sampling_rate=16000, return_tensors="np")["input_values"][0])
            if len(batch) == 32:
                module(torch.from_numpy(np.stack(batch)))
                batch.clear()
        if batch:
            module(torch.from_numpy(np.stack(batch)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--model", help="our model (default: the shipped one)")
    parser.add_argument("--paper-model", help="a trained paper_cnn checkpoint (default: random weights)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--file", help="use this recording instead of generating one")
    parser.add_argument("--flac", action="store_true", help="generate a FLAC (slower to decode) instead of a WAV")
    parser.add_argument("--paper-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.paper_child:
        paper_path(args.paper_child, args.hop, args.paper_model)
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.file:
            recording = Path(args.file)
        else:
            recording = Path(tmp) / ("long.flac" if args.flac else "long.wav")
            print(f"generating {args.minutes:g} min of 44.1 kHz stereo {recording.suffix} ...", file=sys.stderr)
            make_recording(recording, args.minutes)
        info = sf.info(str(recording))
        seconds = info.frames / info.samplerate
        ours = [sys.executable, "-m", "studio_tagger.cli", "analyze", str(recording), "--quiet", "--hop",
                str(args.hop), "--device", args.device, "--json", str(Path(tmp) / "out.json")]
        if args.model:
            ours += ["--model", args.model]
        rate = model_sample_rate(args.model)
        floor, floor_peak = run_child([sys.executable, "-c", DECODE_ONLY, str(recording), str(rate)])
        wall, peak = run_child(ours)
        print(f"recording: {seconds / 60:.1f} min, {info.samplerate} Hz, {info.channels} ch, {info.format}, "
              f"{os.path.getsize(recording) / 1e6:.0f} MB; hop {args.hop} s; {os.cpu_count()} CPU cores")
        print(f"decode to {rate} Hz:  {floor:7.1f} s  {seconds / floor:7.0f}x real time  peak RSS {floor_peak:6.0f} MB")
        print(f"analyze (ours):      {wall:7.1f} s  {seconds / wall:7.0f}x real time  peak RSS {peak:6.0f} MB  "
              f"{wall / floor:.2f}x the decoding")
        if args.skip_paper:
            return
        paper = [sys.executable, __file__, "--paper-child", str(recording), "--hop", str(args.hop)]
        if args.paper_model:
            paper += ["--paper-model", args.paper_model]
        pwall, ppeak = run_child(paper)
        print(f"paper per-window:    {pwall:7.1f} s  {seconds / pwall:7.0f}x real time  peak RSS {ppeak:6.0f} MB")
        print(f"speed-up: {pwall / wall:.1f}x")


if __name__ == "__main__":
    main()
