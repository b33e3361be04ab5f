"""Musical phrases for each instrument, as timed MIDI notes and controller moves (no audio here).

Each instrument has a ``Style``: its real playing range, GM programs, tempo range, texture and expressive
habits (legato, staccato, vibrato, bends, breaths). ``make_phrase`` writes bars of music over a ``Harmony``
(key, mode, chord per bar, tempo) so that solos and the accompaniment of a long take agree.

Choices worth knowing:
- "female singer": GM has no solo voice, so the singer is 52 Choir Aahs, 53 Voice Oohs or 54 Synth Voice,
  played as a single soprano/alto line (MIDI 53-84) with wide vibrato, scoops and breath pauses.
- Vibrato and bends are pitch-wheel curves (default bend range +-2 semitones), so their rate and depth are
  ours rather than each preset's LFO; piano and drums never bend.
- Only true timbres of a label are used: tenor sax is 66 only (alto/baritone are other instruments), flute is
  73 only (no piccolo/recorder); trumpet adds 59 muted, violin adds 110 fiddle, piano 0-2, guitar 30 and 29.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

PITCHWHEEL = -1
"""``Control.number`` of a pitch-wheel move (others are MIDI CC numbers)."""
BEND_RANGE_CENTS = 200.0
BEATS_PER_BAR = 4

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
# Chord roots as scale degrees, one per bar; looped over longer passages.
PROGRESSIONS: tuple[tuple[int, ...], ...] = (
    (0, 5, 3, 4), (0, 3, 4, 0), (5, 3, 0, 4), (0, 4, 5, 3), (1, 4, 0, 0), (0, 0, 3, 4), (0, 6, 5, 4),
)


@dataclass(frozen=True)
class Note:
    start: float
    """Seconds from the phrase start."""
    end: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class Control:
    time: float
    number: int
    """MIDI CC number, or PITCHWHEEL."""
    value: int
    """0..127 for a CC, -8192..8191 for the pitch wheel."""


@dataclass(frozen=True)
class Phrase:
    notes: tuple[Note, ...]
    controls: tuple[Control, ...]

    @property
    def end(self) -> float:
        """When the last note is released (seconds from the phrase start)."""
        return max((n.end for n in self.notes), default=0.0)


@dataclass(frozen=True)
class Style:
    name: str
    programs: tuple[tuple[int, float], ...]
    """(GM program, weight); for drums, the GM drum kit numbers."""
    low: int
    high: int
    tempo: tuple[float, float]
    texture: str
    """melody, piano, guitar, violin, voice, bass, pad, arpeggio or drums."""
    durations: tuple[tuple[float, float], ...] = ((0.5, 3), (1.0, 3), (1.5, 1), (2.0, 1))
    """(note length in beats, weight)."""
    legato: float = 0.4
    staccato: float = 0.15
    vibrato: tuple[float, float] = (0.0, 0.0)
    """Vibrato depth range in cents (0 = none)."""
    bend: float = 0.0
    """Chance that a long note starts with a scoop or bend."""
    breath: float = 0.0
    """Longest stretch in seconds played without a rest (winds, voice); 0 = no limit."""
    expression: bool = True
    """Shapes dynamics with CC11 within notes (sustaining instruments), not only by velocity."""

    @property
    def drums(self) -> bool:
        return self.texture == "drums"


FAST = ((0.25, 2), (0.5, 4), (0.75, 1), (1.0, 3), (1.5, 1), (2.0, 1))
SLOW = ((0.5, 2), (1.0, 3), (1.5, 2), (2.0, 3), (3.0, 1), (4.0, 1))

LABEL_STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style("clarinet", ((71, 1.0),), 50, 91, (60, 150), "melody", FAST, 0.5, 0.15, (0, 12), 0.05, 8.0),
        Style("distorted electric guitar", ((30, 0.65), (29, 0.35)), 40, 86, (80, 170), "guitar",
              FAST, 0.3, 0.3, (10, 40), 0.3, 0.0, False),
        Style("female singer", ((52, 0.5), (53, 0.35), (54, 0.15)), 53, 84, (60, 120), "voice", SLOW,
              0.7, 0.05, (25, 70), 0.35, 7.0),
        Style("flute", ((73, 1.0),), 60, 96, (60, 160), "melody", FAST, 0.5, 0.2, (10, 30), 0.05, 7.0),
        Style("piano", ((0, 0.55), (1, 0.3), (2, 0.15)), 28, 100, (60, 150), "piano", FAST, 0.3, 0.2,
              expression=False),
        Style("tenor saxophone", ((66, 1.0),), 44, 77, (60, 170), "melody", FAST, 0.5, 0.15, (10, 35), 0.3,
              7.0),
        Style("trumpet", ((56, 0.75), (59, 0.25)), 54, 84, (70, 170), "melody", FAST, 0.4, 0.3, (5, 25),
              0.15, 6.0),
        Style("violin", ((40, 0.8), (110, 0.2)), 55, 100, (60, 160), "violin", FAST, 0.6, 0.15, (15, 40),
              0.1),
    )
}

ACCOMPANIMENT_STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style("cello", ((42, 1.0),), 36, 76, (60, 130), "melody", SLOW, 0.6, 0.1, (15, 35), 0.05),
        Style("double bass", ((43, 1.0),), 28, 55, (70, 140), "bass"),
        Style("bass guitar", ((32, 0.3), (33, 0.4), (34, 0.3)), 28, 60, (70, 150), "bass", expression=False),
        Style("french horn", ((60, 1.0),), 41, 77, (60, 120), "melody", SLOW, 0.6, 0.05, (0, 8), 0.0, 6.0),
        Style("bassoon", ((70, 1.0),), 34, 72, (60, 130), "melody", FAST, 0.4, 0.25, (0, 10), 0.0, 7.0),
        Style("oboe", ((68, 1.0),), 58, 91, (60, 130), "melody", FAST, 0.5, 0.15, (5, 20), 0.0, 7.0),
        Style("trombone", ((57, 1.0),), 40, 72, (60, 130), "melody", SLOW, 0.5, 0.15, (0, 15), 0.1, 6.0),
        Style("harp", ((46, 1.0),), 36, 91, (60, 130), "arpeggio", expression=False),
        Style("acoustic guitar", ((24, 0.6), (26, 0.4)), 40, 79, (70, 140), "arpeggio", expression=False),
        Style("strings", ((48, 0.6), (49, 0.4)), 36, 84, (60, 120), "pad"),
        Style("organ", ((16, 0.5), (19, 0.5)), 36, 84, (60, 120), "pad", expression=False),
        Style("drums", ((0, 0.4), (8, 0.15), (16, 0.15), (32, 0.15), (40, 0.15)), 35, 59, (70, 150),
              "drums", expression=False),
    )
}


TEXTURE_VARIANTS: dict[str, dict[str, Style]] = {
    # The labels' styles in textures their phrases above do not hold, by variant; rendered only when asked
    # (`training.synth --variants piano,oneshots`), so the sets `make model` renders stay as they were.
    # Append only: a variant's place in this order sets its song ids (`training.synth._song_base`).
    "piano": {"piano": replace(LABEL_STYLES["piano"], texture="piano textures")},
    "oneshots": {name: replace(style, texture="oneshots") for name, style in LABEL_STYLES.items()},
    # The rest of the saxophone family under its label, as the real sources already count it: GM's soprano,
    # alto and baritone (programs 64, 65, 67), over a range the soprano reaches and the baritone starts in.
    "saxophones": {"tenor saxophone": replace(LABEL_STYLES["tenor saxophone"],
                                              programs=((64, 0.4), (65, 0.35), (67, 0.25)), low=40, high=84)},
}
VARIANT_SUBSETS = {"piano": "textures", "oneshots": "oneshots", "saxophones": "saxophones"}
"""The subset suffix of each variant (``BANK~textures``, ``BANK~oneshots``, ``BANK~saxophones``)."""


def get_style(name: str) -> Style:
    """The style of a label or accompaniment instrument."""
    style = LABEL_STYLES.get(name) or ACCOMPANIMENT_STYLES.get(name)
    if style is None:
        raise ValueError(f"no phrase style for {name!r}")
    return style


@dataclass(frozen=True)
class Harmony:
    tonic: int
    """Pitch class 0..11."""
    mode: str
    progression: tuple[int, ...]
    tempo: float
    """Beats per minute."""
    first_bar: int = 0
    """Bar of the piece that a phrase's bar 0 is, so a phrase placed later follows the chords there."""

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def scale(self) -> tuple[int, ...]:
        return tuple((self.tonic + s) % 12 for s in SCALES[self.mode])

    def chord(self, bar: int) -> tuple[int, ...]:
        """Pitch classes of the triad (plus seventh on every other bar) sounding in ``bar``."""
        bar += self.first_bar
        degree = self.progression[bar % len(self.progression)]
        steps = (0, 2, 4, 6) if bar % 2 else (0, 2, 4)
        return tuple(self.scale[(degree + s) % 7] for s in steps)

    @staticmethod
    def random(rng: np.random.Generator, tempo: tuple[float, float]) -> Harmony:
        modes = tuple(SCALES)
        return Harmony(int(rng.integers(12)), modes[rng.integers(len(modes))],
                       PROGRESSIONS[rng.integers(len(PROGRESSIONS))], float(rng.uniform(*tempo)))


