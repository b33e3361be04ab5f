"""Training data: one interface over three sources, decoded once to 16 kHz and held in memory.

Sources (each gives `ClipSource` items: a file, its label or none, a song id, a subset and a family):

* ``medley``: a Medley-solos-DB root (the real set or ours), read by `training.medley`. Accompaniment clips
  (instruments outside the labels, instrument_id -1) come from ``<root>/accompaniment`` when it exists (how
  `training.synth` writes them) or from any extra root or plain folder of audio files given.
* ``synth``: the same layout at a `training.synth` output folder, rendered first when it is missing.
* ``folder``: a user's library, one sub-folder per label (see `training.folder`).

`select` picks subsets by name or family (bank "TimGM6mb" or family "gm6"); `split` holds out whole songs.
`decode` turns sources into a `ClipSet`: every file cut into Medley-length clips at 16 kHz, stored as
float16 (half the memory; 11 significant bits are plenty for training audio) and cached as one .npz keyed
by the files' paths, sizes and modification times, so a second run starts in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio_tagger.atomic import atomic_write
from studio_tagger.audio import read_mono
from studio_tagger.labels import LABELS
from studio_tagger.progress import progress
from training.folder import folder_sources
from training.medley import METADATA, NOT_A_LABEL, read_metadata, song_split
from training.soundfonts import SOUNDFONTS
from training.sources import AUDIO_SUFFIXES, ClipSource

SAMPLE_RATE = 16_000
CLIP_SAMPLES = round(131_072 * SAMPLE_RATE / 44_100)
"""A Medley-solos-DB clip (131,072 samples at 44.1 kHz, 2.97 s) at 16 kHz."""
MIN_SAMPLES = 2 * SAMPLE_RATE
"""Shortest clip kept: one 2 s analysis window."""
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "studio-tagger" / "clips"


@dataclass
class Dataset:
    labels: tuple[str, ...]
    sources: list[ClipSource]
    """Labelled clips and accompaniment together; `targets`/`accompaniment` tell them apart."""

    @property
    def targets(self) -> list[ClipSource]:
        return [s for s in self.sources if s.label_id != NOT_A_LABEL]

    @property
    def accompaniment(self) -> list[ClipSource]:
        return [s for s in self.sources if s.label_id == NOT_A_LABEL]


def _family(subset: str, extra: dict) -> str:
    if extra.get("family"):
        return extra["family"]
    bank = SOUNDFONTS.get(subset)
    return bank.family if bank is not None else subset


def medley_sources(root: str | Path) -> list[ClipSource]:
    """Every clip of a Medley-solos-DB-layout root (labels in LABELS order, accompaniment as -1)."""
    return [ClipSource(r.path, r.label_id, r.song_id, r.subset, _family(r.subset, dict(r.extra)), r.label,
                       r.extra.get("group", ""))
            for r in read_metadata(root)]


def plain_folder_sources(root: str | Path, song_base: int = 10**12) -> list[ClipSource]:
    """Every audio file under ``root`` as accompaniment (no label), one song per file."""
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    return [ClipSource(p, NOT_A_LABEL, song_base + i, "accompaniment", "folder") for i, p in enumerate(files)]


def accompaniment_sources(root: str | Path) -> list[ClipSource]:
    """A Medley-layout root's clips, or a plain folder's files, all as accompaniment."""
    root = Path(root)
    if (root / METADATA).is_file():
        return [ClipSource(s.path, NOT_A_LABEL, s.song_id, s.subset, s.family, s.instrument, s.group)
                for s in medley_sources(root)]
    return plain_folder_sources(root)


def load_dataset(kind: str, root: str | Path, accompaniment: Sequence[str | Path] = ()) -> Dataset:
    """The sources of a ``medley``, ``synth`` or ``folder`` dataset plus any extra accompaniment roots."""
    root = Path(root)
    if kind in ("medley", "synth"):
        if not (root / METADATA).is_file():
            raise FileNotFoundError(f"{root}: no {METADATA} (not a Medley-solos-DB layout)")
        labels, sources = LABELS, medley_sources(root)
        own = root / "accompaniment"
        if (own / METADATA).is_file():
            sources += accompaniment_sources(own)
    elif kind == "folder":
        labels, sources = folder_sources(root)
    else:
        raise ValueError(f"unknown dataset kind {kind!r} (medley, synth or folder)")
    for extra in accompaniment:
        sources += accompaniment_sources(extra)
    return Dataset(tuple(labels), sources)


def ensure_synth(root: Path, banks: Sequence[str], clips_per_instrument: int, accompaniment_clips: int,
                 seed: int, jobs: int) -> None:
    """Render the synthetic set at ``root`` with `training.synth` unless its metadata is already there."""
    if (root / METADATA).is_file():
        return
    from training.synth import plan, synthesize

    _, failed = synthesize(root, plan(banks, clips_per_instrument, accompaniment_clips, seed), jobs, True)
    if failed:
        raise RuntimeError(f"{len(failed)} synthesis jobs failed; rerun to retry them")


def _source_of(subset: str) -> str:
    return subset.split("~", 1)[0]


def select(sources: Sequence[ClipSource], names: str | Sequence[str]) -> list[ClipSource]:
    """Sources whose subset or family is one of ``names`` (comma-separated string or list). A variant subset
    (``TimGM6mb~textures``, ``weresax~oneshots``) goes with its source: it is the same bank or player, so
    holding out a source holds out its variants too."""
    wanted = {n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()}
    chosen = [s for s in sources if s.subset in wanted or _source_of(s.subset) in wanted or s.family in wanted]
    known = {s.subset for s in sources} | {_source_of(s.subset) for s in sources} | {s.family for s in sources}
    unknown = wanted - known
    if unknown:
        raise ValueError(f"no clips in subset or family {', '.join(sorted(unknown))} "
                         f"(have: {', '.join(sorted(known))})")
    return chosen


def split(sources: Sequence[ClipSource], fraction: float, seed: int) -> tuple[list[ClipSource], list[ClipSource]]:
    """(rest, held out), about ``fraction`` held out, whole songs at a time (medley's song split)."""
    return song_split(sources, fraction, seed)  # type: ignore[arg-type]  # only .song_id is used


@dataclass
class ClipSet:
    """Decoded clips in memory: audio (clips, CLIP_SAMPLES) float16, zero-padded past ``lengths``."""

    labels: tuple[str, ...]
    audio: np.ndarray
    lengths: np.ndarray
    label_ids: np.ndarray
    song_ids: np.ndarray
    source_index: np.ndarray
    """Which of ``sources`` each clip was cut from."""
    sources: list[ClipSource]

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, index: np.ndarray) -> ClipSet:
        return ClipSet(self.labels, self.audio[index], self.lengths[index], self.label_ids[index],
                       self.song_ids[index], self.source_index[index], self.sources)

    def targets(self) -> np.ndarray:
        """(clips, labels) multi-hot float32; all zeros for accompaniment."""
        out = np.zeros((len(self), len(self.labels)), np.float32)
        rows = np.flatnonzero(self.label_ids >= 0)
        out[rows, self.label_ids[rows]] = 1.0
        return out

    def instrument_ids(self, names: Sequence[str]) -> np.ndarray:
        """(clips,) index of each clip's source instrument in ``names``, -1 where it is not one of them."""
        column = {name: i for i, name in enumerate(names)}
        per_source = np.array([column.get(s.instrument, -1) for s in self.sources], dtype=np.int64)
        return per_source[self.source_index] if len(self.source_index) else np.zeros(0, np.int64)

    def counts(self) -> dict[str, int]:
        ids = self.label_ids[self.label_ids >= 0]
        return {label: int((ids == i).sum()) for i, label in enumerate(self.labels)}

    def describe(self) -> dict:
        """What the card records: clip counts per label, accompaniment, banks and families."""
        used = [self.sources[i] for i in np.unique(self.source_index)]
        return {
            "clips": int((self.label_ids >= 0).sum()), "per_label": self.counts(),
            "accompaniment_clips": int((self.label_ids < 0).sum()), "files": len(used),
            "subsets": sorted({s.subset for s in used}), "families": sorted({s.family for s in used}),
        }


