"""Adapting a model to the user's own material: corrections and examples teach a new head (no Qt)."""

from .adapter import (
    Adapted,
    Embedded,
    activity_from_embeddings,
    adapt_model,
    embed_review,
    embed_reviews,
    lane_from_examples,
    remove_lanes,
    save_adapted,
)
from .head import HeadFit
from .reviews import AdaptError, Review, read_review

__all__ = [
    "AdaptError", "Adapted", "Embedded", "HeadFit", "Review", "activity_from_embeddings", "adapt_model",
    "embed_review", "embed_reviews", "lane_from_examples", "read_review", "remove_lanes",
    "save_adapted",
]