def _choice(rng: np.random.Generator, weighted: tuple[tuple[float, float], ...]) -> float:
    values, weights = zip(*weighted, strict=True)
    w = np.asarray(weights, dtype=float)
    return values[rng.choice(len(values), p=w / w.sum())]


def pick_program(programs: tuple[tuple[int, float], ...], rng: np.random.Generator) -> int:
    """One of the (program, weight) pairs, drawn by weight."""
    return int(_choice(rng, tuple((float(p), w) for p, w in programs)))


def _pitches(pcs: tuple[int, ...], low: int, high: int) -> list[int]:
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def _nearest(pitches: list[int], target: float) -> int:
    return min(pitches, key=lambda p: abs(p - target))


@dataclass
class _Writer:
    """Collects notes and controls of one phrase, in beats, and turns them into seconds."""

    harmony: Harmony
    rng: np.random.Generator
    notes: list[Note] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)

    def note(self, beat: float, length: float, pitch: int, velocity: float) -> None:
        b = self.harmony.beat
        self.notes.append(Note(beat * b, (beat + length) * b, int(pitch), int(np.clip(velocity, 1, 127))))

    def cc(self, time: float, number: int, value: float) -> None:
        self.controls.append(Control(time, number, int(np.clip(round(value), 0, 127))))

    def wheel(self, time: float, cents: float) -> None:
        value = round(cents / BEND_RANGE_CENTS * 8192)
        self.controls.append(Control(time, PITCHWHEEL, int(np.clip(value, -8192, 8191))))

    def phrase(self) -> Phrase:
        notes = tuple(sorted(self.notes, key=lambda n: (n.start, n.pitch)))
        controls = tuple(sorted(self.controls, key=lambda c: c.time))
        return Phrase(notes, controls)


