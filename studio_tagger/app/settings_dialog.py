"""Settings: model, device, hop (these re-run the analysis), per-instrument thresholds and colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ..analysis.regions import RegionParams
from ..shipped import SHIPPED_MODELS


@dataclass
class SettingsValues:
    model: str
    device: str
    hop: float
    per_label: dict[str, tuple[float, float]]
    colours: dict[str, str]


class SettingsDialog(QDialog):
    def __init__(self, values: SettingsValues, labels: tuple[str, ...], params: RegionParams,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.labels = labels
        self.colours = dict(values.colours)
        self.model = QLineEdit(values.model)
        self.model.setPlaceholderText("shipped default model (or 'accurate': three networks, slower)")
        self.model.setCompleter(QCompleter(sorted(SHIPPED_MODELS), self.model))  # the shipped options by name
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(values.device)
        self.hop = QDoubleSpinBox()
        self.hop.setRange(0.05, 2.0)
        self.hop.setSingleStep(0.05)
        self.hop.setSuffix(" s")
        self.hop.setValue(values.hop)
        analysis = QGroupBox("Analysis (changes re-run the model)")
        form = QFormLayout(analysis)
        form.addRow("Model", model_row)
        form.addRow("Device", self.device)
        form.addRow("Hop", self.hop)

        self.table = QTableWidget(len(labels), 4)
        self.table.setHorizontalHeaderLabels(["Own thresholds", "Open", "Close", "Colour"])
        self.table.setVerticalHeaderLabels(list(labels))
        self.rows: dict[str, tuple[QCheckBox, QDoubleSpinBox, QDoubleSpinBox, QPushButton]] = {}
        for i, label in enumerate(labels):
            own = QCheckBox("own")
            own.setToolTip(f"{label} opens and closes regions at its own thresholds instead of the panel's")
            on, off = values.per_label.get(label, (params.threshold_on, params.threshold_off))
            boxes = []
            for value in (on, off):
                box = QDoubleSpinBox()
                box.setRange(0.0, 1.0)
                box.setSingleStep(0.05)
                box.setValue(value)
                boxes.append(box)
            for box in boxes:  # the lane's own thresholds apply only while checked: editable only then
                own.toggled.connect(box.setEnabled)
                box.setEnabled(False)
            own.setChecked(label in values.per_label)
            colour = QPushButton()
            colour.clicked.connect(lambda _=False, lb=label: self._pick_colour(lb))
            self.rows[label] = (own, boxes[0], boxes[1], colour)
            for col, widget in enumerate((own, boxes[0], boxes[1], colour)):
                self.table.setCellWidget(i, col, widget)
            self._show_colour(label)
        self.table.resizeColumnsToContents()
        lanes = QGroupBox("Instruments")
        QVBoxLayout(lanes).addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(analysis)
        layout.addWidget(lanes)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Choose a model", self.model.text(), "Models (*.safetensors)")
        if name:
            self.model.setText(name)

    def _show_colour(self, label: str) -> None:
        self.rows[label][3].setStyleSheet(f"background-color: {self.colours[label]}; min-width: 40px;")

    def _pick_colour(self, label: str) -> None:
        colour = QColorDialog.getColor(QColor(self.colours[label]), self, f"Colour for {label}")
        if colour.isValid():
            self.colours[label] = colour.name()
            self._show_colour(label)

    def values(self) -> SettingsValues:
        per_label = {label: (on.value(), off.value()) for label, (own, on, off, _) in self.rows.items()
                     if own.isChecked()}
        return SettingsValues(self.model.text().strip(), self.device.currentText(), self.hop.value(), per_label,
                              dict(self.colours))
