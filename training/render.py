"""Turning phrases into audio: MIDI files written with mido, rendered by the FluidSynth command line
(TiMidity++ for the evaluation-only FreePats bank).

Loading a SoundFont costs far more than rendering a few seconds, so callers put many phrases into one MIDI
file (``Part`` = one instrument on one channel, ``Placement`` = a phrase at a time) and render it once.
"""

from __future__ import annotations

import io
import math
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
import soxr

from training import sonivox
from training.phrases import PITCHWHEEL, Phrase, retime
from training.soundfonts import SoundFont

SAMPLE_RATE = 44100
TICKS_PER_BEAT = 960
_TEMPO_US = 500_000  # 120 bpm: one tick is 1/1920 s, fine enough for vibrato curves
_TICKS_PER_SECOND = TICKS_PER_BEAT * 1_000_000 / _TEMPO_US
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Placement:
    time: float
    """Seconds from the start of the render."""
    phrase: Phrase
    reverb: int = 40
    """CC91 reverb send, 0..127."""
    chorus: int = 0
    """CC93 chorus send, 0..127."""


@dataclass(frozen=True)
class Part:
    program: int
    """GM program, or the drum kit number when ``drums``."""
    placements: tuple[Placement, ...]
    drums: bool = False
    volume: int = 100
    """CC7 channel volume."""


def _ticks(seconds: float) -> int:
    return round(seconds * _TICKS_PER_SECOND)


def _part_events(part: Part, channel: int) -> list[tuple[int, int, mido.Message]]:
    """(tick, order, message) for one part; order puts note-offs before controls before note-ons."""
    events = [(0, 1, mido.Message("program_change", channel=channel, program=part.program))]
    for pl in part.placements:
        t = pl.time
        # Each phrase starts from a clean channel: no leftover bend, pedal, expression or modulation.
        for number, value in ((121, 0), (7, part.volume), (10, 64), (91, pl.reverb), (93, pl.chorus)):
            events.append((_ticks(t), 1, mido.Message("control_change", channel=channel, control=number,
                                                      value=value)))
        for c in pl.phrase.controls:
            msg = (mido.Message("pitchwheel", channel=channel, pitch=c.value) if c.number == PITCHWHEEL
                   else mido.Message("control_change", channel=channel, control=c.number, value=c.value))
            events.append((_ticks(t + c.time), 2, msg))
        notes = sorted(pl.phrase.notes, key=lambda n: (n.pitch, n.start))
        for i, n in enumerate(notes):
            end = n.end
            if i + 1 < len(notes) and notes[i + 1].pitch == n.pitch:
                end = min(end, notes[i + 1].start)  # a note-off must not cut the repeated note short
            on, off = _ticks(t + n.start), max(_ticks(t + end), _ticks(t + n.start) + 1)
            events.append((on, 3, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    return events


def write_midi(parts: Sequence[Part], path: Path, length: float) -> None:
    """A type-1 MIDI file with one track per part; every track lasts ``length`` seconds."""
    midi_file(parts, length).save(path)


def midi_file(parts: Sequence[Part], length: float) -> mido.MidiFile:
    """`write_midi`'s file, in memory."""
    mf = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    melodic = (c for c in range(16) if c != DRUM_CHANNEL)
    for part in parts:
        channel = DRUM_CHANNEL if part.drums else next(melodic)
        track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=_TEMPO_US, time=0)])
        now = 0
        for tick, _, msg in sorted(_part_events(part, channel), key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=max(0, _ticks(length) - now)))
        mf.tracks.append(track)
    return mf