def _rhythm(style: Style, w: _Writer, beats: float) -> list[tuple[float, float]]:
    """(onset, length) in beats filling ``beats``, with occasional rests and breath pauses."""
    out: list[tuple[float, float]] = []
    pos, since_breath = 0.0, 0.0
    while pos < beats - 0.25:
        length = min(_choice(w.rng, style.durations), beats - pos)
        if out and w.rng.random() < 0.08:
            pos += _choice(w.rng, ((0.5, 2), (1.0, 1)))  # a short rest
            continue
        if style.breath and since_breath * w.harmony.beat > style.breath * w.rng.uniform(0.5, 1.0):
            pos += 1.0
            since_breath = 0.0
            continue
        out.append((pos, length))
        pos += length
        since_breath += length
    return out


def _gate(style: Style, rng: np.random.Generator) -> float:
    """Fraction of each note's slot that sounds, per phrase: legato overlaps, staccato is short."""
    r = rng.random()
    if r < style.staccato:
        return float(rng.uniform(0.3, 0.5))
    if r < style.staccato + style.legato:
        return float(rng.uniform(1.0, 1.05))
    return float(rng.uniform(0.75, 0.92))


def _line(style: Style, w: _Writer, bars: int, low: int, high: int) -> list[tuple[float, float, int]]:
    """A melodic line (onset, length, pitch) in beats: a scale-step random walk leaning on chord tones."""
    rng, h = w.rng, w.harmony
    scale = _pitches(h.scale, low, high)
    idx = int(rng.integers(len(scale)))
    out = []
    for onset, length in _rhythm(style, w, bars * BEATS_PER_BAR):
        step = int(_choice(rng, ((0, 1), (1, 4), (-1, 4), (2, 2), (-2, 2), (3, 1), (-3, 1), (4, 0.6),
                                 (-4, 0.6), (7, 0.2), (-7, 0.2))))
        idx = abs(idx + step)  # bounce off the edges of the register
        if idx >= len(scale):
            idx = max(2 * (len(scale) - 1) - idx, 0)
        pitch = scale[idx]
        if onset % 1 == 0 and rng.random() < 0.6:
            chord = _pitches(h.chord(int(onset // BEATS_PER_BAR)), low, high)
            if chord:
                pitch = _nearest(chord, pitch)
                idx = scale.index(pitch) if pitch in scale else idx
        out.append((onset, length, pitch))
    return out


def _register(style: Style, rng: np.random.Generator, width: tuple[int, int] = (12, 20)) -> tuple[int, int]:
    """A random sub-range of the style's range that one phrase stays in."""
    span = int(min(rng.integers(*width), style.high - style.low))
    lo = int(rng.integers(style.low, style.high - span + 1))
    return lo, lo + span


def _vibrato(w: _Writer, start: float, end: float, depth: float, rate: float) -> None:
    """Pitch-wheel vibrato that fades in after the attack and returns to centre at the note end."""
    t0 = start + min(0.25, 0.3 * (end - start))
    t = t0
    while t < end:
        fade = min(1.0, (t - t0) / 0.3)
        w.wheel(t, depth * fade * math.sin(2 * math.pi * rate * (t - t0)))
        t += 0.02
    w.wheel(end, 0.0)


def _bend(w: _Writer, start: float, end: float, guitar: bool) -> None:
    """A guitarist's bend up to pitch, or a singer's/horn's scoop from below."""
    rng = w.rng
    if guitar:
        t_up = start + float(rng.uniform(0.05, 0.2))
        depth = float(rng.choice([100.0, 200.0]))
        for k in range(6):
            w.wheel(start + (t_up - start) * k / 5, depth * (k / 5 - 1.0))  # bend from below up to pitch
    else:
        depth = -float(rng.uniform(40, 120))
        glide = float(rng.uniform(0.05, 0.15))
        for k in range(6):
            w.wheel(start + glide * k / 5, depth * (1 - k / 5))
    w.wheel(min(end, start + 0.3), 0.0)


def _expression(w: _Writer, duration: float) -> None:
    """Hairpins: CC11 drifting smoothly between soft and loud over the phrase."""
    rng = w.rng
    points = max(2, int(duration / 1.5) + 1)
    knots = rng.uniform(70, 127, size=points)
    t = 0.0
    while t <= duration:
        pos = t / duration * (points - 1)
        i = min(int(pos), points - 2)
        w.cc(t, 11, knots[i] + (knots[i + 1] - knots[i]) * (pos - i))
        t += 0.05


def _melodic(style: Style, w: _Writer, bars: int) -> None:
    rng, beat = w.rng, w.harmony.beat
    low, high = _register(style, rng)
    gate = _gate(style, rng)
    loud = float(rng.uniform(45, 115))
    depth = float(rng.uniform(*style.vibrato)) if rng.random() < 0.8 else 0.0
    rate = float(rng.uniform(4.5, 6.5))
    for onset, length, pitch in _line(style, w, bars, low, high):
        accent = 8 if onset % BEATS_PER_BAR == 0 else 0
        w.note(onset, length * gate, pitch, loud + accent + rng.normal(0, 6))
        start, end = onset * beat, (onset + length * gate) * beat
        if style.texture == "violin" and rng.random() < 0.08:  # double stop a third to a sixth below
            lower = pitch - int(rng.choice([3, 4, 5, 7, 8, 9]))
            if lower >= style.low:
                w.note(onset, length * gate, lower, loud + rng.normal(0, 6))
        if style.bend and end - start > 0.25 and rng.random() < style.bend:
            _bend(w, start, end, style.texture == "guitar")
        elif depth and end - start > 0.35:
            _vibrato(w, start, end, depth, rate)


def _piano(style: Style, w: _Writer, bars: int) -> None:
    """Right-hand melody (sometimes in thirds/sixths) over left-hand chords or broken chords, with pedal."""
    rng, h = w.rng, w.harmony
    split = int(rng.integers(52, 62))
    loud = float(rng.uniform(40, 110))
    gate = _gate(style, rng)
    top = min(style.high, split + int(rng.integers(20, 40)))
    for onset, length, pitch in _line(style, w, bars, split, top):
        w.note(onset, length * gate, pitch, loud + rng.normal(0, 8))
        if rng.random() < 0.25:
            below = _pitches(h.scale, max(split - 4, pitch - 9), pitch - 3)
            if below:
                w.note(onset, length * gate, below[-1], loud - 10 + rng.normal(0, 6))
    broken = rng.random() < 0.5
    left_low = max(style.low, split - 26)
    for bar in range(bars):
        chord = _pitches(h.chord(bar), left_low, split - 1)[:4] or [left_low]
        t = bar * BEATS_PER_BAR
        if rng.random() < 0.6:
            w.cc(t * h.beat, 64, 127)  # pedal down for the bar, lifted just before the next
            w.cc((t + BEATS_PER_BAR - 0.1) * h.beat, 64, 0)
        if broken:
            for k in range(8):
                w.note(t + k * 0.5, 0.5, chord[k % len(chord)], loud - 15 + rng.normal(0, 6))
        else:
            for beat_in_bar in (0.0, 2.0):
                for p in chord:
                    w.note(t + beat_in_bar, 1.8, p, loud - 10 + rng.normal(0, 6))


def _piano_textures(style: Style, w: _Writer, bars: int) -> None:
    """What `_piano`'s two hands leave out, as a pianist in a band or a score plays it: a single line (one
    hand, sometimes in octaves), block chords comping in the middle register (detached or held), or a
    melody over a few low notes, mostly without pedal. The shipped model named a FluidR3 piano melody
    over chords 0.51 but a single line 0.01 and detached chords 0.06 (`benchmarks/robustness.py`): it had
    learnt the two-handed texture rather than the instrument."""
    rng, h = w.rng, w.harmony
    kind = rng.choice(["line", "chords", "sparse"], p=[0.4, 0.35, 0.25])
    loud = float(rng.uniform(40, 110))
    if kind == "line":
        low = int(rng.integers(48, 76))  # a hand's line, from below middle C to the treble
        high = min(style.high, low + int(rng.integers(14, 25)))
        octaves = rng.random() < 0.3
        gate = _gate(style, rng)
        for onset, length, pitch in _line(style, w, bars, low, high):
            w.note(onset, length * gate, pitch, loud + rng.normal(0, 8))
            if octaves and pitch - 12 >= style.low:
                w.note(onset, length * gate, pitch - 12, loud - 6 + rng.normal(0, 6))
        return
    if kind == "chords":
        low = int(rng.integers(48, 60))
        step = float(rng.choice([0.5, 1.0, 2.0]))
        hold = float(rng.choice([0.35, 0.6, 0.95]))  # detached stabs to held chords
        pedal = rng.random() < 0.25
        for bar in range(bars):
            chord = _pitches(h.chord(bar), low, low + 16)[:4] or [low]
            t = bar * BEATS_PER_BAR
            if pedal:
                w.cc(t * h.beat, 64, 127)
                w.cc((t + BEATS_PER_BAR - 0.1) * h.beat, 64, 0)
            beat = 0.0
            while beat < BEATS_PER_BAR:
                if beat == 0 or rng.random() < 0.75:  # some comping beats left out
                    for p in chord:
                        w.note(t + beat, step * hold, p, loud - 5 + rng.normal(0, 6))
                beat += step
        return
    split = int(rng.integers(55, 64))
    gate = _gate(style, rng)
    for onset, length, pitch in _line(style, w, bars, split, min(style.high, split + 24)):
        w.note(onset, length * gate, pitch, loud + rng.normal(0, 8))
    for bar in range(bars):
        root = _pitches(h.chord(bar), max(style.low, split - 24), split - 5)[:1] or [split - 12]
        w.note(bar * BEATS_PER_BAR, float(rng.choice([1.0, 2.0, 3.5])), root[0], loud - 12 + rng.normal(0, 6))


def _guitar(style: Style, w: _Writer, bars: int) -> None:
    """Distorted guitar: palm-muted power-chord riffs, sustained power chords, or a bending lead line."""
    rng, h = w.rng, w.harmony
    kind = rng.choice(["riff", "chords", "lead"], p=[0.4, 0.25, 0.35])
    if kind == "lead":
        _melodic(style, w, bars)
        return
    loud = float(rng.uniform(70, 120))
    octave = rng.random() < 0.5
    roots = _pitches(h.scale, style.low, 57)
    for bar in range(bars):
        root = _nearest(roots, 40 + (h.chord(bar)[0] - 40) % 12 + 12 * int(rng.integers(0, 2)))
        shape = [root, root + 7] + ([root + 12] if octave else [])
        t = bar * BEATS_PER_BAR
        if kind == "chords":
            for p in shape:
                w.note(t, BEATS_PER_BAR * 0.95, p, loud + rng.normal(0, 5))
            continue
        pattern = rng.random(8) < 0.75  # eighth-note chugs with random gaps and accents
        pattern[0] = True
        for k in np.flatnonzero(pattern):
            accent = 15 if rng.random() < 0.3 else 0
            for p in shape:
                w.note(t + k * 0.5, float(rng.choice([0.2, 0.45])), p, loud - 15 + accent)


def _bass(style: Style, w: _Writer, bars: int) -> None:
    """Roots on the downbeat, then chord tones or walking scale steps."""
    rng, h = w.rng, w.harmony
    loud = float(rng.uniform(70, 110))
    step = float(rng.choice([1.0, 0.5, 2.0]))
    low, high = _register(style, rng, (14, 20))
    for bar in range(bars):
        chord = _pitches(h.chord(bar), low, high)
        root = _nearest([p for p in chord if p % 12 == h.chord(bar)[0]] or chord, low + 5)
        beat = 0.0
        while beat < BEATS_PER_BAR:
            pitch = root if beat == 0 else int(rng.choice(chord))
            w.note(bar * BEATS_PER_BAR + beat, step * 0.9, pitch, loud + rng.normal(0, 6))
            beat += step


def _pad(style: Style, w: _Writer, bars: int) -> None:
    """Sustained voiced chords, one per bar, tied across the bar line."""
    rng, h = w.rng, w.harmony
    loud = float(rng.uniform(50, 90))
    centre = float(rng.uniform(style.low + 12, style.high - 12))
    for bar in range(bars):
        pitches = _pitches(h.chord(bar), style.low, style.high)
        voiced = sorted(pitches, key=lambda p: abs(p - centre))[:4]
        for p in voiced:
            w.note(bar * BEATS_PER_BAR, BEATS_PER_BAR * 1.02, p, loud + rng.normal(0, 4))


def _arpeggio(style: Style, w: _Writer, bars: int) -> None:
    rng, h = w.rng, w.harmony
    loud = float(rng.uniform(50, 100))
    low, high = _register(style, rng, (14, 24))
    step = float(rng.choice([0.5, 0.25, 1.0 / 3]))
    for bar in range(bars):
        chord = _pitches(h.chord(bar), low, high) or [low]
        up = rng.random() < 0.6
        k = 0
        while k * step < BEATS_PER_BAR - 1e-6:
            i = k % len(chord)
            w.note(bar * BEATS_PER_BAR + k * step, step * 3, chord[i if up else -1 - i], loud + rng.normal(0, 6))
            k += 1


KICK, SNARE, HAT, OPEN_HAT, CRASH, RIDE, TOMS = 36, 38, 42, 46, 49, 51, (45, 47, 50)


def _oneshots(style: Style, w: _Writer, bars: int) -> None:
    """Single notes anywhere in the instrument's range, each held 0.6-4 s and left to ring out, with silence
    between: a sample library's one-shots, or a player's test notes. Every other texture is a phrase, and
    0.4.2 named 3 of 62 real piano notes played one at a time (`python -m training.evaluate notes`)."""
    rng, beat = w.rng, w.harmony.beat
    end = bars * BEATS_PER_BAR
    t = float(rng.uniform(0.0, 0.5)) / beat
    while t < end:
        held = float(rng.uniform(0.6, 4.0)) / beat
        w.note(t, held, int(rng.integers(style.low, style.high + 1)), float(rng.uniform(45, 120)))
        t += held + float(rng.uniform(0.4, 1.6)) / beat  # the release rings into the gap


def _drums(style: Style, w: _Writer, bars: int) -> None:
    """A sixteenth-note grid groove with a crash on the first bar and a tom fill every fourth bar."""
    rng = w.rng
    loud = float(rng.uniform(70, 115))
    cymbal = RIDE if rng.random() < 0.3 else HAT
    hat_step = int(rng.choice([2, 4]))  # 8ths or quarters, in 16ths
    kicks = {0, 8} | ({int(rng.choice([6, 10, 14]))} if rng.random() < 0.6 else set())
    for bar in range(bars):
        t = bar * BEATS_PER_BAR
        fill = bar % 4 == 3 and rng.random() < 0.5
        for s in range(16):
            beat = t + s / 4
            if fill and s >= 12:
                w.note(beat, 0.25, int(rng.choice(TOMS)), loud + rng.normal(0, 6))
                continue
            if s % hat_step == 0:
                w.note(beat, 0.25, OPEN_HAT if s == 14 and rng.random() < 0.2 else cymbal,
                       loud - 20 + rng.normal(0, 5))
            if s in kicks:
                w.note(beat, 0.25, KICK, loud + rng.normal(0, 4))
            if s in (4, 12):
                w.note(beat, 0.25, SNARE, loud + rng.normal(0, 5))
        if bar == 0:
            w.note(t, 1.0, CRASH, loud)


_TEXTURES = {
    "melody": _melodic, "voice": _melodic, "violin": _melodic, "guitar": _guitar, "piano": _piano,
    "piano textures": _piano_textures, "oneshots": _oneshots, "bass": _bass, "pad": _pad, "arpeggio": _arpeggio, "drums": _drums,
}


def make_phrase(style: Style, rng: np.random.Generator, harmony: Harmony, bars: int) -> Phrase:
    """``bars`` bars of music for ``style`` over ``harmony``, starting at its ``first_bar``."""
    w = _Writer(harmony, rng)
    _TEXTURES[style.texture](style, w, bars)
    if style.expression and w.notes:
        _expression(w, max(n.end for n in w.notes))
    return w.phrase()


def random_phrase(style: Style, rng: np.random.Generator, seconds: tuple[float, float] = (4.0, 12.0)) -> Phrase:
    """A phrase in a random key, mode and tempo lasting roughly ``seconds``, for solo clips."""
    harmony = Harmony.random(rng, style.tempo)
    bar_s = harmony.beat * BEATS_PER_BAR
    bars = max(1, round(rng.uniform(*seconds) / bar_s))
    return make_phrase(style, rng, harmony, bars)


def retime(phrase: Phrase, speed: float, semitones: int = 0) -> Phrase:
    """``phrase`` played ``speed`` times faster and ``semitones`` higher; notes pushed outside MIDI's range
    are dropped. (A timbre shift plays a phrase this way and slows the audio back down.)"""
    notes = tuple(replace(n, start=n.start / speed, end=n.end / speed, pitch=n.pitch + semitones)
                  for n in phrase.notes if 0 <= n.pitch + semitones <= 127)
    return Phrase(notes, tuple(replace(c, time=c.time / speed) for c in phrase.controls))
