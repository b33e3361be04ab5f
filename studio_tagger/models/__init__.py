"""nn.Module classes (no I/O) and checkpoint read/write (safetensors + JSON card)."""

from .activity_cnn import ActivityCNN
from .activity_ensemble import ActivityEnsemble
from .checkpoint import LoadedModel, ModelError, default_model_path, load_model, save_model
from .paper_cnn import PaperCNN
from .registry import ARCHITECTURES, build_model

__all__ = [
    "ARCHITECTURES", "ActivityCNN", "ActivityEnsemble", "LoadedModel", "ModelError", "PaperCNN", "build_model",
    "default_model_path", "load_model", "save_model",
]
