"""The instrument vocabulary: Medley-solos-DB's names, in its id order."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "clarinet",
    "distorted electric guitar",
    "female singer",
    "flute",
    "piano",
    "tenor saxophone",
    "trumpet",
    "violin",
)
