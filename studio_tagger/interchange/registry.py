"""The export formats by name, with what the app's export dialog shows for each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio_tagger.analysis.regions import Region

from . import audacity, audition, midi, reaper, sonic_visualiser, tables, wav
from .text import WriteFn


@dataclass(frozen=True)
class ExportFormat:
    """name: the ``FORMAT`` of ``--export FORMAT=PATH``; extensions: first one is the default."""

    name: str
    extensions: tuple[str, ...]
    description: str
    write: WriteFn
    read: Callable[[Path], list[Region]] | None = None
    needs_audio: bool = False
    needs_activity: bool = False

    @property
    def can_import(self) -> bool:
        return self.read is not None


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("audacity", (".txt",), "Audacity label track (File > Import > Labels)",
                     audacity.write, audacity.read),
        ExportFormat("reaper", (".csv",), "REAPER region list (Region/Marker Manager > Import)",
                     reaper.write, reaper.read),
        ExportFormat("audition", (".csv",), "Adobe Audition marker list (Markers panel > Import)",
                     audition.write, audition.read),
        ExportFormat("sonic-visualiser", (".svl", ".csv"),
                     "Sonic Visualiser layer (Import Annotation Layer): .svl keeps point markers as time instants, "
                     ".csv holds regions only",
                     sonic_visualiser.write, sonic_visualiser.read),
        ExportFormat("wav", (".wav",), "WAV copy of the recording with embedded regions (cue/labl/ltxt)",
                     wav.write, needs_audio=True),
        ExportFormat("midi", (".mid", ".midi"), "Standard MIDI File with a marker at each region start and end",
                     midi.write),
        ExportFormat("json", (".json",), "JSON regions (and activity matrix) for scripts",
                     tables.write_json, tables.read_json),
        ExportFormat("csv", (".csv",), "CSV regions: name, label, start, end, duration, score",
                     tables.write_csv, tables.read_csv),
        ExportFormat("csv-activity", (".csv",), "CSV activity matrix: one row per window, one column per instrument",
                     tables.write_activity_csv, needs_activity=True),
    )
}
