"""Architecture names in model cards -> nn.Module classes."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .activity_cnn import ActivityCNN
from .activity_ensemble import ActivityEnsemble
from .paper_cnn import PaperCNN


def _paper_ast(**params) -> nn.Module:
    from .paper_ast import PaperAST  # keeps transformers out of the import path of the other models

    return PaperAST(**params)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "activity_cnn": ActivityCNN,
    "activity_ensemble": ActivityEnsemble,
    "paper_cnn": PaperCNN,
    "paper_ast": _paper_ast,
}


def build_model(architecture: str, params: dict) -> nn.Module:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})")
    return ARCHITECTURES[architecture](**params)
