"""Long takes with known solos: an accompaniment bed throughout, labelled instruments entering on top.

    python -m training.takes --out DIR --bank FluidR3_GM --minutes 3 --seed 1 [--count N]

Each take is a mono FLAC plus a JSON ground truth
``{"file", "duration", "sample_rate", "bank", "seed", "solos": [{"label", "start", "end"}]}``.
The bed (strings or organ pad, bass, often drums and harp or acoustic guitar; never one of the eight labels)
plays from the first to the last sample. Solo entries of 10-18 s follow one another with gaps of a bar or
more, every label once (in random order) before any repeats, sometimes two at once. Each solo is rendered
on its own stem so its truth is where its audio really sounds (within 30 dB of the entry's loudest
moment) and so it can be mixed 6-10 dB (RMS) above the bed in its region, like a featured solo.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from studio_tagger.atomic import atomic_write
from studio_tagger.labels import LABELS
from training.phrases import (
    ACCOMPANIMENT_STYLES,
    BEATS_PER_BAR,
    LABEL_STYLES,
    Harmony,
    make_phrase,
    pick_program,
)
from training.render import SAMPLE_RATE, Part, Placement, render, sounding_extent
from training.soundfonts import get_soundfont, style_programs

PEAK_DB = -1.0
PEAK = 10 ** (PEAK_DB / 20)
SOLO_ABOVE_BED_DB = (6.0, 10.0)
TRUTH_FLOOR_DB = -30.0
FADE_SECONDS = 1.0


@dataclass(frozen=True)
class Solo:
    label: str
    start: float
    end: float
    group: str = ""
    """The source's instrument that plays it ("mtg_solosax/soprano saxophone"), for takes of real notes;
    written to the truth only when set, so that reports can count solos found per group."""


@dataclass
class Take:
    audio: np.ndarray
    """The mix, mono float32 at SAMPLE_RATE, peak -1 dBFS."""
    bed: np.ndarray
    stems: dict[str, np.ndarray]
    """Each label's solo track as mixed (same scale as ``audio``)."""
    solos: list[Solo]
    bank: str
    seed: int

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class _Entry:
    label: str
    first_bar: int
    bars: int


def _schedule(rng: np.random.Generator, total_bars: int, bar_s: float) -> list[_Entry]:
    """Solo entries on the bar grid: every label once in random order before repeats, gaps between."""
    entries: list[_Entry] = []
    queue: list[str] = []
    bar = int(rng.integers(2, 4))  # the bed alone first
    while True:
        if not queue:
            queue = list(rng.permutation(LABELS))
        bars = max(2, round(rng.uniform(10, 18) / bar_s))
        if bar + bars > total_bars - 1:
            break
        label = queue.pop(0)
        entries.append(_Entry(label, bar, bars))
        if rng.random() < 0.2 and bars >= 4:  # a second solo joins for part of the entry
            partner = str(rng.choice([x for x in LABELS if x != label]))
            join = int(rng.integers(1, bars - 2))
            entries.append(_Entry(partner, bar + join, int(rng.integers(2, bars - join + 1))))
            if partner in queue:
                queue.remove(partner)
        bar += bars + int(rng.integers(1, 4))
    return entries


LOW_LINES = ("cello", "french horn", "bassoon", "trombone")
"""Melodic accompaniment of an accompaniment-only take: the low winds and strings that most often open
false regions (a cello line read as violin, a bassoon as saxophone)."""


