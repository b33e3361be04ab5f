"""Adapting a model to the user's own material: corrections and examples teach a new head (no Qt).

Fitting needs torch; reviews, cached embeddings and the rules of a new lane do not. Names are resolved on
first use (PEP 562), so the app's window loads without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names
from .embedded import Embedded
from .reviews import AdaptError, Review, read_review

if TYPE_CHECKING:
    from .adapter import (
        Adapted,
        activity_from_embeddings,
        adapt_model,
        embed_review,
        embed_reviews,
        lane_from_examples,
        needed_width,
        remove_lanes,
        save_adapted,
    )
    from .head import HeadFit

_HOMES = {
    "Adapted": "adapter", "activity_from_embeddings": "adapter", "adapt_model": "adapter", "embed_review": "adapter",
    "embed_reviews": "adapter", "lane_from_examples": "adapter", "remove_lanes": "adapter",
    "needed_width": "adapter", "save_adapted": "adapter", "HeadFit": "head",
}

__all__ = [
    "AdaptError", "Adapted", "Embedded", "HeadFit", "Review", "activity_from_embeddings", "adapt_model",
    "embed_review", "embed_reviews", "lane_from_examples", "needed_width", "read_review", "remove_lanes",
    "save_adapted",
]

__getattr__ = lazy_names(__name__, _HOMES)
