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
    """The weights and card of the model named by ``path`` (either file, or their common stem). Another
    suffix is part of the name ("my.hall" is my.hall.safetensors), never replaced."""
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


SHIPPED_MODELS = {"accurate": "models/accurate.safetensors"}
"""Models shipped beside the default, by the name `--model` and Settings take: three networks whose mean
names more and lights up less on nothing, at three times the model's cost (README, "The shipped model")."""


def model_files(path: str | Path | None = None) -> tuple[Path, Path]:
    """The weights and card paths of a model (default: the one used when none is named; a name of
    `SHIPPED_MODELS` the shipped file of that name, unless a file of that name is in the way). Kept free
    of torch, so a command can read a card before the model loads."""
    name = "" if path is None else str(path).strip()
    if not name:  # as Settings has it: an empty model field is the default
        return model_paths(default_model_path())
    if name.casefold() in SHIPPED_MODELS and not model_paths(Path(name))[0].exists():  # "Accurate" too
        return model_paths(shipped(SHIPPED_MODELS[name.casefold()]))
    if Path(name).name in ("", ".", "..") or Path(name).is_dir():
        from .models.errors import ModelError  # here: the models package imports this module

        raise ModelError(f"{path}: names a folder, not a model file (give its .safetensors)")
    return model_paths(Path(path))


def read_card(path: str | Path | None = None) -> dict:
    """A model's JSON card (named as `model_files` takes it), read without torch. Raises OSError or
    ValueError for a card that cannot be read."""
    return json.loads(model_files(path)[1].read_text(encoding="utf-8"))


def shipped_choice(path: str | Path | None) -> str | None:
    """How Settings names the shipped model at ``path``: "" for the default, a name of `SHIPPED_MODELS` for
    one of those, None for any other model (an adapted one, one the user trained)."""
    if path is None or not str(path).strip():
        return ""
    from .models.errors import ModelError

    try:
        weights = model_files(path)[0]
    except ModelError:  # a folder: no model at all, so none of the shipped ones
        return None
    for choice in ("", *SHIPPED_MODELS):
        try:
            if weights.resolve() == model_files(choice or None)[0].resolve():
                return choice
        except OSError:
            continue
    return None


def adapted_from(path: str | Path | None) -> str:
    """The shipped model (named as `shipped_choice` names it) that the model at ``path`` was adapted
    from: its card names the hash of the file adapting started from, kept through every later adaptation
    (each changes only the head), so a moved installation still counts. "" (the default) for a model
    adapted from something else, or not adapted at all."""
    choice = shipped_choice(path)
    if choice is not None:
        return choice
    from .models.errors import ModelError
    from .models.hashing import weights_sha256

    try:
        card = read_card(path)
    except (OSError, ValueError, ModelError):
        return ""
    adaptation = card.get("adaptation") if isinstance(card, dict) else None
    if not isinstance(adaptation, dict):
        return ""
    origin = adaptation.get("network_sha256") or adaptation.get("base_sha256")
    for choice in SHIPPED_MODELS:
        try:
            if origin and origin == weights_sha256(model_files(choice)[0]):
                return choice
        except OSError:
            continue
    return ""


def model_sample_rate(path: str | Path | None = None) -> int:
    """The sample rate a model's card names, what analysis resamples to: its `FeatureParams`, read as
    loading the model reads them, without torch. Raises OSError or ValueError for a card that cannot be
    read."""
    from .features.params import FeatureParams

    card = read_card(path)
    try:
        return int(FeatureParams.from_dict(card.get("features", {})).sample_rate)
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"model card without usable features ({exc})") from exc


def demo_take() -> Path:
    return shipped("demo/demo_take.flac")


def icon() -> Path:
    return shipped("icons/studio-tagger.svg")
