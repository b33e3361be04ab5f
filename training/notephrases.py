"""Played phrases from isolated real notes: what a sampler does, done here so clips sound played, not keyed.

A melodic phrase walks by steps and leaps through the pitches a group of notes covers; each note is the
nearest sampled one, moved to its pitch by resampling (at most a few semitones, so the timbre stays that of
the instrument), with a little vibrato on sustained instruments, a dynamic of its own, and either a legato
join (the next note enters before this one's release ends, from its sustain rather than its attack) or a
detached one with a release fade. Pianos play chords under a melody with a damper fade at each note-off, or
(`piano_lines`) a single line, a bass line or slow single notes; guitars play riffs of single notes and
power chords; harps arpeggiate and let ring. Any group can also be played as one-shots: single notes with
silence between, as a sample library holds them.

Everything works at `training.realdata.RATE` on float32 arrays; randomness comes from the caller's
``numpy.random.Generator``, so a seed gives the same phrase.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.amp import amplify
from training.realdata import RATE, Note, load

MAX_SHIFT = 4.0
"""Largest pitch move of a sample, in semitones: further and the formants move audibly."""
STEPS = ((-7, 0.03), (-5, 0.05), (-4, 0.06), (-3, 0.08), (-2, 0.14), (-1, 0.1), (0, 0.05), (1, 0.1),
         (2, 0.14), (3, 0.08), (4, 0.06), (5, 0.05), (7, 0.03), (12, 0.015), (-12, 0.015))
SUSTAINED = ("tenor saxophone", "alto saxophone", "soprano saxophone", "baritone saxophone", "flute", "violin",
             "trumpet", "clarinet", "french horn", "bassoon", "tuba", "trombone")


def _fade(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, max(n, 1)))).astype(np.float32)


def play(audio: np.ndarray, semitones: float, length: int, *, vibrato_cents: float = 0.0,
         vibrato_hz: float = 5.5, phase: float = 0.0, start: int = 0) -> np.ndarray:
    """``length`` samples of ``audio`` from ``start``, moved by ``semitones`` with a sine vibrato; shorter when
    the note runs out first."""
    n = np.arange(length, dtype=np.float64)
    cents = 100.0 * semitones + vibrato_cents * np.sin(2 * np.pi * vibrato_hz * n / RATE + phase)
    position = start + np.cumsum(2.0 ** (cents / 1200.0)) - 2.0 ** (cents[0] / 1200.0)
    position = position[position < len(audio) - 1]
    return np.interp(position, np.arange(len(audio)), audio).astype(np.float32)


def nearest(notes: Sequence[Note], pitch: float, rng: np.random.Generator) -> Note:
    """A note among those closest to ``pitch`` (any dynamic layer or round robin of that pitch)."""
    gaps = np.array([abs((n.pitch or 0.0) - pitch) for n in notes])
    best = np.flatnonzero(gaps <= gaps.min() + 0.5)
    return notes[int(rng.choice(best))]


def _pitch_range(notes: Sequence[Note]) -> tuple[float, float]:
    pitches = [n.pitch for n in notes if n.pitch is not None]
    return min(pitches) - 2, max(pitches) + 2


def _add(out: np.ndarray, at: int, sound: np.ndarray) -> None:
    end = min(len(out), at + len(sound))
    if end > at:
        out[at:end] += sound[: end - at]


def melodic(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A monophonic line of ``seconds`` from one group of sustained notes."""
    total = int(seconds * RATE)
    out = np.zeros(total + RATE, np.float32)
    low, high = _pitch_range(notes)
    pitch = float(rng.uniform(low + 0.3 * (high - low), high - 0.3 * (high - low)))
    beat = float(rng.uniform(0.18, 0.7))
    legato = float(rng.uniform(0.0, 1.0))
    sustained = notes[0].instrument in SUSTAINED
    vib_cents = float(rng.uniform(0.0, 35.0)) if sustained and rng.random() < 0.7 else 0.0
    vib_hz = float(rng.uniform(4.5, 6.5))
    level = float(rng.uniform(-6.0, 0.0))
    trend = float(rng.uniform(-6.0, 6.0)) / max(seconds, 1.0)  # crescendo or diminuendo, dB per second
    t = int(rng.uniform(0.0, 0.25) * RATE)
    tied = False
    while t < total:
        duration = beat * float(rng.choice([0.5, 1, 1, 1, 1.5, 2, 3])) * float(rng.uniform(0.9, 1.1))
        steps, weights = zip(*STEPS, strict=True)
        pitch = float(np.clip(pitch + rng.choice(steps, p=np.array(weights) / sum(weights)), low, high))
        note = nearest(notes, pitch, rng)
        shift = float(np.clip(pitch - (note.pitch or pitch), -MAX_SHIFT, MAX_SHIFT)) + rng.normal(0, 0.08)
        sample = load(note.path)
        gate = int(duration * RATE)
        release = int(rng.uniform(0.04, 0.15) * RATE)
        # A tied note enters from its sustain, as a player's legato has no new attack.
        start = int(rng.uniform(0.04, 0.1) * RATE) if tied and len(sample) > RATE // 2 else 0
        sound = play(sample, shift, gate + release, vibrato_cents=vib_cents * float(rng.uniform(0.5, 1.0)),
                     vibrato_hz=vib_hz, phase=float(rng.uniform(0, 2 * np.pi)), start=start)
        if len(sound) > gate:
            sound[gate:] *= _fade(len(sound) - gate)[::-1]
        if start:
            sound[: int(0.03 * RATE)] *= _fade(int(0.03 * RATE))[: len(sound)]
        db = level + trend * t / RATE + float(rng.normal(0.0, 2.0))
        _add(out, t, sound * 10 ** (db / 20))
        tied = rng.random() < legato
        gap = 0 if tied else int(rng.uniform(0.0, 0.35) * RATE)
        if rng.random() < 0.08:  # a breath or a rest
            gap += int(rng.uniform(0.2, 0.7) * RATE)
        t += int(gate * (0.97 if tied else 1.0)) + gap
    return out[:total]


