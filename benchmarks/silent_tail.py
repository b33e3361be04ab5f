"""What a silent tail does to a file's score (`classify`, `batch`): phrases rendered from TimGM6mb, each
analysed alone and with seconds of digital silence after it. Prints, per phrase, the true label's score
alone, with the tail as scored now (over the bins that sound) and as the plain mean over every bin would
score it, and the cost of keeping each bin's level for an hour of audio.

    python benchmarks/silent_tail.py [--model M] [--per-label 2] [--tail 8] [--seed 20261201]

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.levels import BinLevels
from training.medley import read_metadata
from training.synth import plan, synthesize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model (default: the shipped one)")
    ap.add_argument("--per-label", type=int, default=2, help="phrases per instrument")
    ap.add_argument("--tail", type=float, default=8.0, help="seconds of silence after each phrase")
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()

    analyzer = Analyzer(args.model, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synthesize(folder, plan(["TimGM6mb"], args.per_label, 0, seed=args.seed), workers=2)
        print(f"{'label':<26} {'alone':>6} {'tail':>6} {'plain':>6}  top label alone / with the tail")
        for r in sorted(read_metadata(folder), key=lambda r: r.label):
            x, rate = sf.read(r.path, dtype="float32", always_2d=True)
            tailed = folder / f"tailed-{r.path.name}"
            sf.write(tailed, np.concatenate([x, np.zeros((int(args.tail * rate), x.shape[1]), np.float32)]), rate)
            alone, after = analyzer.analyze(r.path), analyzer.analyze(tailed)
            plain = float(after.activity[:, list(after.labels).index(r.label)].mean())
            print(f"{r.label:<26} {alone.mean_scores()[r.label]:6.2f} {after.mean_scores()[r.label]:6.2f} "
                  f"{plain:6.2f}  {alone.best_label()} / {after.best_label()}")

    block = np.random.default_rng(0).standard_normal(16000 * 30).astype(np.float32)
    levels, began = BinLevels(8000), time.perf_counter()
    for _ in range(120):  # one hour at the model's 16 kHz, in the analyzer's 30 s blocks
        levels.push(block)
    print(f"bin levels: {time.perf_counter() - began:.2f} s for one hour of audio")


if __name__ == "__main__":
    main()
