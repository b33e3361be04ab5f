"""Choosing where inference runs, and putting a model there.

torch is imported where it is needed, not with this module: `start_cuda` first reads whether the
installed torch was built with CUDA at all, so on a CPU build the app's window shows before torch loads.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class DeviceError(RuntimeError):
    """A device that cannot be used here (CUDA asked for without a GPU): the user's choice to change, not a bug."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' takes CUDA when a GPU is usable, else the CPU; 'cuda' without a GPU is an error."""
    import torch

    if isinstance(device, torch.device):
        return device
    name = (device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("the CUDA device was asked for, but no CUDA GPU is available (choose auto or cpu)")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise RuntimeError(f"unknown device {device!r} (use auto, cpu or cuda)") from exc


def start_cuda(device: str | torch.device = "auto") -> None:
    """Start CUDA now, in this thread, when ``device`` may run on it and torch was built with it.

    Starting CUDA takes about 0.2 s and holds the GIL throughout, whichever torch call triggers it; left
    to the app's analysis thread, it froze the GUI for 0.2 s after a take was opened (seen on an H200).
    The app calls this on the thread that loads torch once its window shows, and when the device setting
    changes. Without a usable GPU or driver nothing happens here: the analyzer then takes the CPU ('auto')
    or says why it cannot ('cuda').
    """
    if str(device or "auto").lower() == "cpu" or not torch_built_with_cuda():
        return
    import torch

    with contextlib.suppress(RuntimeError, AssertionError):
        torch.cuda.init()


def torch_built_with_cuda() -> bool:
    """Whether the installed torch was built with CUDA, read from its version file when torch is not
    loaded yet (importing it takes a second or more); when that file cannot tell, torch is asked."""
    loaded = sys.modules.get("torch")
    if loaded is not None:
        return bool(loaded.backends.cuda.is_built())
    spec = importlib.util.find_spec("torch")
    if spec is None:
        return False
    for folder in spec.submodule_search_locations or ():
        try:
            text = (Path(folder) / "version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r"^cuda\s*(?::[^=]*)?=\s*(.+?)\s*$", text, re.MULTILINE)
        if found:
            return found.group(1) != "None"
    import torch

    return bool(torch.backends.cuda.is_built())


def place_module(module: torch.nn.Module, device: torch.device, fresh_copy: bool = False) -> torch.nn.Module:
    """The module on ``device``, in eval mode.

    A module that lives on another device is copied (so analyzers on two devices can share one
    LoadedModel without moving it under each other's feet); ``fresh_copy`` copies it in any case.
    """
    import torch

    current = next(module.parameters(), torch.empty(0)).device
    if hasattr(module, "for_inference"):  # a folded copy: the shared LoadedModel keeps its layers
        module = module.for_inference().to(device)
    elif fresh_copy or current.type != device.type:
        module = copy.deepcopy(module).to(device)
    if device.type == "cpu" and getattr(module, "kind", "clip") == "frames":
        # oneDNN's NHWC convolutions run about 1.5x faster on CPUs for this network.
        module = module.to(memory_format=torch.channels_last)
    return module.eval()