def _struck(note: Note, pitch: float, length: int, ring: int) -> np.ndarray:
    """A piano ``note`` moved to ``pitch``, sounding ``ring`` samples, faded from ``length`` on: the damper
    (or the pedal let go) at the key's release."""
    shift = float(np.clip(pitch - (note.pitch or pitch), -MAX_SHIFT, MAX_SHIFT))
    sound = play(load(note.path), shift, ring)
    if len(sound) > length:
        sound[length:] *= _fade(len(sound) - length)[::-1]
    return sound


def piano(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Chords in the left hand under a melody in the right; a damper fade at each note-off unless the pedal
    holds it."""
    total = int(seconds * RATE)
    out = np.zeros(total + 2 * RATE, np.float32)
    low, high = _pitch_range(notes)
    beat = float(rng.uniform(0.25, 0.7))
    pedal = rng.random() < 0.5
    root = float(rng.integers(36, 55))
    melody = float(rng.integers(60, 80))
    t = 0

    def strike(pitch: float, at: int, length: int, db: float) -> None:
        pitch = float(np.clip(pitch, low, high))
        note = nearest(notes, pitch, rng)
        ring = length + int((rng.uniform(0.6, 1.5) if pedal else rng.uniform(0.08, 0.25)) * RATE)
        _add(out, at, _struck(note, pitch, length, ring) * 10 ** (db / 20))

    while t < total:
        bar = int(beat * 4 * RATE)
        root = float(np.clip(root + rng.choice([-5, -3, -2, 0, 2, 3, 5, 7]), 33, 57))
        chord = [root, root + rng.choice([3, 4]), root + 7] + ([root + 10] if rng.random() < 0.3 else [])
        if rng.random() < 0.5:  # block chord per bar
            for p in chord:
                strike(p, t + int(rng.uniform(0, 0.015) * RATE), bar, float(rng.uniform(-14, -6)))
        else:  # broken chord
            for k in range(4):
                strike(chord[k % len(chord)] + (12 if k == 3 else 0), t + k * bar // 4, bar // 2,
                       float(rng.uniform(-14, -7)))
        k = 0
        while k < 4:
            span = int(rng.choice([1, 1, 2])) if rng.random() < 0.8 else 4
            melody = float(np.clip(melody + rng.choice([-4, -3, -2, -1, 1, 2, 3, 4, 5, -5]), 55, 91))
            strike(melody, t + k * bar // 4, span * bar // 4, float(rng.uniform(-8, -1)))
            if rng.random() < 0.3:  # a third or sixth under the melody
                strike(melody - rng.choice([3, 4, 8, 9]), t + k * bar // 4, span * bar // 4, float(rng.uniform(-12, -5)))
            k += span
        t += bar
    return out[:total]


def piano_lines(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A piano played without the two-handed texture of `piano`: a melody line in the right hand (now and
    then a third or an octave under it), a bass line in the left, or slow single notes left to ring, with
    the pedal down or not. Phrases of chords under a melody alone taught the model that texture more than
    the instrument: 0.4.2 names 95.5 % of the held-out real grand piano's two-handed clips, 31 % of its clips
    played so (`make evaluate`'s clips-pianolines-heldout-real)."""
    total = int(seconds * RATE)
    out = np.zeros(total + 2 * RATE, np.float32)
    low, high = _pitch_range(notes)
    style = str(rng.choice(["melody", "melody", "bass", "sparse"]))
    pedal = rng.random() < 0.5
    beat = float(rng.uniform(0.18, 0.6)) if style != "sparse" else float(rng.uniform(0.7, 2.0))
    pitch = float(rng.integers(33, 55) if style == "bass" else rng.integers(55, 84))
    level = float(rng.uniform(-10, -2))
    t = int(rng.uniform(0.0, 0.3) * RATE)
    while t < total:
        length = int(beat * float(rng.choice([0.5, 1, 1, 1, 2, 3])) * RATE)
        if style == "sparse":
            pitch = float(rng.uniform(max(low, 36), min(high, 96)))
        else:
            lo, hi = (28, 62) if style == "bass" else (50, 96)
            pitch = float(np.clip(pitch + rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 7, -7, 12, -12]),
                                  max(low, lo), min(high, hi)))
        level = float(np.clip(level + rng.normal(0, 1.5), -14, 0))
        voices = [pitch]
        if style == "melody" and rng.random() < 0.2:
            voices.append(pitch - float(rng.choice([3, 4, 12])))
        ring = length + int((rng.uniform(0.8, 2.0) if pedal or style == "sparse" else rng.uniform(0.06, 0.25)) * RATE)
        for p in voices:  # a note under the melody a little softer
            db = level - (4 if p != pitch else 0)
            _add(out, t, _struck(nearest(notes, p, rng), p, length, ring) * 10 ** (db / 20))
        t += length
    return out[:total]


