"""Render a Medley-solos-DB-shaped training set from the GM SoundFonts.

    python -m training.synth --out DIR --banks FluidR3_GM,MuseScore_General,TimGM6mb,sf_GMbank \\
        --clips-per-instrument N --accompaniment-clips M --seed 0 --jobs 2 [--timbre-shifts=-3,3]
        [--variants piano,oneshots,saxophones]

DIR is a Medley-solos-DB root for the eight labels (subset = bank name, or BANK+K / BANK-K for a render
with its timbre shifted by K semitones, BANK~textures, BANK~oneshots or BANK~saxophones for labels played
in the textures or by the instruments of `training.phrases.TEXTURE_VARIANTS`; extra columns family,
program, preset); DIR/accompaniment is a second root in the same layout for other instruments
(instrument_id -1).
Clips are 16-bit PCM mono 44.1 kHz WAV of 131,072 samples, peak-normalised to -1 dBFS.

Work is split into jobs of at most CHUNK_CLIPS clips of one (bank, program). A job writes its phrases into
one MIDI file with silent gaps, renders it with one FluidSynth run, trims each phrase to where it sounds and
cuts consecutive clips from it, skipping clips that are mostly silence. The same seed gives the same MIDI
and so the same clips; a finished job leaves DIR/.parts/<job>.csv and is skipped when run again. The
metadata rows of the banks being rendered are rewritten; rows of other banks from earlier runs are kept,
so banks can be rendered one run at a time into the same DIR.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from studio_tagger.atomic import atomic_write
from studio_tagger.labels import LABELS
from studio_tagger.progress import progress
from training.medley import (
    METADATA,
    NOT_A_LABEL,
    Record,
    audio_path,
    read_csv,
    read_metadata,
    write_csv,
    write_metadata,
)
from training.phrases import (
    ACCOMPANIMENT_STYLES,
    LABEL_STYLES,
    TEXTURE_VARIANTS,
    VARIANT_SUBSETS,
    Style,
    get_style,
    random_phrase,
)
from training.render import SAMPLE_RATE, Part, Placement, frame_rms, render, sounding_extent
from training.soundfonts import (
    DRUM_BANK,
    SAMPLED_BANKS,
    SOUNDFONTS,
    get_soundfont,
    read_presets,
    style_programs,
)

CLIP_SAMPLES = 131_072
CHUNK_CLIPS = 64
GAP_SECONDS = 2.5
"""Silence after each phrase's last note-off: room for release and reverb before the next phrase."""
PEAK = 10 ** (-1 / 20)
MAX_ROUNDS = 4
DEFAULT_OUT = Path.home() / ".cache" / "studio-tagger" / "synth"
ACCOMPANIMENT_DIR = "accompaniment"
PARTS_DIR = ".parts"
MAX_SHIFT = 12
"""Largest timbre shift, in semitones."""


@dataclass(frozen=True)
class Job:
    bank: str
    instrument: str
    program: int
    chunk: int
    clips: int
    seed: int
    shift: int = 0
    """Timbre shift in semitones (see `training.render.render`); 0 renders the bank as it is."""
    variant: str = ""
    """A `TEXTURE_VARIANTS` name: played in that variant's style instead of the label's own."""

    @property
    def subset(self) -> str:
        """The metadata subset: the bank, with the shift appended (``FluidR3_GM+3``) for shifted renders
        and the variant's suffix (``~textures``, ``~oneshots``) for a texture variant."""
        bank = f"{self.bank}{self.shift:+d}" if self.shift else self.bank
        return f"{bank}~{VARIANT_SUBSETS[self.variant]}" if self.variant else bank

    @property
    def style(self) -> Style:
        return TEXTURE_VARIANTS[self.variant][self.instrument] if self.variant else get_style(self.instrument)

    @property
    def label_id(self) -> int:
        return LABELS.index(self.instrument) if self.instrument in LABELS else NOT_A_LABEL

    @property
    def key(self) -> str:
        """File-safe name that changes whenever the job's output would."""
        name = self.instrument.replace(" ", "_")
        return f"{self.subset}-{name}-p{self.program:03d}-c{self.chunk:03d}-n{self.clips}-s{self.seed}"

    def root(self, out: Path) -> Path:
        return out if self.label_id != NOT_A_LABEL else out / ACCOMPANIMENT_DIR

    def part_csv(self, out: Path) -> Path:
        """The job's own records, written once all its clips are on disk."""
        return out / PARTS_DIR / f"{self.key}.csv"


def split_counts(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder, so the parts sum to total)."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    parts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - parts), kind="stable")[: total - parts.sum()]:
        parts[i] += 1
    return parts.tolist()


