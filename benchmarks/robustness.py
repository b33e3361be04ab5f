"""Does the same music get the same lanes when it reaches the program another way? Phrases rendered from
FluidR3_GM (a training bank: the question here is the path, not the timbre), each analysed as a plain
stereo file and as variants a user's recordings bring: a channel in opposite polarity, a spaced pair (the
right channel the left delayed), a low sample rate, a quiet level, and two piano textures the training
phrases do not hold (a single line; detached block chords).

    python benchmarks/robustness.py [--model M] [--delays-ms 0.1,0.25,1]

Prints, per phrase and variant, the true lane's mean activity over the music and the top lane. Renders
with `training.render` (FluidSynth), as the training sets are. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from studio_tagger.analysis import Analyzer
from training.phrases import Note, Phrase
from training.render import SAMPLE_RATE, Part, Placement, render
from training.soundfonts import get_soundfont

RATE = SAMPLE_RATE  # the renderer's
LEAD = 1.0  # seconds of silence before and after the music

# (name, GM program, true lane, lowest and highest pitch, texture)
PHRASES = (
    ("trumpet", 56, "trumpet", 60, 79, "line"),
    ("flute", 73, "flute", 72, 93, "line"),
    ("violin", 40, "violin", 62, 88, "line"),
    ("tenor sax", 66, "tenor saxophone", 50, 70, "line"),
    ("distorted guitar", 30, "distorted electric guitar", 52, 72, "line"),
    ("piano, melody over chords", 0, "piano", 48, 84, "two hands"),
    ("piano, single line", 0, "piano", 60, 84, "line"),
    ("piano, detached block chords", 0, "piano", 55, 76, "chords"),
)


BEAT = 0.5  # seconds: 120 bpm


def _notes(low: int, high: int, texture: str, rng: np.random.Generator) -> tuple[Note, ...]:
    """About 12 s of a stepwise C-major melody at 120 bpm; "two hands" adds a left hand of sustained
    triads an octave and more below, "chords" plays each note as a detached triad."""
    scale = [p for p in range(low, high + 1) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    notes: list[Note] = []
    beat, index = 0.0, len(scale) // 2
    while beat < 24:
        index = int(np.clip(index + rng.choice([-2, -1, 1, 2]), 0, len(scale) - 1))
        length = float(rng.choice([0.5, 1.0, 1.5]))
        pitches = [scale[index]]
        if texture == "chords":
            pitches = [scale[index], scale[max(0, index - 2)], scale[max(0, index - 4)]]
        sounding = length * (0.5 if texture == "chords" else 0.95)
        notes += [Note(beat * BEAT, (beat + sounding) * BEAT, p, 90) for p in pitches]
        if texture == "two hands" and beat % 2 == 0:
            root = scale[index] - 12 - (scale[index] % 12 in (2, 5, 9)) * 2
            notes += [Note(beat * BEAT, (beat + 1.96) * BEAT, p, 70) for p in (root - 12, root - 5, root)]
        beat += length
    return tuple(notes)


def _render(program: int, low: int, high: int, texture: str, seed: int) -> np.ndarray:
    """The phrase as mono float64 at RATE, its peak at -3 dBFS, with LEAD seconds of silence either side."""
    phrase = Phrase(_notes(low, high, texture, np.random.default_rng(seed)), ())
    x = render([Part(program, (Placement(0.0, phrase),))], get_soundfont("FluidR3_GM"), phrase.end + 2.0)
    x = x.astype(np.float64)
    sounding = np.nonzero(np.abs(x) > 1e-4)[0]
    x = x[sounding[0]: sounding[-1] + 1]
    x = x / np.abs(x).max() * 10 ** (-3 / 20)
    pad = np.zeros(int(LEAD * RATE))
    return np.concatenate([pad, x, pad])


def _variants(x: np.ndarray, delays_ms: list[float]) -> dict[str, tuple[np.ndarray, int]]:
    out = {"stereo (reference)": (np.stack([x, x], axis=1), RATE),
           "right channel inverted": (np.stack([x, -x], axis=1), RATE)}
    for ms in delays_ms:
        shift = int(round(ms / 1000 * RATE))
        delayed = np.concatenate([np.zeros(shift), x[: len(x) - shift]])
        out[f"right delayed {ms:g} ms"] = (np.stack([x, delayed], axis=1), RATE)
    out["11.025 kHz"] = (soxr.resample(x, RATE, 11025), 11025)
    out["-40 dB"] = (x * 10 ** (-40 / 20), RATE)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: shipped)")
    parser.add_argument("--delays-ms", default="0.1,0.25,1", help="delays of the right channel, comma-separated")
    args = parser.parse_args()
    analyzer = Analyzer(args.model, device="cpu")
    delays = [float(d) for d in args.delays_ms.split(",") if d]
    print(f"model {analyzer.model.name}; true lane's mean activity over the music (top lane where another)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seed, (name, program, lane, low, high, texture) in enumerate(PHRASES):
            x = _render(program, low, high, texture, seed)
            cells = []
            for variant, (audio, rate) in _variants(x, delays).items():
                path = folder / "variant.wav"
                sf.write(path, audio, rate, subtype="FLOAT")
                result = analyzer.analyze(path)
                music = (result.times > LEAD + 0.5) & (result.times < len(x) / RATE - LEAD - 0.5)
                means = result.activity[music].mean(axis=0)
                top = result.labels[int(means.argmax())]
                j = result.labels.index(lane)
                cells.append(f"{variant}: {means[j]:.2f}" + ("" if top == lane else f" ({top})"))
            print(f"{name}\n  " + "\n  ".join(cells))


if __name__ == "__main__":
    main()
