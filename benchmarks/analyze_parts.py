"""Where `analyze` spends its CPU time: each stage alone, on one thread, in CPU-seconds per hour of audio.

    python benchmarks/analyze_parts.py                      # generated 60-minute 44.1 kHz stereo WAV
    python benchmarks/analyze_parts.py --file take.wav --model m.safetensors

Stages: importing torch (in a fresh process), decoding (read, down-mix, resample to 16 kHz), the log-mel,
and the model over 30 s stretches (the analyzer's CPU stretch length). On two cores `analyze` starts
decoding on a helper thread while torch imports, runs the model on the main thread, and computes the
log-mel on the decoding thread unless decoding is the slower of the two (a FLAC), when the model thread
takes it over. Its wall time is about the larger of (decoding + log-mel) and (import + model) on a WAV,
of decoding and (import + log-mel + model) on a FLAC. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analyze_speed import make_recording


def import_seconds() -> float:
    """Wall time of `import torch` in a fresh interpreter (what every command pays before work starts)."""
    code = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def stage_seconds(recording: Path, model: str | None) -> dict[str, float]:
    import torch

    from studio_tagger.analysis.device import place_module
    from studio_tagger.audio import iter_blocks
    from studio_tagger.features import LogMel, StreamingLogMel
    from studio_tagger.models import load_model

    torch.set_num_threads(1)
    loaded = load_model(model)
    out: dict[str, float] = {}
    started = time.process_time()
    blocks = list(iter_blocks(recording, loaded.features.sample_rate, 30.0))
    out["decode"] = time.process_time() - started
    stream = StreamingLogMel(LogMel(loaded.features))
    with torch.inference_mode():
        started = time.process_time()
        feats = [stream.push(block) for block in blocks]
        out["log-mel"] = time.process_time() - started
        module = place_module(loaded.module, torch.device("cpu"))
        started = time.process_time()
        for f in feats:
            module(f.unsqueeze(0))
        out["model"] = time.process_time() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--file", help="use this recording instead of generating one")
    parser.add_argument("--model", help="model (default: the shipped one)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(args.file) if args.file else Path(tmp) / "long.wav"
        if not args.file:
            print(f"generating {args.minutes:g} min of 44.1 kHz stereo ...", file=sys.stderr)
            make_recording(recording, args.minutes)
        info = sf.info(str(recording))
        hours = info.frames / info.samplerate / 3600
        stages = stage_seconds(recording, args.model)
    print(f"recording: {hours * 60:.1f} min, {info.samplerate} Hz, {info.channels} ch, {info.subtype}; one thread")
    print(f"import torch:  {import_seconds():5.2f} s per process")
    for name, seconds in stages.items():
        print(f"{name + ':':<14} {seconds / hours:5.2f} CPU-s per hour of audio")


if __name__ == "__main__":
    main()
