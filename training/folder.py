"""A user's own library as a dataset: one sub-folder per label.

    library/
      flute/            any audio files, any length, nested folders allowed
      violin/
      other/            optional: clips where none of the labels plays (negatives, mixture partners)

Folder names match the standard labels ignoring case, with "_" or "-" for spaces ("Tenor_Saxophone" is
"tenor saxophone"); other names become labels of their own, so a library can teach new instruments.
Labels present among the standard ones keep their standard order; new ones follow, sorted. Each file is one
"song", so a held-out split never shares a file with training.
"""

from __future__ import annotations

from pathlib import Path

from studio_tagger.labels import LABELS
from training.medley import NOT_A_LABEL
from training.sources import AUDIO_SUFFIXES, ClipSource

NEGATIVE_FOLDERS = ("other", "none", "accompaniment", "negative", "negatives")


def _canonical(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith("."))


def folder_labels(root: str | Path) -> tuple[str, ...]:
    """The labels a library teaches, from its sub-folder names (negatives folders excluded)."""
    names = {_canonical(p.name) for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")}
    names -= set(NEGATIVE_FOLDERS)
    return tuple(label for label in LABELS if label in names) + tuple(sorted(names - set(LABELS)))


def folder_sources(root: str | Path) -> tuple[tuple[str, ...], list[ClipSource]]:
    """(labels, sources) of a library; raises ValueError when it has no labelled audio."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    labels = folder_labels(root)
    index = {label: i for i, label in enumerate(labels)}
    sources: list[ClipSource] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = _canonical(sub.name)
        label_id = NOT_A_LABEL if name in NEGATIVE_FOLDERS else index[name]
        for path in _audio_files(sub):
            sources.append(ClipSource(path, label_id, len(sources), "folder", "folder"))
    if not any(s.label_id != NOT_A_LABEL for s in sources):
        raise ValueError(f"{root}: no audio files in label sub-folders")
    return labels, sources
