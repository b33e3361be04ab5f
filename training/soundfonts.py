"""The Debian GM banks we render from, and which GM presets each one really has.

A bank may lack some GM programs (FluidSynth then plays nothing), so every program is checked against the
bank's own preset list, read from the SF2/SF3 ``phdr`` chunk (SF3 keeps the SF2 RIFF layout and only
compresses the sample data), or from the patch lines of a TiMidity configuration.

Two banks are for evaluation only: FreePats (Debian ``freepats``, played by TiMidity++), recorded samples
of real instruments from a collection that shares nothing with the SoundFonts, and Sonivox (Debian
``libsonivox3``, the EAS wavetable synthesizer with its own built-in samples, `training.sonivox`). The
project's rule keeps every sample set but the SoundFonts out of training and tuning, so ``training.train``
refuses them; they give independent sampled families to test on (``training.synth --banks FreePats`` into a
separate root, ``training.takes --bank Sonivox``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from training import sonivox
from training.phrases import Style

DRUM_BANK = 128
"""SoundFont bank number of GM percussion kits (MIDI channel 10)."""


@dataclass(frozen=True)
class SoundFont:
    name: str
    path: Path
    family: str
    """Banks of one family share samples; validation across families is the honest cross-collection test."""
    renderer: str = "fluidsynth"
    """"fluidsynth" for SF2/SF3 files, "timidity" for a TiMidity++ patch configuration, "sonivox" for the EAS
    library (its path)."""
    evaluation_only: bool = False
    """Not a Debian GM SoundFont: never trained or tuned on, only tested on."""


SOUNDFONTS: dict[str, SoundFont] = {
    sf.name: sf
    for sf in (
        SoundFont("FluidR3_GM", Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), "fluid"),
        SoundFont("MuseScore_General", Path("/usr/share/sounds/sf3/MuseScore_General.sf3"), "fluid"),
        SoundFont("TimGM6mb", Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "gm6"),
        SoundFont("sf_GMbank", Path("/usr/share/sounds/sf2/sf_GMbank.sf2"), "gm6"),
        # FM synthesis, not samples: no instrument of it sounds like a recording, which is the point of
        # training on it (timbres far from every sampled bank).
        SoundFont("OPL3_FM", Path("/usr/share/sounds/sf2/OPL-3_FM_128M.sf2"), "opl3"),
        SoundFont("FreePats", Path("/etc/timidity/freepats.cfg"), "freepats", renderer="timidity",
                  evaluation_only=True),
        SoundFont("Sonivox", sonivox.LIBRARY, "sonivox", renderer="sonivox", evaluation_only=True),
    )
}
EVALUATION_ONLY = frozenset(sf.name for sf in SOUNDFONTS.values() if sf.evaluation_only)
"""Banks (and, by the same names, subsets) that training and calibration refuse."""
EVALUATION_ONLY_FAMILIES = frozenset(sf.family for sf in SOUNDFONTS.values() if sf.evaluation_only)
SAMPLED_BANKS = ("FluidR3_GM", "MuseScore_General", "TimGM6mb", "sf_GMbank")
"""The banks rendered when none are named: the four built from recorded samples."""


def get_soundfont(name: str) -> SoundFont:
    """The known bank called ``name``; a ValueError lists the known names otherwise."""
    try:
        return SOUNDFONTS[name]
    except KeyError:
        raise ValueError(f"unknown SoundFont bank {name!r}; known: {', '.join(SOUNDFONTS)}") from None


def _chunks(data: bytes, start: int, end: int):
    """(id, body start, body end) of the RIFF chunks laid end to end in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, pos)
        yield cid, pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)  # chunks are padded to even sizes


def _phdr(path: Path) -> bytes:
    """The raw ``phdr`` chunk, read without loading the (large) sample data."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise ValueError(f"{path}: not a SoundFont (no RIFF sfbk header)")
        pos = 12
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                raise ValueError(f"{path}: no pdta chunk")
            cid, size = struct.unpack("<4sI", hdr)
            kind = f.read(4) if cid == b"LIST" else b""
            if kind == b"pdta":
                body = f.read(size - 4)
                for sub, s, e in _chunks(body, 0, len(body)):
                    if sub == b"phdr":
                        return body[s:e]
                raise ValueError(f"{path}: pdta has no phdr chunk")
            pos += 8 + size + (size & 1)
            f.seek(pos)


@cache
def read_presets(path: Path) -> dict[tuple[int, int], str]:
    """{(bank, program): preset name} for every preset in the SoundFont (or TiMidity configuration, or the
    EAS library's built-in set) at ``path``."""
    if Path(path) == sonivox.LIBRARY:
        return sonivox.PRESETS
    if Path(path).suffix == ".cfg":
        return _timidity_presets(Path(path))
    raw = _phdr(Path(path))
    presets: dict[tuple[int, int], str] = {}
    # 38-byte records; the last one is the terminal "EOP" sentinel, not a preset.
    for off in range(0, len(raw) - 38, 38):
        name, program, bank = struct.unpack_from("<20sHH", raw, off)
        presets[(bank, program)] = name.split(b"\0", 1)[0].decode("latin-1").strip()
    return presets


def _timidity_presets(path: Path) -> dict[tuple[int, int], str]:
    """The programs of a TiMidity configuration: ``bank N`` sections list melodic programs, ``drumset N``
    sections the notes of kit N (stored as (DRUM_BANK, N), as a SoundFont stores kits)."""
    presets: dict[tuple[int, int], str] = {}
    section: tuple[str, int] | None = None
    for line in path.read_text(encoding="latin-1").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] in ("bank", "drumset") and words[1].isdigit():
            section = (words[0], int(words[1]))
        elif section is not None and len(words) >= 2 and words[0].isdigit():
            kind, number = section
            if kind == "bank":
                presets[(number, int(words[0]))] = Path(words[1]).stem
            else:
                presets[(DRUM_BANK, number)] = f"drumset {number}"
    return presets


def style_programs(style: Style, soundfont: SoundFont) -> tuple[tuple[int, float], ...]:
    """The style's (program, weight) pairs that ``soundfont`` really has; drum kits live in bank 128."""
    presets = read_presets(soundfont.path)
    bank = DRUM_BANK if style.drums else 0
    return tuple((p, w) for p, w in style.programs if (bank, p) in presets)
