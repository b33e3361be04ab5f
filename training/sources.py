"""What a training clip is and which files count as audio: shared by `training.data` and
`training.folder` (which `data` loads), so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3", ".w64", ".caf")


@dataclass(frozen=True)
class ClipSource:
    path: Path
    label_id: int
    """Index into the dataset's labels, or NOT_A_LABEL (-1) for accompaniment and other negatives."""
    song_id: int
    """Clips of one song (or one user file) are near-duplicates and stay on one side of a split."""
    subset: str
    family: str
    instrument: str = ""
    """What plays in it as the metadata names it (for accompaniment: "cello", "french horn", ...); empty
    when unknown. Training may learn accompaniment instruments as auxiliary outputs (`training.train`)."""
    group: str = ""
    """A finer name the metadata may give, one source's instrument ("mtg_solosax/soprano saxophone"): the
    clip reports show recall per group; empty when the metadata has no ``group`` column."""
