"""Files shipped with the program: the default model, the demo take, the icon.

An installed copy (a wheel, pipx) carries them as package data under ``studio_tagger/resources/`` (setup.py
copies them there from ``resources/`` at build time); the source tree and editable installs read
``resources/`` beside the package. The installed copy is looked for first.
"""

from __future__ import annotations

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


def demo_take() -> Path:
    return shipped("demo/demo_take.flac")


def icon() -> Path:
    return shipped("icons/studio-tagger.svg")