def render(parts: Sequence[Part], soundfont: SoundFont, length: float, *, gain: float = 0.4,
           room_size: float = 0.2, shift: int = 0) -> np.ndarray:
    """Mono float32 audio at SAMPLE_RATE, exactly ``length`` seconds long, of ``parts`` played by the bank.

    FluidSynth renders stereo with its reverb and chorus on; the channels are averaged (every part is
    panned to the centre, so nothing cancels).

    ``shift`` (semitones) is a timbre shift: the parts are played that much higher and 2**(shift/12) times
    faster, and the audio is resampled back to the original pitch and timing, so the samples' spectral
    envelope (formants, body resonances, the bank's colour) moves down by ``shift`` semitones (up when
    negative) while every note keeps its pitch: another instrument maker, as it were, from the same
    samples. Drum parts are not transposed (that would change the drums), only their tuning moves.
    """
    frames = math.ceil(length * SAMPLE_RATE)
    if shift:
        speed = 2.0 ** (shift / 12)
        fast = [replace(p, placements=tuple(replace(pl, time=pl.time / speed,
                                                    phrase=retime(pl.phrase, speed, 0 if p.drums else shift))
                                            for pl in p.placements)) for p in parts]
        audio = render(fast, soundfont, length / speed, gain=gain, room_size=room_size)
        return _fit(soxr.resample(audio, SAMPLE_RATE, SAMPLE_RATE * speed, quality="HQ"), frames)
    if soundfont.renderer == "timidity":
        return _fit(_timidity(parts, soundfont, length, gain), frames)
    if soundfont.renderer == "sonivox":
        return _fit(_sonivox(parts, length, gain), frames)
    with tempfile.TemporaryDirectory(prefix="studio-tagger-render-") as tmp:
        midi, raw = Path(tmp) / "in.mid", Path(tmp) / "out.raw"
        write_midi(parts, midi, length)
        cmd = ["fluidsynth", "-ni", "-q", "-o", "synth.dynamic-sample-loading=1",
               "-o", "synth.polyphony=512", "-o", f"synth.reverb.room-size={room_size:.3f}",
               "-g", f"{gain:g}", "-r", str(SAMPLE_RATE), "-T", "raw", "-O", "float", "-E", "little",
               "-F", str(raw), str(soundfont.path), str(midi)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not raw.exists():
            raise RuntimeError(f"fluidsynth failed on {soundfont.name} ({proc.returncode}): "
                               f"{proc.stderr.strip()[-500:]}")
        stereo = np.fromfile(raw, dtype="<f4")
    return _fit(stereo[: len(stereo) // 2 * 2].reshape(-1, 2).mean(axis=1), frames)


def _timidity(parts: Sequence[Part], bank: SoundFont, length: float, gain: float) -> np.ndarray:
    """Mono audio of ``parts`` rendered by TiMidity++ with the bank's configuration (its own reverb on).

    TiMidity always reads its default configuration first (FluidR3 on Debian) and lets ``-c`` override
    it, so only programs the bank lists may be asked for (`style_programs` sees to that); drum notes a
    kit lacks still fall back to the default kit, which only touches accompaniment."""
    with tempfile.TemporaryDirectory(prefix="studio-tagger-render-") as tmp:
        midi, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        write_midi(parts, midi, length)
        # -A: TiMidity's volume in percent; 70 (its default) sits about where FluidSynth's gain 0.4 does.
        cmd = ["timidity", "-c", str(bank.path), "-Ow", "--output-mono", "--output-24bit", "--preserve-silence",
               "-s", str(SAMPLE_RATE), "-A", str(round(70 * gain / 0.4)), "-o", str(wav), str(midi)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise RuntimeError(f"{bank.name} needs TiMidity++ (Debian package timidity)") from None
        if proc.returncode != 0 or not wav.exists():
            raise RuntimeError(f"timidity failed on {bank.name} ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"timidity wrote {rate} Hz instead of {SAMPLE_RATE}")
    return audio.mean(axis=1)


def _sonivox(parts: Sequence[Part], length: float, gain: float) -> np.ndarray:
    """Mono audio of ``parts`` played by the EAS synthesizer (no reverb), resampled from its rate to ours."""
    midi = io.BytesIO()  # EAS reads the file from memory: no temporary file
    midi_file(parts, length).save(file=midi)
    rate = sonivox.sample_rate()
    audio = sonivox.render_midi(midi.getvalue(), math.ceil(length * rate))
    # EAS plays a lone line 3-5 times as loud as FluidSynth does at gain 0.4 (flute, sax, piano, violin
    # phrases): scaled to about FluidSynth's level, so takes mix as they do with the other banks.
    return soxr.resample(audio * (0.25 * gain / 0.4), rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    """``audio`` as float32, cut or zero-padded to exactly ``frames`` samples."""
    out = np.zeros(frames, dtype=np.float32)
    out[: min(frames, len(audio))] = audio[:frames]
    return out


def frame_rms(audio: np.ndarray, frame: int = 1024) -> np.ndarray:
    """RMS of consecutive non-overlapping frames (a short tail is dropped)."""
    n = len(audio) // frame
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = audio[: n * frame].astype(np.float64).reshape(n, frame)
    return np.sqrt(np.mean(blocks**2, axis=1)).astype(np.float32)


def sounding_extent(audio: np.ndarray, floor_db: float = -40.0, frame: int = 512) -> tuple[int, int] | None:
    """(first, last+1) sample of the frames within ``floor_db`` of the loudest frame, or None if silent."""
    env = frame_rms(audio, frame)
    if env.size == 0 or env.max() <= 1e-7:
        return None
    loud = np.flatnonzero(env >= env.max() * 10 ** (floor_db / 20))
    return int(loud[0]) * frame, (int(loud[-1]) + 1) * frame