def _bed_parts(rng: np.random.Generator, harmony: Harmony, total_bars: int, bank: str,
               lines: int = 0) -> list[Part]:
    """Accompaniment parts covering every bar, one phrase per four-bar block; ``lines`` of LOW_LINES
    play melodies over it."""
    sfont = get_soundfont(bank)
    names = [str(rng.choice(["strings", "organ"], p=[0.75, 0.25])),
             str(rng.choice(["double bass", "bass guitar"]))]
    if rng.random() < 0.7:
        names.append("drums")
    if rng.random() < 0.6:
        names.append(str(rng.choice(["harp", "acoustic guitar"])))
    if lines:  # drawn only then, so the takes of a seed stay what they were
        names += [str(x) for x in rng.choice(LOW_LINES, size=lines, replace=False)]
    parts = []
    for name in names:
        style = ACCOMPANIMENT_STYLES[name]
        programs = style_programs(style, sfont)
        if not programs:
            continue
        placements = tuple(
            Placement(b * BEATS_PER_BAR * harmony.beat,
                      make_phrase(style, rng, replace(harmony, first_bar=b), min(4, total_bars - b)), reverb=50)
            for b in range(0, total_bars, 4))
        parts.append(Part(pick_program(programs, rng), placements, drums=style.drums,
                          volume=100 if name in ("strings", "organ") else 85))
    return parts


def _solo_parts(rng: np.random.Generator, harmony: Harmony, entries: Sequence[_Entry], bank: str,
                label: str) -> list[Part]:
    """One label's entries, one part per program, each entry as 2-4 bar phrases back to back."""
    sfont = get_soundfont(bank)
    by_program: dict[int, list[Placement]] = {}
    for e in entries:
        program = pick_program(style_programs(LABEL_STYLES[label], sfont), rng)
        b = e.first_bar
        while b < e.first_bar + e.bars:
            bars = min(int(rng.integers(2, 5)), e.first_bar + e.bars - b)
            phrase = make_phrase(LABEL_STYLES[label], rng, replace(harmony, first_bar=b), bars)
            by_program.setdefault(program, []).append(
                Placement(b * BEATS_PER_BAR * harmony.beat, phrase, reverb=int(rng.integers(20, 60))))
            b += bars
    return [Part(p, tuple(pls)) for p, pls in by_program.items()]


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x`` (0 for no samples)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _entry_windows(entries: Sequence[_Entry], bar_s: float, length: int) -> list[tuple[int, int]]:
    """Sample ranges that can hold each entry's sound: its bars plus the release, up to the label's next entry."""
    out = []
    for i, e in enumerate(entries):
        a = int(max(0.0, e.first_bar * bar_s - 0.1) * SAMPLE_RATE)
        b = int(((e.first_bar + e.bars) * bar_s + 3.0) * SAMPLE_RATE)
        if i + 1 < len(entries):
            b = min(b, int((entries[i + 1].first_bar * bar_s - 0.1) * SAMPLE_RATE))
        out.append((a, min(b, length)))
    return out


def render_take(bank: str, minutes: float, seed: int, accompaniment_only: bool = False) -> Take:
    """Render a take of about ``minutes`` with the SoundFont ``bank``; the same arguments give the same take.
    ``accompaniment_only``: no solos, and two low melodic lines over the bed, to count false regions."""
    rng = np.random.default_rng([seed, zlib.crc32(bank.encode())])
    harmony = Harmony.random(rng, (76.0, 120.0))
    bar_s = BEATS_PER_BAR * harmony.beat
    total_bars = max(8, round(minutes * 60 / bar_s))
    length = total_bars * bar_s
    n = int(np.ceil(length * SAMPLE_RATE))
    sfont = get_soundfont(bank)
    bed = render(_bed_parts(rng, harmony, total_bars, bank, 2 if accompaniment_only else 0), sfont, length,
                 room_size=0.5)
    entries = [] if accompaniment_only else _schedule(rng, total_bars, bar_s)
    stems: dict[str, np.ndarray] = {}
    solos: list[Solo] = []
    for label in LABELS:
        mine = sorted((e for e in entries if e.label == label), key=lambda e: e.first_bar)
        if not mine:
            continue
        stem = render(_solo_parts(rng, harmony, mine, bank, label), sfont, length, room_size=0.5)
        gains = np.zeros(n, dtype=np.float32)
        for a, b in _entry_windows(mine, bar_s, n):
            extent = sounding_extent(stem[a:b], TRUTH_FLOOR_DB)
            if extent is None:
                continue
            s, e = a + extent[0], a + extent[1]
            want_db = rng.uniform(*SOLO_ABOVE_BED_DB)
            gains[a:b] = rms(bed[s:e]) * 10 ** (want_db / 20) / max(rms(stem[s:e]), 1e-9)
            solos.append(Solo(label, round(s / SAMPLE_RATE, 3), round(e / SAMPLE_RATE, 3)))
        stems[label] = stem * gains
    # A short fade on the last, still sounding bar instead of a release into silence.
    bed[n - int(FADE_SECONDS * SAMPLE_RATE):] *= np.linspace(1.0, 0.0, int(FADE_SECONDS * SAMPLE_RATE))
    mix = bed + sum(stems.values(), np.zeros(n, dtype=np.float32))
    scale = PEAK / max(float(np.abs(mix).max()), 1e-9)
    solos.sort(key=lambda s: (s.start, s.label))
    return Take((mix * scale).astype(np.float32), (bed * scale).astype(np.float32),
                {k: (v * scale).astype(np.float32) for k, v in stems.items()}, solos, bank, seed)


