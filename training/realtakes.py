"""Long takes played from real notes: a bed of real horn, bassoon, tuba, trombone and harp, with solos strung
from the real notes of chosen sources on top (or none, to count false regions).

    python -m training.realtakes --out DIR --solo-sources mtg_solosax,splendid_piano --minutes 3 --seed 500
    python -m training.realtakes --out DIR --accompaniment-only --minutes 3 --seed 600 --count 2
    python -m training.realtakes --out DIR --solo-sources splendid_piano --piano-lines --minutes 8 --seed 540

With ``--piano-lines`` the pianos play their solos with one hand (`notephrases.piano_lines`: a melody, a
bass line or slow single notes), the way the model names least often; other instruments play as usual.

Same output as `training.takes` (a mono FLAC and its truth JSON per take), so `training.evaluate takes` and
`training.calibrate` read them as they are. A solo's truth is where it sounds (within 30 dB of its loudest
moment), and it is mixed 6-10 dB (RMS) above the bed there. ``bank`` in the truth is ``real:<sources>``.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soxr

from training import notephrases
from training.realdata import RATE, Note, groups, read_manifest, realdata_root, salamander_notes
from training.render import SAMPLE_RATE as TAKE_RATE
from training.render import sounding_extent
from training.takes import FADE_SECONDS, PEAK, SOLO_ABOVE_BED_DB, TRUTH_FLOOR_DB, Solo, Take, rms, write_take

BED_LINES = ("tonejs_vso2/french horn", "tonejs_vso2/bassoon", "tonejs_vso2/tuba", "tonejs_vso2/trombone")
BED_HARP = "tonejs_vso2/harp"


def bed(by_group: dict[str, list[Note]], rng: np.random.Generator, seconds: float,
        bed_lines: Sequence[str] = BED_LINES) -> np.ndarray:
    """Two or three low lines (of ``bed_lines``) and often a harp, each a chain of phrases with short
    breaths between."""
    n = int(seconds * RATE)
    out = np.zeros(n, np.float32)
    lines = [str(g) for g in rng.choice(bed_lines, size=int(rng.integers(2, min(4, len(bed_lines) + 1))), replace=False)]
    if rng.random() < 0.6:
        lines.append(BED_HARP)
    for g in lines:
        track = np.zeros(n, np.float32)
        t = 0
        while t < n:
            length = float(rng.uniform(6.0, 14.0))
            make = notephrases.arpeggios if g == BED_HARP else notephrases.melodic
            phrase = make(by_group[g], rng, length)
            end = min(n, t + len(phrase))
            track[t:end] += phrase[: end - t]
            t = end + int(rng.uniform(0.2, 1.5) * RATE)
        out += track / max(rms(track), 1e-9) * float(rng.uniform(0.05, 0.1))
    return out


def render_real_take(by_group: dict[str, list[Note]], solo_groups: Sequence[str], minutes: float, seed: int,
                     name: str, bed_lines: Sequence[str] = BED_LINES, piano_lines: bool = False) -> Take:
    """A take of ``minutes``: the bed throughout, solos of 10-18 s, each label of ``solo_groups`` in turn
    (pianos played with one hand when ``piano_lines``)."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    seconds = minutes * 60.0
    n = int(seconds * RATE)
    backing = bed(by_group, rng, seconds, bed_lines)
    backing[n - int(FADE_SECONDS * RATE):] *= np.linspace(1.0, 0.0, int(FADE_SECONDS * RATE), dtype=np.float32)
    stems = np.zeros(n, np.float32)
    solos: list[Solo] = []
    t = float(rng.uniform(4.0, 8.0))
    by_label: dict[str, list[str]] = {}
    for g in solo_groups:
        by_label.setdefault(str(by_group[g][0].label), []).append(g)
    queue: list[str] = []
    while by_label:
        if not queue:  # every label in turn, whatever how many groups (instruments) a source has of it
            queue = [str(x) for x in rng.permutation(sorted(by_label))]
        length = float(rng.uniform(10.0, 18.0))
        if t + length > seconds - 3.0:
            break
        notes = by_group[str(rng.choice(by_label[queue.pop(0)]))]
        one_hand = piano_lines and notephrases.kind_of(notes[0]) == "piano"
        phrase = notephrases.phrase(notes, rng, length, "piano_lines" if one_hand else None)
        a = int(t * RATE)
        extent = sounding_extent(phrase, TRUTH_FLOOR_DB)
        if extent is not None:
            s, e = a + extent[0], a + extent[1]
            gain = rms(backing[s:e]) * 10 ** (rng.uniform(*SOLO_ABOVE_BED_DB) / 20) / max(rms(phrase[extent[0]: extent[1]]), 1e-9)
            stems[a: a + len(phrase)] += phrase[: n - a] * gain
            solos.append(Solo(str(notes[0].label), round(s / RATE, 3), round(e / RATE, 3), notes[0].group))
        t += length + float(rng.uniform(3.0, 8.0))
    mix = backing + stems
    scale = PEAK / max(float(np.abs(mix).max()), 1e-9)
    audio = soxr.resample(mix * scale, RATE, TAKE_RATE).astype(np.float32)
    return Take(audio, soxr.resample(backing * scale, RATE, TAKE_RATE).astype(np.float32), {}, solos, name, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.realtakes", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--solo-sources", default="", help="sources whose labelled notes play the solos")
    parser.add_argument("--accompaniment-only", action="store_true", help="no solos: to count false regions")
    parser.add_argument("--piano-lines", action="store_true",
                        help="pianos play their solos with one hand (a melody, a bass line, slow notes)")
    parser.add_argument("--salamander", type=Path, default=None, help="Salamander OGG folder (source salamander)")
    parser.add_argument("--realdata", type=Path, default=None)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args(argv)
    if not args.accompaniment_only and not args.solo_sources:
        parser.error("give --solo-sources or --accompaniment-only")
    try:
        notes = read_manifest(realdata_root(args.realdata))
    except FileNotFoundError as e:
        parser.exit(2, f"{parser.prog}: {e}\n")
    if args.salamander:
        notes += salamander_notes(args.salamander)
    by_group = groups(notes)
    wanted = {s.strip() for s in args.solo_sources.split(",") if s.strip()}
    solo_groups = [] if args.accompaniment_only else sorted(
        g for g, v in by_group.items() if v[0].source in wanted and v[0].label is not None)
    if not args.accompaniment_only and not solo_groups:
        parser.error(f"no labelled notes in sources {sorted(wanted)}")
    name = "real:accompaniment" if args.accompaniment_only else "real:" + ",".join(sorted(wanted))
    stem = "accompaniment_real" if args.accompaniment_only else "take_real_" + "+".join(sorted(wanted))
    if args.piano_lines and not args.accompaniment_only:
        name, stem = name + "~lines", stem + "_lines"
    for seed in range(args.seed, args.seed + args.count):
        path = args.out / f"{stem}_s{seed}.flac"
        if path.exists() and path.with_suffix(".json").exists():
            print(f"{path} exists, skipped", file=sys.stderr)
            continue
        truth = write_take(render_real_take(by_group, solo_groups, args.minutes, seed, name,
                                            piano_lines=args.piano_lines), path)
        print(f"{path}: {truth['duration']:.1f} s, {len(truth['solos'])} solos", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
