"""What the app remembers between runs (QSettings): model, device, hop, region thresholds, colours, recent files."""

from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from ..analysis.regions import RegionParams
from ..session import params_from_dict, params_to_dict
from .theme import default_colour

MAX_RECENT = 10


class AppSettings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings("studio-tagger", "studio-tagger")

    def _get(self, key: str, default: str) -> str:
        value = self.store.value(key, default)
        return default if value is None else str(value)

    @property
    def model_path(self) -> str:
        """'' means the shipped default model."""
        return self._get("analysis/model", "")

    @model_path.setter
    def model_path(self, value: str) -> None:
        self.store.setValue("analysis/model", value)

    @property
    def device(self) -> str:
        return self._get("analysis/device", "auto")

    @device.setter
    def device(self, value: str) -> None:
        self.store.setValue("analysis/device", value)

    @property
    def hop(self) -> float:
        try:
            hop = float(self._get("analysis/hop", "0.5"))
        except ValueError:
            return 0.5
        # The dialog's range; a hand-edited settings file (0, nan, 1e9) would fail every analysis.
        return min(max(hop, 0.05), 2.0) if math.isfinite(hop) else 0.5

    @hop.setter
    def hop(self, value: float) -> None:
        self.store.setValue("analysis/hop", float(value))

    @property
    def params(self) -> RegionParams:
        try:
            return params_from_dict(json.loads(self._get("regions/params", "{}")))
        except (ValueError, TypeError, KeyError, IndexError):
            return RegionParams()

    @params.setter
    def params(self, value: RegionParams) -> None:
        self.store.setValue("regions/params", json.dumps(params_to_dict(value)))

    def colours(self, labels: tuple[str, ...]) -> dict[str, str]:
        try:
            saved = json.loads(self._get("view/colours", "{}"))
        except ValueError:
            saved = {}
        return {label: str(saved.get(label, default_colour(i))) for i, label in enumerate(labels)}

    def set_colours(self, colours: dict[str, str]) -> None:
        self.store.setValue("view/colours", json.dumps(colours))

    @property
    def autosave_dir(self) -> Path:
        """Where unsaved edits are autosaved: the app's data folder unless set (tests set it)."""
        default = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "autosave"
        return Path(self._get("files/autosave_dir", str(default)))

    @autosave_dir.setter
    def autosave_dir(self, value: Path) -> None:
        self.store.setValue("files/autosave_dir", str(value))

    @property
    def export_dir(self) -> Path | None:
        """The folder of the last export (None: beside the recording)."""
        value = self._get("files/export_dir", "")
        return Path(value) if value else None

    @export_dir.setter
    def export_dir(self, value: Path) -> None:
        self.store.setValue("files/export_dir", str(Path(value).absolute()))

    @property
    def recent_files(self) -> list[str]:
        try:
            items = json.loads(self._get("files/recent", "[]"))
        except ValueError:
            return []
        return [str(x) for x in items if isinstance(x, str)]

    def add_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        items = [text] + [p for p in self.recent_files if p != text]
        self.store.setValue("files/recent", json.dumps(items[:MAX_RECENT]))

    def clear_recent(self) -> None:
        self.store.setValue("files/recent", "[]")

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.store.value("window/geometry"), self.store.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