def cut(wave: np.ndarray, clip: int = CLIP_SAMPLES, shortest: int = MIN_SAMPLES) -> list[np.ndarray]:
    """Consecutive ``clip``-long pieces; a remainder of at least ``shortest`` samples is kept, shorter."""
    pieces = [wave[i: i + clip] for i in range(0, len(wave) - clip + 1, clip)]
    rest = len(wave) - len(pieces) * clip
    if rest >= shortest:
        pieces.append(wave[len(pieces) * clip:])
    return pieces


def _decode(path: Path) -> list[np.ndarray]:
    return cut(read_mono(path, SAMPLE_RATE))


def _cache_key(sources: Sequence[ClipSource]) -> str:
    h = hashlib.sha256(f"v1 {SAMPLE_RATE} {CLIP_SAMPLES} {MIN_SAMPLES}".encode())
    for s in sources:
        st = s.path.stat()
        h.update(f"{s.path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def decode(sources: Sequence[ClipSource], labels: Sequence[str], cache_dir: Path | None = CACHE_DIR,
           jobs: int = 2, show_progress: bool = False) -> ClipSet:
    """Decode ``sources`` (cached under ``cache_dir`` unless None) into a `ClipSet`, on ``jobs`` processes
    (in this process when ``jobs`` is 1)."""
    sources = list(sources)
    cache = None
    if cache_dir is not None and sources:
        cache = Path(cache_dir) / f"clips-{_cache_key(sources)}.npz"
        if cache.is_file():
            with np.load(cache, allow_pickle=False) as z:
                audio, lengths, index = z["audio"], z["lengths"], z["source_index"]
            return _clipset(labels, sources, audio, lengths, index)
    pieces: list[np.ndarray] = []
    index_list: list[int] = []
    paths = [s.path for s in sources]
    with ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else nullcontext() as pool:
        decoded = pool.map(_decode, paths, chunksize=16) if pool is not None else map(_decode, paths)
        for i, clips in enumerate(progress(decoded, len(sources), "decoding", force=show_progress)):
            pieces += clips
            index_list += [i] * len(clips)
    audio = np.zeros((len(pieces), CLIP_SAMPLES), np.float16)
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    for row, p in enumerate(pieces):
        audio[row, : len(p)] = p
    index = np.array(index_list, dtype=np.int64)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache, "wb") as f:
            np.savez(f, audio=audio, lengths=lengths, source_index=index)
        with atomic_write(cache.with_suffix(".json"), "w") as f:
            json.dump({"files": [str(s.path) for s in sources]}, f)
    return _clipset(labels, sources, audio, lengths, index)


def _clipset(labels: Sequence[str], sources: list[ClipSource], audio: np.ndarray, lengths: np.ndarray,
             index: np.ndarray) -> ClipSet:
    label_ids = np.array([sources[i].label_id for i in index], dtype=np.int64).reshape(-1)
    song_ids = np.array([sources[i].song_id for i in index], dtype=np.int64).reshape(-1)
    return ClipSet(tuple(labels), audio, lengths, label_ids, song_ids, index, sources)
