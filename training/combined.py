"""Writing a model made from other models (an average, an ensemble) as a command does."""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

from studio_tagger.models import save_model


def write_combined(tool: str, build: Callable[[], tuple[torch.nn.Module, dict]], out: str, done: str) -> int:
    """Build the model and write it to ``out``: the command's exit status, 2 with the reason on stderr when
    the models cannot be combined (nothing is written then)."""
    try:
        module, card = build()
    except ValueError as exc:
        print(f"{tool}: {exc}", file=sys.stderr)
        return 2
    weights, card_path = save_model(module, card, out)
    print(f"{done} into {weights} and {card_path}")
    return 0
