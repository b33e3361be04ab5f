"""A recording's window embeddings kept for adapting, and their place in a session's cache (no torch: a
session's cache is read and written by the app before torch has loaded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..models.hashing import weights_sha256
from .reviews import Review

if TYPE_CHECKING:
    from ..models import LoadedModel


@dataclass
class Embedded:
    """One recording's analysis, kept for adapting: window k covers [k * hop, k * hop + window)."""

    review: Review
    duration: float
    hop: float
    window: float
    embeddings: np.ndarray  # (windows, width) float16

    def window_spans(self) -> tuple[np.ndarray, np.ndarray]:
        starts = np.arange(len(self.embeddings)) * self.hop
        return starts, np.minimum(starts + self.window, self.duration)


CACHE_EMBEDDINGS = "adapt_embeddings"  # keys of a session's cache (.npz beside it)
CACHE_META = "adapt_embeddings_meta"


def embeddings_key(model: LoadedModel, hop: float) -> str:
    """What window embeddings depend on: the network they come from (an adapted model shares its base's)
    and the hop."""
    return f"{network_id(model)}@{hop:g}"


def network_id(model: LoadedModel) -> str:
    """The network a model's embeddings come from: the file hash of the model adapting started from,
    through any chain of adaptations (each changes only the head)."""
    adaptation = model.card.get("adaptation") or {}
    return adaptation.get("network_sha256") or adaptation.get("base_sha256") or weights_hash(model.path) or model.name


def to_cache(item: Embedded, key: str) -> dict[str, np.ndarray]:
    """A recording's window embeddings as session cache arrays: a session adapts without its audio."""
    meta = np.array([key, repr(item.duration), repr(item.hop), repr(item.window)])
    return {CACHE_EMBEDDINGS: np.asarray(item.embeddings, np.float16), CACHE_META: meta}


def from_cache(review: Review, cache: dict[str, np.ndarray], key: str, width: int = 0) -> Embedded | None:
    """The review's embeddings from a session cache written by `to_cache` for the same ``key``, at least
    ``width`` wide (a session saved before embeddings carried band features has only the embedding);
    else None."""
    try:
        meta = [str(x) for x in cache[CACHE_META]]
        embeddings = cache[CACHE_EMBEDDINGS]
        if meta[0] != key or embeddings.ndim != 2 or embeddings.shape[1] < width:
            return None
        duration, hop, window = (float(x) for x in meta[1:4])
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return Embedded(review, duration, hop, window, embeddings)


def weights_hash(path: Path | None) -> str | None:
    """The weights' hash, or None for a model that has no file (yet) or whose file cannot be read."""
    if path is None:
        return None
    try:
        return weights_sha256(path)
    except OSError:
        return None
