"""Checkpoints: safetensors weights beside a JSON model card. No pickles.

The card carries everything needed to rebuild and trust the model: architecture and its parameters,
labels, feature parameters, window length, training data, metrics and versions. An optional
``calibration`` section holds a bias per label that is added to the logits before the sigmoid (fitted on
rendered takes by `training.calibrate`), so one threshold means about the same on every lane.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .. import __version__
from ..atomic import atomic_write
from ..features import FeatureParams, window_frames
from ..jsontext import json_text
from ..shipped import model_files, model_paths
from .errors import ModelError
from .registry import build_model

CARD_FORMAT = "studio-tagger-model"
CARD_VERSION = 1


@dataclass
class LoadedModel:
    module: torch.nn.Module
    card: dict
    labels: tuple[str, ...]
    name: str
    window_seconds: float
    features: FeatureParams = field(default_factory=FeatureParams)
    path: Path | None = None
    logit_bias: tuple[float, ...] = ()
    """One bias per label added to the logits before the sigmoid; empty for none."""

    @property
    def kind(self) -> str:
        """'frames' (scores every frame; windows share computation) or 'clip' (one score per window)."""
        return getattr(self.module, "kind", "clip")

    @property
    def gives_embeddings(self) -> bool:
        """Whether its frames have an embedding before the head (an ActivityCNN's ``embed``), which the
        analyzer can keep for adapting."""
        return self.kind == "frames" and hasattr(self.module, "embed")


def save_model(module: torch.nn.Module, card: dict, path: str | Path) -> tuple[Path, Path]:
    """Write weights and card atomically; returns their paths."""
    weights, card_path = model_paths(Path(path))
    card = {"format": CARD_FORMAT, "format_version": CARD_VERSION, "studio_tagger_version": __version__, **card}
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    broken = _not_numbers(tensors)
    if broken:  # load_model would refuse it: better not to write it at all
        raise ModelError(f"{weights}: not written, its weights hold values that are not numbers ({', '.join(broken[:3])})")
    weights.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(weights, "wb") as f:
        f.write(save(tensors))
    return weights, write_card(card, card_path)


def write_card(card: dict, path: str | Path) -> Path:
    """Write (or rewrite) a model card atomically beside its weights; returns the card's path."""
    _, card_path = model_paths(Path(path))
    with atomic_write(card_path, "w") as f:
        f.write(json_text(card, indent=2))  # an adapted card names reviews by path: any path
        f.write("\n")
    return card_path


def _not_numbers(tensors: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors holding NaN or infinite values."""
    return [name for name, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())]


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Rebuild a model from its card and weights; raises ModelError with the reason."""
    weights, card_path = model_files(path)
    for p in (weights, card_path):
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: model card is not valid JSON ({exc})") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelError(f"{card_path}: not a studio-tagger model card")
    try:
        labels = tuple(str(x) for x in card["labels"])
        arch = card["architecture"]
        window = float(card.get("window_seconds", 2.0))
        features = FeatureParams.from_dict(card.get("features", {}))
        _check_card(labels, window, features)
        bias = read_logit_bias(card, labels)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{card_path}: model card is incomplete or invalid ({exc})") from exc
    try:
        module = build_model(arch["type"], dict(arch.get("params", {})))
    except Exception as exc:  # whatever the constructor raises for nonsense parameters
        raise ModelError(f"{card_path}: the card's architecture cannot be built ({_first_line(exc)})") from exc
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights}: weights file is corrupt ({exc})") from exc
    broken = _not_numbers(state)
    if broken:
        # NaN or infinite weights score every window NaN: lanes stay empty and JSON exports are invalid.
        raise ModelError(f"{weights}: weights hold values that are not numbers ({', '.join(broken[:3])})")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        why = first[1].strip() if len(first) > 1 else first[0]
        raise ModelError(f"{weights}: weights do not match the card's architecture ({why})") from exc
    n_out = _output_size(module)
    if n_out is not None and n_out != len(labels):
        raise ModelError(f"{card_path}: card names {len(labels)} labels but the model has {n_out} outputs")
    module.eval()
    _check_runs(module, features, window, labels, card_path)
    return LoadedModel(
        module=module, card=card, labels=labels, name=str(card.get("name", weights.stem)),
        window_seconds=window, features=features, path=weights, logit_bias=bias,
    )


MAX_BIAS = 10.0  # logits; a larger shift would silence or saturate a lane outright


def read_logit_bias(card: dict, labels: tuple[str, ...]) -> tuple[float, ...]:
    """The card's per-label logit biases in label order (0 for a label it does not name); () without any.
    Raises ValueError for unknown labels, non-numbers, or a bias on a softmax model."""
    section = card.get("calibration")
    if section is None:
        return ()
    given = section["logit_bias"]
    if not isinstance(given, dict):
        raise ValueError("calibration.logit_bias must map labels to numbers")
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise ValueError(f"calibration names unknown labels {unknown}")
    if given and card.get("activation", "sigmoid") != "sigmoid":
        raise ValueError("a logit bias needs a sigmoid model")
    bias = []
    for label in labels:
        value = given.get(label, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= MAX_BIAS:
            raise ValueError(f"calibration bias of {label!r} must be a number within +-{MAX_BIAS:g}")
        bias.append(float(value))
    return tuple(bias) if any(bias) else ()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _check_card(labels: tuple[str, ...], window: float, features: FeatureParams) -> None:
    if not labels or len(set(labels)) != len(labels) or not all(labels):
        raise ValueError("labels must be distinct, non-empty names")
    if not 0.0 < window < 3600.0:
        raise ValueError(f"window_seconds {window} is out of range")
    if min(features.sample_rate, features.frame_length, features.frame_shift, features.n_mels, features.n_fft) <= 0:
        raise ValueError("feature sizes must be positive")


def _check_runs(module: torch.nn.Module, features: FeatureParams, window: float, labels: tuple[str, ...],
                card_path: Path) -> None:
    """One window of silence through the model: a card whose features or window do not fit the weights
    fails here, with a clear message, rather than in the middle of an analysis."""
    try:
        with torch.inference_mode():
            out = module(torch.zeros(1, max(1, window_frames(window, features)), features.n_mels))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ModelError(f"{card_path}: the model cannot run on the card's features ({_first_line(exc)})") from exc
    if out.shape[-1] != len(labels):
        raise ModelError(f"{card_path}: card names {len(labels)} labels but the model gives {out.shape[-1]} scores")


def _output_size(module: torch.nn.Module) -> int | None:
    for name in ("head", "classifier"):
        layer = getattr(module, name, None)
        if layer is not None:
            return getattr(layer, "out_channels", None) or getattr(layer, "out_features", None)
    ast = getattr(module, "ast", None)
    return ast.config.num_labels if ast is not None else None
