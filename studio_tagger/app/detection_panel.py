"""Region detection controls: changes apply at once, redrawing regions without re-running the model."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QPushButton, QWidget

from ..analysis.regions import RegionParams


def _spin(lo: float, hi: float, step: float, suffix: str = "", decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # typing "0.35" should not apply 0, 0.3 and 0.35 in turn
    return box


class DetectionPanel(QWidget):
    paramsChanged = Signal(object)  # RegionParams

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._params = RegionParams()
        self.threshold_on = _spin(0.0, 1.0, 0.05)
        self.threshold_off = _spin(0.0, 1.0, 0.05)
        self.smoothing = _spin(0.0, 30.0, 0.25, " s")
        self.min_duration = _spin(0.0, 600.0, 0.5, " s")
        self.merge_gap = _spin(0.0, 600.0, 0.5, " s")
        self.shadow_margin = _spin(0.0, 1.0, 0.05)
        self.shadow_margin.setSpecialValueText("never")
        self.shadow_margin.setToolTip("A region that lies inside another lane's region, where that lane is at least "
                                      "this much more active, is taken for a confusion (a sax solo lighting the "
                                      "guitar lane) and hidden. Instruments that really play together are both "
                                      "active and both stay.")
        form = QFormLayout(self)
        form.addRow("Threshold (open)", self.threshold_on)
        form.addRow("Threshold (close)", self.threshold_off)
        form.addRow("Smoothing", self.smoothing)
        form.addRow("Shortest region", self.min_duration)
        form.addRow("Bridge gaps up to", self.merge_gap)
        form.addRow("Hide overlaps weaker by", self.shadow_margin)
        # Lanes with thresholds of their own (Settings) are listed here and marked in the lanes: they are
        # remembered from file to file, and the thresholds above do not move them.
        self.own = QLabel()
        self.own.setWordWrap(True)
        self.clear_own = QPushButton("Use these thresholds for every lane")
        self.clear_own.clicked.connect(self._clear_own)
        form.addRow(self.own)
        form.addRow(self.clear_own)
        for box in self._boxes():
            box.valueChanged.connect(self._changed)
        self._show_own()

    def _boxes(self) -> tuple[QDoubleSpinBox, ...]:
        return (self.threshold_on, self.threshold_off, self.smoothing, self.min_duration, self.merge_gap,
                self.shadow_margin)

    def params(self) -> RegionParams:
        return self._params

    def set_params(self, params: RegionParams) -> None:
        self._params = params
        values = (params.threshold_on, params.threshold_off, params.smoothing, params.min_duration, params.merge_gap,
                  params.shadow_margin)
        for box, value in zip(self._boxes(), values, strict=True):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._show_own()

    def _show_own(self) -> None:
        own = self._params.per_label
        self.own.setText("Own thresholds (open / close, set in Settings): "
                         + "; ".join(f"{label} {on:.2f} / {off:.2f}" for label, (on, off) in sorted(own.items()))
                         if own else "Every lane uses these thresholds.")
        self.clear_own.setVisible(bool(own))

    def _clear_own(self) -> None:
        self._params = replace(self._params, per_label={})
        self._show_own()
        self.paramsChanged.emit(self._params)

    def _changed(self) -> None:
        self._params = replace(
            self._params, threshold_on=self.threshold_on.value(), threshold_off=self.threshold_off.value(),
            smoothing=self.smoothing.value(), min_duration=self.min_duration.value(), merge_gap=self.merge_gap.value(),
            shadow_margin=self.shadow_margin.value(),
        )
        self.paramsChanged.emit(self._params)
