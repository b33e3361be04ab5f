"""Peak memory of `studio-tagger analyze` on long recordings: it must not grow with the length beyond
the activity matrix (8 labels x one float32 per 0.5 s = 230 kB per hour; its JSON output is larger).

Recordings are generated on the fly in a temporary folder (16 kHz stereo 16-bit WAV: 1 h = 230 MB,
10 h = 2.3 GB) and removed afterwards; each analysis runs as its own process, and its peak resident
memory is read from the child's rusage (ru_maxrss).

    python benchmarks/memory_long.py                   # 1 min, 1 h and 10 h
    python benchmarks/memory_long.py --hours 1 --rf64  # plus a 4.2 h 48 kHz 24-bit RF64 file (4.3 GB)
    python benchmarks/memory_long.py --tmp /big/disk   # where the files go (needs ~7 GB with --rf64)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import soundfile as sf
from analyze_speed import make_recording, run_child

RF64_HOURS = 4.2  # 48 kHz stereo 24-bit passes 4 GiB, the limit of a plain RIFF WAV, after 4.14 h


def measure(recording: Path, out: Path, args: argparse.Namespace) -> tuple[float, float]:
    argv = [sys.executable, "-m", "studio_tagger.cli", "analyze", str(recording), "--quiet", "--device", args.device,
            "--json", str(out)]
    if args.model:
        argv += ["--model", args.model]
    return run_child(argv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[1 / 60, 1.0, 10.0])
    parser.add_argument("--rf64", action="store_true", help="also a > 4 GB RF64 file (48 kHz stereo 24-bit)")
    parser.add_argument("--model", help="default: the shipped model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tmp", help="folder for the generated recordings (default: the system's temp folder)")
    args = parser.parse_args()

    runs = [(hours, 16000, "PCM_16", ".wav") for hours in args.hours]
    if args.rf64:
        runs.append((RF64_HOURS, 48000, "PCM_24", ".rf64"))
    print(f"{'length':>8} {'format':>22} {'file':>9} {'wall':>8} {'x real':>7} {'peak RSS':>9} {'JSON':>8}")
    for hours, rate, subtype, suffix in runs:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            recording = Path(tmp) / f"long{suffix}"
            print(f"generating {hours:g} h ...", file=sys.stderr, flush=True)
            make_recording(recording, hours * 60, rate=rate, subtype=subtype)
            info = sf.info(str(recording))
            out = Path(tmp) / "analysis.json"
            wall, peak = measure(recording, out, args)
            seconds = info.frames / info.samplerate
            kind = f"{info.format} {info.samplerate // 1000} kHz {subtype}"
            print(f"{seconds / 3600:7.2f}h {kind:>22} {os.path.getsize(recording) / 1e9:7.2f}GB {wall:7.1f}s "
                  f"{seconds / wall:6.0f}x {peak:7.0f}MB {out.stat().st_size / 1e6:6.1f}MB", flush=True)
    print(f"device {args.device}, {os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
