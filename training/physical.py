"""Physical-model phrases: the Synthesis ToolKit's waveguide instruments (Debian package ``stk``), played by
its ``stk-demo`` program from SKINI score files.

A timbre family that shares nothing with the sampled banks: a reed on a bore (Clarinet, BlowHole,
Saxofony), a jet (Flute), a bow on a string (Bowed), lips on a tube (Brass) and plucked strings (Plucked,
StifKarp: distorted by `training.amp`). Breath or bow pressure, reed stiffness, noise and vibrato are drawn
per phrase and move within it. STK's formant voice (VoicForm) is left out: much of what it sings is
aperiodic hiss, which would teach the female-singer lane to light up on noise.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from training.realdata import RATE


@dataclass(frozen=True)
class Voice:
    label: str
    instruments: tuple[str, ...]
    pitch: tuple[int, int]
    controls: tuple[tuple[int, int, int], ...]
    """(control number, low, high) drawn per phrase (0..128)."""
    vibrato: tuple[int, int] = (1, 11)
    """(vibrato gain, vibrato frequency) control numbers."""
    vibrato_depth: int = 30
    """Highest vibrato gain drawn (0..128)."""
    chords: bool = False


VOICES: dict[str, Voice] = {
    "clarinet": Voice("clarinet", ("Clarinet", "BlowHole"), (50, 86), ((2, 40, 100), (4, 5, 40), (128, 70, 120))),
    "flute": Voice("flute", ("Flute",), (60, 93), ((2, 40, 90), (4, 10, 60), (128, 70, 120))),
    "tenor saxophone": Voice("tenor saxophone", ("Saxofony",), (44, 80),
                             ((2, 40, 100), (4, 40, 100), (11, 10, 90), (26, 5, 40), (128, 70, 120)),
                             vibrato=(1, 29)),
    "violin": Voice("violin", ("Bowed",), (55, 93), ((2, 40, 110), (4, 10, 100), (128, 80, 127))),
    "trumpet": Voice("trumpet", ("Brass",), (54, 84), ((2, 50, 100), (4, 30, 100), (128, 80, 127))),
    "distorted electric guitar": Voice("distorted electric guitar", ("Plucked", "StifKarp"), (40, 76),
                                       ((2, 20, 100), (4, 80, 127)), chords=True),
}


def available() -> bool:
    return shutil.which("stk-demo") is not None


def score(voice: Voice, rng: np.random.Generator, seconds: float) -> tuple[str, str]:
    """(instrument, SKINI text) of one phrase about ``seconds`` long."""
    instrument = str(rng.choice(voice.instruments))
    lines = [f"ControlChange 0.0 1 {c} {int(rng.integers(lo, hi + 1))}" for c, lo, hi in voice.controls]
    gain, rate = voice.vibrato
    lines.append(f"ControlChange 0.0 1 {rate} {int(rng.integers(30, 70))}")
    lines.append(f"ControlChange 0.0 1 {gain} {int(rng.integers(0, voice.vibrato_depth + 1))}")
    low, high = voice.pitch
    pitch = int(rng.integers(low + 4, high - 4))
    beat = float(rng.uniform(0.15, 0.6))
    t, pending = 0.0, 0.0
    while t < seconds:
        dur = beat * float(rng.choice([0.5, 1, 1, 1.5, 2, 3]))
        pitch = int(np.clip(pitch + rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 7, -7]), low, high))
        notes = [pitch, pitch + 7, pitch + 12] if voice.chords and rng.random() < 0.6 else [pitch]
        for k, p in enumerate(notes):
            lines.append(f"NoteOn {pending if k == 0 else 0.0:.4f} 1 {p} {int(rng.integers(70, 128))}")
            pending = 0.0
        c, lo, hi = voice.controls[-1]
        lines.append(f"ControlChange {dur * 0.5:.4f} 1 {c} {int(rng.integers(lo, hi + 1))}")
        gap = float(rng.uniform(0.0, 0.25)) if rng.random() < 0.5 else 0.0
        for k, p in enumerate(notes):
            lines.append(f"NoteOff {dur * 0.5 if k == 0 else 0.0:.4f} 1 {p} 64")
        pending = gap
        t += dur + gap
    return instrument, "\n".join(lines) + "\n"


def render(voice: Voice, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """One phrase of ``voice`` at RATE (stk-demo renders at 44.1 kHz; resampled here)."""
    instrument, text = score(voice, rng, seconds)
    with tempfile.TemporaryDirectory(prefix="stk-") as tmp:
        ski, wav = Path(tmp) / "phrase.ski", Path(tmp) / "phrase.wav"
        ski.write_text(text)
        subprocess.run(["stk-demo", instrument, "-n", "4", "-s", "44100", "-ow", str(wav), "-if", str(ski)],
                       capture_output=True, check=True, timeout=120)
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    return soxr.resample(audio.mean(axis=1), rate, RATE).astype(np.float32)
