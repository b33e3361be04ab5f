"""Averaging the weights of models from one training run (a "soup"), to try whether it generalises better.

Models from the legs of one run (e.g. the 12-, 18- and 24-epoch ends of warm restarts) share a basin, so
their mean is a model too. Batch-norm running statistics are averaged like the weights (their counters
come from the last model). The card is the last model's, without its calibration, which belongs to
other weights: run `training.calibrate --write` on the result before comparing it.

    python -m training.average --out runs/soup/model.safetensors runs/real-v3/model.safetensors \\
        runs/real-v4/model.safetensors

With ``--weights`` the mean is weighted: a base model and its fine-tunes, e.g. ``--weights 3,1,1,1`` for
half the base and half the fine-tunes' mean, is a point on the line back from the fine-tunes to the base,
which often keeps what the base did well on material neither was tuned for (WiSE-FT, Wortsman et al. 2022).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from studio_tagger.models import load_model
from studio_tagger.models.hashing import weights_sha256
from training.combined import write_combined


def average(paths: Sequence[str | Path], weights: Sequence[float] | None = None) -> tuple[torch.nn.Module, dict]:
    """The mean of the models' weights (weighted by ``weights``, which need not sum to one) as a module,
    with a card naming what was averaged and with which weight."""
    if len(paths) < 2:
        raise ValueError("average needs at least two models")
    if weights is None:
        weights = [1.0] * len(paths)
    if len(weights) != len(paths):
        raise ValueError(f"{len(weights)} weights for {len(paths)} models")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    share = [w / sum(weights) for w in weights]
    models = [load_model(p) for p in paths]
    first = models[-1]
    states = [m.module.state_dict() for m in models]
    for m, state in zip(models[:-1], states[:-1], strict=True):
        if m.labels != first.labels or state.keys() != states[-1].keys() or any(
                state[k].shape != states[-1][k].shape for k in state):
            raise ValueError(f"{m.path} does not have the architecture and labels of {first.path}")
    mean = {k: sum(w * s[k] for w, s in zip(share, states, strict=True)) if v.is_floating_point() else v.clone()
            for k, v in states[-1].items()}
    module = copy.deepcopy(first.module)
    module.load_state_dict(mean)
    module.eval()
    card = {k: v for k, v in first.card.items() if k not in ("calibration", "metrics")}
    card["averaged_from"] = [{"path": str(m.path), "sha256": weights_sha256(m.path), "weight": round(w, 6)}
                             for m, w in zip(models, share, strict=True)]
    return module, card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model .safetensors files of one run")
    ap.add_argument("--out", required=True, help="where to write the averaged model (.safetensors)")
    ap.add_argument("--weights", type=_weights, default=None,
                    help="comma-separated weight per model, in their order (default: all equal)")
    args = ap.parse_args(argv)
    return write_combined("average", lambda: average(args.models, args.weights), args.out,
                          f"averaged {len(args.models)} models")


def _weights(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
