"""The export dialog: one place for every interchange format, with the options they share."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..analysis.regions import Region
from ..counted import counted
from ..interchange import DEFAULT_NAME_TEMPLATE, FORMATS, ExportOptions, InterchangeError, prepare_markers


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path
    options: ExportOptions


def default_export_path(source: Path, fmt: str, folder: Path | None = None) -> Path:
    """Named after the recording, in ``folder`` (the last one exported to) or beside the recording;
    always absolute, so it does not depend on the directory the app was started from."""
    spec = FORMATS[fmt]
    suffix = "-markers" if fmt != "wav" else "-regions"
    source = Path(os.path.abspath(source))
    where = Path(os.path.abspath(folder)) if folder is not None and Path(folder).is_dir() else source.parent
    return where / f"{source.stem}{suffix}-{fmt}{spec.extensions[0]}"


class ExportDialog(QDialog):
    def __init__(self, source: Path, labels: tuple[str, ...], parent: QWidget | None = None,
                 has_activity: bool = True, regions: Sequence[Region] = (), folder: Path | None = None) -> None:
        """``regions``: what an export would write, counted as the options change; ``folder``: where the
        last export went."""
        super().__init__(parent)
        self.setWindowTitle("Export regions")
        self.source = source
        self.regions = list(regions)
        self.folder = folder
        self.format = QComboBox()
        for name, spec in FORMATS.items():
            self.format.addItem(f"{name} — {spec.description}", name)
            if spec.needs_activity and not has_activity:
                self.format.model().item(self.format.count() - 1).setEnabled(False)
        self.instruments = QListWidget()
        for label in labels:
            item = QListWidgetItem(label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.instruments.addItem(item)
        self.instruments.setMaximumHeight(170)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.name_template = QLineEdit(DEFAULT_NAME_TEMPLATE)  # the CLI's default too
        self.name_template.setToolTip("Fields: {label}, {n} (count per instrument), {score}")
        self.merge_gap = QDoubleSpinBox()
        self.merge_gap.setRange(0.0, 600.0)
        self.merge_gap.setSuffix(" s")
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.count = QLabel()
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Instruments", self.instruments)
        form.addRow("Minimum score", self.min_score)
        form.addRow("Marker names", self.name_template)
        form.addRow("Join regions closer than", self.merge_gap)
        form.addRow("File", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.count)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.path.textChanged.connect(self._validate)
        self.instruments.itemChanged.connect(self._validate)
        for box in (self.min_score, self.merge_gap):
            box.valueChanged.connect(self._validate)
        self.name_template.textChanged.connect(self._validate)
        self._format_changed()

    def set_format(self, fmt: str) -> None:
        self.format.setCurrentIndex(self.format.findData(fmt))

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        self.path.setText(str(default_export_path(self.source, fmt, self.folder)))
        spec = FORMATS[fmt]
        self.note.setText("Writes a copy of the whole recording; this can take a while for long takes."
                          if spec.needs_audio else "")

    def _browse(self) -> None:
        spec = FORMATS[self.format.currentData()]
        patterns = " ".join(f"*{e}" for e in spec.extensions)
        name, _ = QFileDialog.getSaveFileName(self, "Export regions", self.path.text(), f"{spec.name} ({patterns})")
        if name:
            self.path.setText(name)

    def _validate(self) -> None:
        """Count what the options let through (after joining), or say what is wrong with them."""
        try:
            n = len(prepare_markers(self.regions, self._options()))
        except InterchangeError as exc:
            self.count.setText(f"Cannot export: {exc}")
            self.export_button.setEnabled(False)
            return
        self.count.setText(f"{counted(n, 'region')} will be written"
                           + ("" if n else " (only the file's header)"))
        self.export_button.setEnabled(bool(self.path.text().strip()))

    def request(self) -> ExportRequest:
        return ExportRequest(self.format.currentData(), Path(self.path.text().strip()).expanduser(), self._options())

    def _options(self) -> ExportOptions:
        labels = {self.instruments.item(i).text() for i in range(self.instruments.count())
                  if self.instruments.item(i).checkState() == Qt.CheckState.Checked}
        return ExportOptions(labels=labels, min_score=self.min_score.value(),
                             name_template=self.name_template.text() or "{label}", merge_gap=self.merge_gap.value())