def guitar(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A rock riff from clean DI notes: power chords (root, fifth, octave, strummed) and single-note runs, some
    palm-muted short; the amplifier chain is applied afterwards."""
    total = int(seconds * RATE)
    out = np.zeros(total + RATE, np.float32)
    low, high = _pitch_range(notes)
    beat = float(rng.uniform(0.12, 0.4))
    root = float(rng.integers(40, 52))
    lead = rng.random() < 0.4
    pitch = float(rng.integers(57, 74))
    t = 0
    while t < total:
        length = int(beat * float(rng.choice([0.5, 1, 1, 2, 2, 4])) * RATE)
        muted = rng.random() < 0.3
        if lead:
            pitch = float(np.clip(pitch + rng.choice([-3, -2, -1, 0, 1, 2, 3, 5, -5]), low, high))
            voices = [pitch]
        else:
            if rng.random() < 0.35:
                root = float(np.clip(root + rng.choice([-5, -2, 0, 2, 3, 5, 7]), 40, 57))
            voices = [root, root + 7] + ([root + 12] if rng.random() < 0.6 else [])
        sounding = int(length * (0.35 if muted else 1.0))
        for v, p in enumerate(voices):
            note = nearest(notes, p, rng)
            shift = float(np.clip(p - (note.pitch or p), -MAX_SHIFT, MAX_SHIFT))
            bend = float(rng.uniform(0, 25)) if lead else 0.0
            sound = play(load(note.path), shift, sounding + int(0.03 * RATE), vibrato_cents=bend, vibrato_hz=5.0)
            tail = min(len(sound), int(0.03 * RATE))
            if tail:
                sound[-tail:] *= _fade(tail)[::-1]
            _add(out, t + v * int(rng.uniform(0.003, 0.012) * RATE), sound * float(rng.uniform(0.6, 1.0)))
        t += length
    return out[:total]


def arpeggios(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Plucked arpeggios left to ring (harp accompaniment)."""
    total = int(seconds * RATE)
    out = np.zeros(total + 2 * RATE, np.float32)
    low, high = _pitch_range(notes)
    step = float(rng.uniform(0.1, 0.3))
    root = float(rng.integers(int(low) + 2, int(min(high, low + 24))))
    t = 0
    while t < total:
        chord = [root, root + rng.choice([3, 4]), root + 7, root + 12]
        for k in range(int(rng.integers(3, 9))):
            p = float(np.clip(chord[k % 4] + 12 * (k // 4), low, high))
            note = nearest(notes, p, rng)
            sound = play(load(note.path), float(np.clip(p - (note.pitch or p), -MAX_SHIFT, MAX_SHIFT)), 3 * RATE)
            _add(out, t + int(k * step * RATE), sound * float(rng.uniform(0.4, 1.0)))
        t += int(step * RATE * rng.integers(4, 10))
        root = float(np.clip(root + rng.choice([-5, -3, 0, 2, 5, 7]), low, high - 12))
    return out[:total]


def oneshots(notes: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Notes one at a time, each left to sound out (its own decay and release, or let go part-way) with
    silence between: a sample library's one-shots, a player's test notes, a tuning note. Strung phrases alone
    taught the model the phrase rather than the instrument: 0.4.2 named 3 of 62 held-out real piano notes and
    60 % of held-out saxophone notes played one at a time (`python -m training.evaluate notes`)."""
    total = int(seconds * RATE)
    out = np.zeros(total + RATE, np.float32)
    low, high = _pitch_range(notes)
    t = int(rng.uniform(0.0, 0.4) * RATE)
    while t < total:
        pitch = float(rng.uniform(low + 2, high - 2))
        note = nearest(notes, pitch, rng)
        shift = float(np.clip(pitch - (note.pitch or pitch), -MAX_SHIFT / 2, MAX_SHIFT / 2))
        sample = load(note.path)
        # A note moved down reads its sample slower: the whole of it lasts longer than the sample.
        whole = int(len(sample) * 2 ** (max(0.0, -shift) / 12)) + 1
        length = whole if rng.random() < 0.6 else max(int(rng.uniform(0.3, 1.0) * whole), RATE // 4)
        sound = play(sample, shift, length)
        tail = min(len(sound), int(rng.uniform(0.02, 0.2) * RATE))
        if tail:
            sound[-tail:] *= _fade(tail)[::-1]
        _add(out, t, sound * 10 ** (float(rng.uniform(-10.0, 0.0)) / 20))
        t += len(sound) + int(rng.uniform(0.05, 0.8) * RATE)
    return out[:total]


def passages(recordings: Sequence[Note], rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Whole recordings (spoken phrases, noises) one after another with short gaps."""
    total = int(seconds * RATE)
    out = np.zeros(total, np.float32)
    t = int(rng.uniform(0, 0.3) * RATE)
    while t < total:
        sound = load(recordings[int(rng.integers(len(recordings)))].path)
        _add(out, t, sound * float(rng.uniform(0.3, 1.0)))
        t += len(sound) + int(rng.uniform(0.02, 0.4) * RATE)
    return out


def kind_of(note: Note) -> str:
    """How a group of recordings is played: ``piano``, ``guitar``, ``arpeggios``, ``passages`` (whole
    recordings one after another: spoken phrases, noises) or ``melodic``."""
    if note.instrument == "piano":
        return "piano"
    if note.label == "distorted electric guitar":
        return "guitar"
    if note.instrument == "harp":
        return "arpeggios"
    if note.kind != "note" or note.instrument == "female voice (growl)":
        return "passages"
    return "melodic"


def phrase(notes: Sequence[Note], rng: np.random.Generator, seconds: float, kind: str | None = None) -> np.ndarray:
    """A phrase of ``seconds`` played the way ``kind`` (default: `kind_of` the first note) says; a DI guitar
    comes out through a random amplifier chain, since only that makes it a distorted guitar."""
    kind = kind or kind_of(notes[0])
    audio = globals()[kind](notes, rng, seconds)
    return amplify(audio, RATE, rng) if kind_of(notes[0]) == "guitar" else audio
