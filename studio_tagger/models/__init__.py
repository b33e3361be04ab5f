"""nn.Module classes (no I/O) and checkpoint read/write (safetensors + JSON card).

Everything here needs torch but `ModelError` and `default_model_path`; names are resolved on first use
(PEP 562), so the app's window can be built, and a missing model reported, before torch has loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names
from ..shipped import default_model_path
from .errors import ModelError

if TYPE_CHECKING:
    from .activity_cnn import ActivityCNN
    from .activity_ensemble import ActivityEnsemble
    from .checkpoint import LoadedModel, load_model, save_model
    from .paper_cnn import PaperCNN
    from .registry import ARCHITECTURES, build_model

_HOMES = {
    "ActivityCNN": "activity_cnn", "ActivityEnsemble": "activity_ensemble", "LoadedModel": "checkpoint",
    "load_model": "checkpoint", "save_model": "checkpoint", "PaperCNN": "paper_cnn", "ARCHITECTURES": "registry",
    "build_model": "registry",
}

__all__ = [
    "ARCHITECTURES", "ActivityCNN", "ActivityEnsemble", "LoadedModel", "ModelError", "PaperCNN", "build_model",
    "default_model_path", "load_model", "save_model",
]

__getattr__ = lazy_names(__name__, _HOMES)
