"""Joining trained ActivityCNN models into one model whose logits are the mean of theirs.

Networks trained apart (another seed of the same recipe) err apart, so their mean errs less, on sound
neither heard above all. The result is one model file (`ActivityEnsemble`: the networks side by side, one
linear head over their joined embeddings), so analysing, batch runs and adapting need nothing else. Each
model's calibration is folded into the mean; the card keeps none, since it belongs to other logits: run
`training.calibrate --write` on the result, as `make model` does.

    python -m training.ensemble --out runs/pair/model.safetensors runs/a/model.safetensors \\
        runs/b/model.safetensors
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from studio_tagger.models import ActivityCNN, ActivityEnsemble, load_model
from studio_tagger.models.hashing import weights_sha256
from training.combined import write_combined


def join(paths: Sequence[str | Path], name: str | None = None, version: str | None = None,
         ) -> tuple[ActivityEnsemble, dict]:
    """The ensemble of the models at ``paths`` and its card."""
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    models = [load_model(p) for p in paths]
    first = models[0]
    for m in models:
        if not isinstance(m.module, ActivityCNN):
            raise ValueError(f"{m.path} is not an ActivityCNN model")
        if m.module.head_bands:
            raise ValueError(f"{m.path} has a lane taught from examples that reads band features; join the "
                             "networks it was adapted from instead")
        if (m.labels, m.features, m.window_seconds) != (first.labels, first.features, first.window_seconds):
            raise ValueError(f"{m.path} differs from {first.path} in its labels, features or window")
        if str(m.card.get("activation", "sigmoid")) != "sigmoid":
            raise ValueError(f"{m.path} is not a sigmoid model")
    members = [m.card["architecture"]["params"] for m in models]
    module = ActivityEnsemble.from_networks([m.module for m in models], members, [m.logit_bias for m in models])
    # The first member's training section stays (its data sources and credits hold for every member trained on
    # the same sets); each member's own command and seed are listed below.
    card = {k: v for k, v in first.card.items() if k not in ("calibration", "metrics", "parameters")}
    card["architecture"] = {"type": "activity_ensemble",
                            "params": {"members": members, "n_labels": len(first.labels)}}
    card["name"] = name or first.name
    if version:
        card["version"] = version
    card["parameters"] = sum(p.numel() for p in module.parameters())
    card["ensemble_of"] = [{"path": str(m.path), "sha256": weights_sha256(m.path), "version": m.card.get("version"),
                            "command": (m.card.get("training") or {}).get("command"),
                            "seed": (m.card.get("training") or {}).get("seed"),
                            "calibration_folded": dict(m.card.get("calibration") or {})} for m in models]
    return module, card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="ActivityCNN model .safetensors files")
    ap.add_argument("--out", required=True, help="where to write the ensemble (.safetensors)")
    ap.add_argument("--name", help="the ensemble's name (default: the first model's)")
    ap.add_argument("--version", help="the ensemble's version for its card")
    args = ap.parse_args(argv)
    return write_combined("ensemble", lambda: join(args.models, args.name, args.version), args.out,
                          f"joined {len(args.models)} models")


if __name__ == "__main__":
    sys.exit(main())