def plan(banks: Sequence[str], clips_per_instrument: int, accompaniment_clips: int, seed: int,
         shifts: Sequence[int] = (0,), variants: Sequence[str] = ()) -> list[Job]:
    """Every job: per bank and timbre shift, ``clips_per_instrument`` clips of each label and
    ``accompaniment_clips`` clips spread evenly over the accompaniment instruments, each split over the
    programs the bank has. With ``variants`` (names of `TEXTURE_VARIANTS`), only the labels each variant
    plays, in its textures."""
    jobs = []
    for bank, shift in ((b, k) for b in banks for k in shifts):
        if variants:
            wanted = [(style, clips_per_instrument, v) for v in variants for style in TEXTURE_VARIANTS[v].values()]
        else:
            wanted = [(s, clips_per_instrument, "") for s in LABEL_STYLES.values()]
            per_acc = split_counts(accompaniment_clips, [1.0] * len(ACCOMPANIMENT_STYLES))
            wanted += [(s, n, "") for s, n in zip(ACCOMPANIMENT_STYLES.values(), per_acc, strict=True)]
        for style, count, variant in wanted:
            programs = style_programs(style, get_soundfont(bank))
            if not programs or count == 0:
                continue
            for (program, _), n in zip(programs, split_counts(count, [w for _, w in programs]), strict=True):
                for chunk, size in enumerate(split_counts(n, [1.0] * -(-n // CHUNK_CLIPS))):
                    jobs.append(Job(bank, style.name, program, chunk, size, seed, shift, variant))
    return jobs


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def _song_base(job: Job) -> int:
    """First song id of a job; each phrase is a song, so its clips stay together in song-aware splits."""
    bank_index = list(SOUNDFONTS).index(job.bank)
    slot = job.program + (128 if job.style.drums else 0)
    variant = job.shift % (2 * MAX_SHIFT + 1)  # 0 unshifted, so those ids are what they always were
    if job.variant:  # a texture variant: ids of their own, past every shift's
        variant += (2 * MAX_SHIFT + 1) * (1 + list(TEXTURE_VARIANTS).index(job.variant))
    return (((variant * 100 + bank_index) * 256 + slot) * 1000 + job.chunk) * 1000


def usable(clip: np.ndarray) -> bool:
    """A clip worth training on: not near-silent, and sounding (within 30 dB of its peak) most of the time."""
    env = frame_rms(clip)
    if env.size == 0 or env.max() < 1e-4:
        return False
    return float(np.mean(env >= env.max() * 10 ** (-30 / 20))) >= 0.6


def cut_clips(segment: np.ndarray, rng: np.random.Generator, size: int = CLIP_SAMPLES,
              most: int | None = None) -> list[np.ndarray]:
    """Consecutive ``size``-long clips (at most ``most``) from where ``segment`` sounds, at a random offset
    within the slack."""
    extent = sounding_extent(segment)
    if extent is None:
        return []
    sounding = segment[extent[0]: extent[1]]
    n = len(sounding) // size if most is None else min(most, len(sounding) // size)
    if n == 0:
        return []
    offset = int(rng.integers(0, len(sounding) - n * size + 1))
    return [sounding[offset + k * size: offset + (k + 1) * size] for k in range(n)]


def render_job(job: Job, out: Path) -> list[Record]:
    """Render one job's clips into ``out`` (or reuse them when done before); returns their records."""
    root = job.root(out)
    part_csv = job.part_csv(out)
    if part_csv.exists():
        done = read_csv(part_csv, root)
        if all(r.path.exists() for r in done):
            return done
    style, sfont = job.style, get_soundfont(job.bank)
    preset = read_presets(sfont.path)[(DRUM_BANK if style.drums else 0, job.program)]
    rng = np.random.default_rng([job.seed, _stable(job.subset), _stable(job.instrument), job.program, job.chunk])
    records: list[Record] = []
    phrase_no = 0
    for _ in range(MAX_ROUNDS):
        need = job.clips - len(records)
        if need <= 0:
            break
        placements, t, estimate = [], 0.0, 0
        while estimate < need * 1.1 + 1:  # extra phrases make up for clips found mostly silent
            phrase = random_phrase(style, rng, (4.5, 12.0))
            placements.append(Placement(t, phrase, int(rng.integers(10, 70)), int(rng.integers(0, 40))))
            estimate += int(phrase.end * SAMPLE_RATE // CLIP_SAMPLES)
            t += phrase.end + GAP_SECONDS
        audio = render([Part(job.program, tuple(placements), drums=style.drums)], sfont, t,
                       room_size=float(rng.uniform(0.1, 0.8)), shift=job.shift)
        for pl in placements:
            a = int(pl.time * SAMPLE_RATE)
            b = int((pl.time + pl.phrase.end + GAP_SECONDS) * SAMPLE_RATE)
            for k, clip in enumerate(cut_clips(audio[a:b], rng)):
                if len(records) == job.clips or not usable(clip):
                    continue
                uid = str(uuid.UUID(bytes=hashlib.md5(f"{job.key}/{phrase_no}/{k}".encode()).digest(), version=4))
                record = Record(audio_path(root, job.subset, job.label_id, uid), job.instrument, job.label_id,
                                job.subset, _song_base(job) + phrase_no, uid,
                                {"family": sfont.family, "program": str(job.program), "preset": preset})
                write_clip(record.path, clip)
                records.append(record)
            phrase_no += 1
    write_csv(part_csv, records)
    return records


def write_clip(path: Path, clip: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM WAV at ``rate``, peak-normalised to -1 dBFS, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scaled = clip * (PEAK / max(float(np.abs(clip).max()), 1e-9))
    with atomic_write(path, "wb") as f:
        sf.write(f, scaled, rate, format="WAV", subtype="PCM_16")


def run_jobs(jobs: Sequence, out: Path, workers: int, show_progress: bool,
             render: Callable = render_job) -> tuple[list[Record], list]:
    """``render(job, out)`` for every job on ``workers`` processes; (records in job order, failed jobs).
    One failing job is reported and the others go on, so a rerun redoes only what failed or is missing."""
    results: dict = {}
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(render, job, out): job for job in jobs}
        for fut in progress(as_completed(futures), len(futures), "rendering jobs", force=show_progress):
            job = futures[fut]
            try:
                results[job] = fut.result()
            except Exception as e:  # one bad bank/program must not lose the other jobs' work
                print(f"\njob {job.key} failed: {e}", file=sys.stderr)
                failed.append(job)
    return [r for job in jobs if job in results for r in results[job]], failed


def synthesize(out: Path, jobs: Sequence[Job], workers: int = 2,
               show_progress: bool = False) -> tuple[list[Record], list[Job]]:
    """Run ``jobs`` on ``workers`` processes and write both metadata files.

    Returns (records written, jobs that failed); a rerun redoes only the failed and missing jobs.
    """
    ordered, failed = run_jobs(jobs, out, workers, show_progress)
    banks = {job.subset for job in jobs}
    _update_metadata(out, [r for r in ordered if r.label_id != NOT_A_LABEL], banks)
    _update_metadata(out / ACCOMPANIMENT_DIR, [r for r in ordered if r.label_id == NOT_A_LABEL], banks)
    return ordered, failed


def _update_metadata(root: Path, records: list[Record], banks: set[str]) -> None:
    """Write ``records`` as the rows of subsets ``banks``, keeping rows of other subsets rendered by earlier
    runs (a bank's shifted render is a subset of its own)."""
    kept = [r for r in read_metadata(root) if r.subset not in banks] if (root / METADATA).exists() else []
    if kept or records:
        write_metadata(root, kept + records)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.synth", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"dataset root (default {DEFAULT_OUT})")
    parser.add_argument("--banks", default=",".join(SAMPLED_BANKS), help="comma-separated SoundFont names")
    parser.add_argument("--clips-per-instrument", type=int, default=500, help="per label and bank")
    parser.add_argument("--accompaniment-clips", type=int, default=0,
                        help="per bank, spread over the accompaniment instruments")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timbre-shifts", default="0",
                        help="comma-separated semitones, e.g. 0,-3,3: each bank is rendered once per shift, "
                             "a non-zero one moving its spectral envelope (same pitches) as subset BANK+K "
                             "(write a leading minus as --timbre-shifts=-3,3)")
    parser.add_argument("--variants", default="",
                        help="render only texture variants the plain phrases lack (comma-separated): piano "
                             "(single lines, comping chords, melody over sparse bass), oneshots (every label's "
                             "single notes with silence between), saxophones (the tenor saxophone label played "
                             "by GM's soprano, alto and baritone saxophones)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel renders")
    parser.add_argument("--progress", action="store_true", help="draw progress even when not a terminal")
    args = parser.parse_args(argv)
    banks = [b.strip() for b in args.banks.split(",") if b.strip()]
    if shutil.which("fluidsynth") is None:
        parser.error("the fluidsynth command is missing (install the Debian package fluidsynth)")
    for bank in banks:
        try:
            sfont = get_soundfont(bank)
        except ValueError as e:
            parser.error(str(e))
        if not sfont.path.exists():
            parser.error(f"SoundFont file {sfont.path} is missing (install its Debian package)")
    try:
        shifts = sorted({int(k) for k in args.timbre_shifts.split(",") if k.strip()})
    except ValueError:
        parser.error(f"--timbre-shifts: not a list of whole semitones: {args.timbre_shifts!r}")
    if not shifts or any(abs(k) > MAX_SHIFT for k in shifts):
        parser.error(f"--timbre-shifts: give one or more shifts within +-{MAX_SHIFT} semitones")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in TEXTURE_VARIANTS]
    if unknown:
        parser.error(f"--variants: no texture variant of {unknown[0]!r}; known: {', '.join(TEXTURE_VARIANTS)}")
    jobs = plan(banks, args.clips_per_instrument, args.accompaniment_clips, args.seed, shifts, variants)
    fresh = [j for j in jobs if not j.part_csv(args.out).exists()]
    start = time.monotonic()
    records, failed = synthesize(args.out, jobs, args.jobs, args.progress)
    seconds = time.monotonic() - start
    rendered = sum(j.clips for j in fresh if j not in failed)
    print(f"{len(records)} clips in {args.out}; {len(fresh)} of {len(jobs)} jobs rendered now "
          f"({len(failed)} failed), {rendered} clips in {seconds:.1f} s = {rendered / max(seconds, 1e-9):.1f} clips/s",
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
