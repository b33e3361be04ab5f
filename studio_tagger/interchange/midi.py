"""Standard MIDI File with a marker meta event (FF 06) at each region's start and end.

The tempo map is one 120 bpm tempo at 960 ticks per beat, so one tick is 1/1920 s and every marker is
within 0.27 ms of its time in any DAW that honours the file's tempo. Marker text is UTF-8, which is
what REAPER, Logic and most current DAWs write and read; readers that assume Latin-1 show accented
names garbled but ASCII names unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

import mido

from .context import ExportContext
from .markers import Marker

TICKS_PER_BEAT = 960
TEMPO_US_PER_BEAT = 500_000  # 120 bpm
TICKS_PER_SECOND = TICKS_PER_BEAT * 1_000_000 / TEMPO_US_PER_BEAT
TEXT_CHARSET = "utf-8"
# A delta time is a variable-length number of at most four bytes (the SMF specification), so one gap can
# hold at most 0x0FFFFFFF ticks, 38.8 h at this resolution. mido writes a larger one in five bytes without
# a word, which readers then misparse; a longer gap is split by empty text events (FF 01), which mark nothing.
MAX_DELTA = 0x0FFFFFFF


def _tick(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def write(out: BinaryIO, markers: Sequence[Marker], ctx: ExportContext) -> None:
    # (tick, order, text): at equal ticks an end comes before the next start, as one reads them.
    events = []
    for m in markers:
        events.append((_tick(m.start), 1, m.name))
        if m.end > m.start:
            events.append((_tick(m.end), 0, f"{m.name} end"))
    events.sort(key=lambda e: (e[0], e[1]))

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="studio-tagger regions", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US_PER_BEAT, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for tick, _, text in events:
        delta = tick - now
        while delta > MAX_DELTA:
            track.append(mido.MetaMessage("text", text="", time=MAX_DELTA))
            delta -= MAX_DELTA
        track.append(mido.MetaMessage("marker", text=text, time=delta))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    ctx.check_cancel()
    mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT, charset=TEXT_CHARSET, tracks=[track]).save(file=out)