def write_take(take: Take, audio_path: Path, sample_rate: int = SAMPLE_RATE, peak_db: float = PEAK_DB) -> dict:
    """Write the mix as 16-bit mono FLAC and its truth as JSON beside it (same stem); returns the truth.
    ``peak_db``: the written take's peak level in dBFS (a quiet recording is -30 dB or lower)."""
    audio = take.audio if sample_rate == SAMPLE_RATE else soxr.resample(take.audio, SAMPLE_RATE, sample_rate)
    if peak_db != PEAK_DB:
        audio = audio * np.float32(10 ** ((peak_db - PEAK_DB) / 20))
    truth = {
        "file": audio_path.name,
        "duration": round(len(audio) / sample_rate, 3),
        "sample_rate": sample_rate,
        "bank": take.bank,
        "seed": take.seed,
        "peak_db": peak_db,
        "solos": [{"label": s.label, "start": s.start, "end": s.end} | ({"group": s.group} if s.group else {})
                  for s in take.solos],
    }
    audio_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(audio_path, "wb") as f:
        sf.write(f, np.clip(audio, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    with atomic_write(audio_path.with_suffix(".json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.takes", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the takes")
    parser.add_argument("--bank", default="FluidR3_GM", help="SoundFont name")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1, help="seed of the first take; the next ones count up")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--name", help="file stem (only with --count 1); default take_<bank>_s<seed>")
    parser.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help="of the written FLAC")
    parser.add_argument("--accompaniment-only", action="store_true",
                        help="no solos: the bed with two low melodic lines (cello, horn, bassoon, trombone), "
                             "to count false regions per minute")
    parser.add_argument("--peak-db", type=float, default=PEAK_DB,
                        help="peak level of the written takes in dBFS (lower it to test quiet recordings)")
    args = parser.parse_args(argv)
    if args.name and args.count != 1:
        parser.error("--name needs --count 1")
    try:
        get_soundfont(args.bank)
    except ValueError as e:
        parser.error(str(e))
    for seed in range(args.seed, args.seed + args.count):
        stem = f"{'accompaniment' if args.accompaniment_only else 'take'}_{args.bank}_s{seed}"
        path = args.out / f"{args.name or stem}.flac"
        if path.exists() and path.with_suffix(".json").exists():
            print(f"{path} exists, skipped", file=sys.stderr)
            continue
        take = render_take(args.bank, args.minutes, seed, args.accompaniment_only)
        truth = write_take(take, path, args.sample_rate, args.peak_db)
        heard = sorted({s["label"] for s in truth["solos"]})
        print(f"{path}: {truth['duration']:.1f} s, {len(truth['solos'])} solos, "
              f"{len(heard)}/{len(LABELS)} labels", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
