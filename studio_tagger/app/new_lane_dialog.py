"""Analysis > New Lane from Examples: name a sound the model does not know and mark where it plays.

The dialog stays open beside the timeline (not modal): the editor Shift+drags over a place where the
sound plays, presses "Add Selection", and repeats two to five times; regions already drawn in a lane the
model does not know (added by hand or imported) come in as examples too. "Teach" starts the adaptation,
which fills the new lane in over the whole take.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
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

from ..adapt.lanes import FEW_EXAMPLES, lane_in_use
from ..analysis.regions import lane_name
from .document import Document
from .timefmt import clock

SUGGESTED_EXAMPLES = (2, 5)


class NewLaneDialog(QDialog):
    teach = Signal(str, list)  # name, [(start, end), ...]

    def __init__(self, doc: Document, model_labels: tuple[str, ...], parent: QWidget | None = None,
                 window: float | None = None) -> None:
        """``window``: the model's analysis window in seconds; an example must span one (None: unchecked here,
        the adaptation checks it)."""
        super().__init__(parent)
        self.window = window
        self.setWindowTitle("New lane from examples")
        self.setModal(False)
        self.doc = doc
        self.model_labels = model_labels
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. oboe")
        self.examples = QListWidget()
        self.add_button = QPushButton("&Add Selection")
        self.add_button.setToolTip("Shift+drag over a place where the sound plays, then add it here")
        self.remove_button = QPushButton("&Remove")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.teach_button = self.buttons.addButton("&Teach", QDialogButtonBox.ButtonRole.AcceptRole)

        form = QFormLayout()
        form.addRow("Lane name:", self.name)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Examples ({SUGGESTED_EXAMPLES[0]}-{SUGGESTED_EXAMPLES[1]} places where it plays):"))
        layout.addWidget(self.examples)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)

        self.add_button.clicked.connect(self.add_selection)
        self.remove_button.clicked.connect(self.remove_current)
        self.name.textChanged.connect(self._update)
        self.buttons.accepted.connect(self._teach)
        self.buttons.rejected.connect(self.reject)
        doc.selectionChanged.connect(self._update)
        self._prefill()
        self._update()

    def spans(self) -> list[tuple[float, float]]:
        return [self.examples.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.examples.count())]

    def add_span(self, start: float, end: float) -> None:
        if (start, end) in self.spans() or end <= start:
            return
        item = QListWidgetItem(f"{clock(start, 1)} – {clock(end, 1)}  ({end - start:.1f} s)")
        item.setData(Qt.ItemDataRole.UserRole, (start, end))
        self.examples.addItem(item)
        self._update()

    def add_selection(self) -> None:
        if self.doc.time_selection is not None:
            self.add_span(*self.doc.time_selection)
            self.doc.set_time_selection(None)

    def remove_current(self) -> None:
        row = self.examples.currentRow()
        if row >= 0:
            self.examples.takeItem(row)
            self._update()

    def problem(self) -> str:
        """Why Teach is not possible yet ('' when it is)."""
        name = lane_name(self.name.text())
        if not name:
            return "Name the sound."
        if lane_in_use(name, self.model_labels) is not None:
            return f"“{name}” is already a lane; choose another name."
        if not self.spans():
            return "Shift+drag over a place where it plays, then Add Selection."
        short = next(((s, e) for s, e in self.spans() if self.window is not None and e - s < self.window), None)
        if short is not None:  # said here, while the examples are still in the dialog to fix
            return (f"The example at {clock(short[0], 1)} – {clock(short[1], 1)} is shorter than one analysis "
                    f"window ({self.window:g} s): widen it or remove it.")
        return ""

    def _prefill(self) -> None:
        """A lane of the editor's regions that the model does not know: its name and regions to start from."""
        extra = [label for label in self.doc.extra_labels if label not in self.model_labels]
        if extra:
            self.name.setText(extra[0])
            for region in self.doc.regions_of(extra[0]):
                self.add_span(region.start, region.end)
        if self.doc.time_selection is not None:
            self.add_span(*self.doc.time_selection)

    def _update(self) -> None:
        problem = self.problem()
        self.teach_button.setEnabled(not problem)
        self.add_button.setEnabled(self.doc.time_selection is not None)
        self.remove_button.setEnabled(self.examples.count() > 0)
        n = self.examples.count()
        few = n and n < FEW_EXAMPLES
        self.hint.setText(problem or ("One or two examples can be enough, but three to five in different places "
                                      "teach the lane far better." if few else ""))

    def _teach(self) -> None:
        if self.problem():
            return
        self.teach.emit(lane_name(self.name.text()), self.spans())
        self.accept()
