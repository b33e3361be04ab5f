"""Regions: where one instrument plays, found from its activity curve."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Region:
    """One stretch of time where ``label`` plays; times in seconds from the file start."""

    label: str
    start: float
    end: float
    score: float = 1.0

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Region:
        return cls(str(d["label"]), float(d["start"]), float(d["end"]), float(d.get("score", 1.0)))
