"""Choosing where inference runs."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' takes CUDA when a GPU is usable, else the CPU; 'cuda' without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA GPU is available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise RuntimeError(f"unknown device {device!r} (use auto, cpu or cuda)") from exc
