"""Sung phrases from a voice modelled on a real female singer: Sinsy (PyPI ``pysinsy``) with the HTS voice it
ships, ``nitech_jp_song070_f001`` (Nagoya Institute of Technology, the NIT SONG070 F001 database; CC-BY 3.0).

The project has no recordings of female singing it may train on; this statistical-parametric voice was
trained on the recordings of one real soprano, so it carries her formants, vibrato and attacks, which the
GM banks' "choir aahs" and "voice oohs" do not. Phrases are random melodies in a soprano/alto range sung on
Japanese syllables (the voice's language), written as MusicXML and synthesised at 48 kHz.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import soxr

from training.notephrases import play
from training.realdata import RATE

CREDIT = ("Sinsy singing voice synthesis with the HTS voice nitech_jp_song070_f001 (NIT SONG070 F001, "
          "Nagoya Institute of Technology), CC-BY 3.0")
SYLLABLES = tuple("あいうえおかきくけこさしすせそたてとなにぬねのはひふへほまみむめもやゆよらりるれろわん")
_STEPS = ("C", 0), ("C", 1), ("D", 0), ("D", 1), ("E", 0), ("F", 0), ("F", 1), ("G", 0), ("G", 1), ("A", 0), \
    ("A", 1), ("B", 0)
DIVISIONS = 4
"""MusicXML divisions per quarter note: sixteenths are the shortest value written."""


def available() -> bool:
    try:
        import pysinsy  # noqa: F401
    except Exception:  # ImportError, or pkg_resources missing under a new setuptools
        return False
    return True


@lru_cache(maxsize=1)
def _engine():
    import pysinsy

    engine = pysinsy.sinsy.Sinsy()
    if not (engine.setLanguages("j", pysinsy.get_default_dic_dir())
            and engine.loadVoices(pysinsy.get_default_htsvoice())):
        raise RuntimeError("Sinsy could not load its dictionary or voice")
    return engine


def _pitch_xml(midi: int) -> str:
    step, alter = _STEPS[midi % 12]
    return (f"<pitch><step>{step}</step>{f'<alter>{alter}</alter>' if alter else ''}"
            f"<octave>{midi // 12 - 1}</octave></pitch>")


def melody_xml(rng: np.random.Generator, seconds: float) -> str:
    """A random sung melody of about ``seconds`` in 4/4 bars (Sinsy drops what overflows a bar), as MusicXML
    with a rest at each end (Sinsy wants them)."""
    tempo = int(rng.integers(70, 150))
    bar_seconds = 4 * 60.0 / tempo
    pitch = int(rng.integers(62, 76))
    bar = DIVISIONS * 4
    measures = [f"<note><rest/><duration>{bar}</duration></note>"]
    for _ in range(max(1, int(np.ceil(seconds / bar_seconds)))):
        notes, left = [], bar
        while left > 0:
            length = min(left, int(rng.choice([1, 2, 2, 3, 4, 4, 6, 8])))
            if rng.random() < 0.1:
                notes.append(f"<note><rest/><duration>{length}</duration></note>")
            else:
                pitch = int(np.clip(pitch + rng.choice([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7]), 57, 81))
                lyric = SYLLABLES[int(rng.integers(len(SYLLABLES)))]
                notes.append(f"<note>{_pitch_xml(pitch)}<duration>{length}</duration>"
                             f"<lyric><text>{lyric}</text></lyric></note>")
            left -= length
        measures.append("".join(notes))
    measures.append(f"<note><rest/><duration>{bar}</duration></note>")
    body = "".join(
        f'<measure number="{i + 1}">'
        + (f"<attributes><divisions>{DIVISIONS}</divisions><time><beats>4</beats><beat-type>4</beat-type>"
           f'</time></attributes><direction><sound tempo="{tempo}"/></direction>' if i == 0 else "")
        + f"{m}</measure>" for i, m in enumerate(measures))
    return ('<?xml version="1.0" encoding="UTF-8"?><score-partwise><part-list><score-part id="P1">'
            f'<part-name>Voice</part-name></score-part></part-list><part id="P1">{body}</part></score-partwise>')


def sing(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """One sung phrase at RATE, mono float32 (its leading and trailing rests included)."""
    engine = _engine()
    with tempfile.TemporaryDirectory(prefix="sinsy-") as tmp:
        score = Path(tmp) / "phrase.xml"
        score.write_text(melody_xml(rng, seconds), encoding="utf-8")
        if not engine.loadScoreFromMusicXML(str(score)):
            raise RuntimeError("Sinsy could not read the score")
        audio, rate = engine.synthesize()
    return soxr.resample(np.asarray(audio, dtype=np.float64) / 32768.0, int(rate), RATE).astype(np.float32)


def resize(audio: np.ndarray, semitones: float, length: int) -> np.ndarray:
    """``length`` samples of ``audio`` with pitch and formants moved together by ``semitones`` (a resampling):
    one voice is one singer, and this makes her a slightly smaller or larger one. Zero-padded at the end when
    a downward move runs out of audio."""
    moved = play(audio, semitones, length)
    return np.pad(moved, (0, length - len(moved)))
