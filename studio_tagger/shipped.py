"""Files shipped with the program: the default model, the demo take, the icon.

An installed copy (a wheel, pipx) carries them as package data under ``studio_tagger/resources/`` (setup.py
copies them there from ``resources/`` at build time); the source tree and editable installs read
``resources/`` beside the package. The installed copy is looked for first.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

SOURCE_TREE = Path(__file__).resolve().parent.parent / "resources"


def shipped(relative: str) -> Path:
    """The path of a shipped file, ``relative`` to ``resources/`` (e.g. ``"models/default.safetensors"``)."""
    installed = resources.files("studio_tagger").joinpath("resources")
    for part in relative.split("/"):
        installed = installed.joinpath(part)
    if installed.is_file():
        return Path(str(installed))
    return SOURCE_TREE / relative


def default_model_path() -> Path:
    """The model used when none is named: ``STUDIO_TAGGER_MODEL`` if set, else the shipped one."""
    override = os.environ.get("STUDIO_TAGGER_MODEL")
    return Path(override) if override else shipped("models/default.safetensors")


def model_paths(path: Path) -> tuple[Path, Path]:
    """The weights and card of the model named by ``path`` (either file, or their common stem)."""
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


SHIPPED_MODELS = {"accurate": "models/accurate.safetensors"}
"""Models shipped beside the default, by the name `--model` and Settings take: three networks whose mean
names more and lights up less on nothing, at three times the model's cost (README, "The shipped model")."""


def model_files(path: str | Path | None = None) -> tuple[Path, Path]:
    """The weights and card paths of a model (default: the one used when none is named; a name of
    `SHIPPED_MODELS` the shipped file of that name, unless a file of that name is in the way). Kept free
    of torch, so a command can read a card before the model loads."""
    if path is None:
        return model_paths(default_model_path())
    name = str(path).strip()
    if name in SHIPPED_MODELS and not model_paths(Path(name))[0].exists():
        return model_paths(shipped(SHIPPED_MODELS[name]))
    return model_paths(Path(path))


def model_sample_rate(path: str | Path | None = None) -> int:
    """The sample rate a model's card names, what analysis resamples to: its `FeatureParams`, read as
    loading the model reads them, without torch. Raises OSError or ValueError for a card that cannot be
    read."""
    from .features.params import FeatureParams

    card = json.loads(model_files(path)[1].read_text(encoding="utf-8"))
    try:
        return int(FeatureParams.from_dict(card.get("features", {})).sample_rate)
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"model card without usable features ({exc})") from exc


def demo_take() -> Path:
    return shipped("demo/demo_take.flac")


def icon() -> Path:
    return shipped("icons/studio-tagger.svg")
