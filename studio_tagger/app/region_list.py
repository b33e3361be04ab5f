"""The region list: every region, filterable by instrument, sortable by any column; a click goes to a
region, a double-click (or Enter) plays it."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QTableView, QVBoxLayout, QWidget

from ..analysis.regions import Region
from ..labels import LABELS
from .timefmt import clock

COLUMNS = ("Instrument", "Start", "End", "Duration", "Score")
WIDEST_TEXT = ("", "0:00:00.000", "0:00:00.000", "000.00 s", "by hand")  # typical widest text per column
ALL = "All instruments"
BY_HAND = "by hand"
CELL_PADDING = 16  # px either side of a cell's text, together
_ROOT = QModelIndex()


class RegionTableModel(QAbstractTableModel):
    """The regions of one instrument (or all), sorted by any column. Filtered and sorted here in Python
    rather than by a QSortFilterProxyModel: the proxy sorts by asking ``data`` for each comparison, which
    took 0.4 s of the GUI thread for 5,000 imported markers after every single edit."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.all: list[Region] = []
        self.regions: list[Region] = []  # the rows shown: filtered by label, sorted
        self.colours: dict[str, str] = {}
        self.by_hand: set[Region] = set()
        self.label: str | None = None
        self.sort_column, self.sort_order = 1, Qt.SortOrder.AscendingOrder

    def set_regions(self, regions: list[Region], colours: dict[str, str], by_hand: set[Region] | None = None) -> None:
        self.all = list(regions)
        self.colours = colours
        self.by_hand = by_hand or set()
        self._refresh()

    def set_label(self, label: str | None) -> None:
        self.label = label
        self._refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self._refresh()

    def _refresh(self) -> None:
        column = self.sort_column
        shown = [r for r in self.all if self.label is None or r.label == self.label]
        # Ties in the chosen column keep time order either way (Python's sort is stable, reversed too), so
        # equal labels or scores list from the start.
        shown.sort(key=lambda r: (r.start, r.end, r.label))
        shown.sort(key=lambda r: _sort_value(r, column), reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        self.beginResetModel()
        self.regions = shown
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self.regions)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.regions[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            # a region the user drew has no model score: its 1.0 only keeps it in every score-filtered export
            score = BY_HAND if r in self.by_hand else f"{r.score:.2f}"
            return (r.label, clock(r.start), clock(r.end), f"{r.duration:.2f} s", score)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 0:
            return QColor(self.colours.get(r.label, "#cccccc"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return r
        return None


def _sort_value(r: Region, column: int) -> str | float:
    """What a column sorts by: the raw value, not its text (so 0:10:00 comes after 0:09:59)."""
    return (r.label.casefold(), r.start, r.end, r.duration, r.score)[column]


class RegionList(QWidget):
    activated = Signal(object)  # Region (double-click or Enter): play it
    selected = Signal(object)  # Region (single click): go to it

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.filter = QComboBox()
        self.filter.addItem(ALL)
        self.model = RegionTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        # Column widths from the widest text each column can hold, not ResizeToContents: that mode
        # asks the model for every row's size hint on each update, which stalled the GUI for tens of
        # milliseconds every second while an analysis streamed regions into a long take.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        metrics = self.table.fontMetrics()
        self._fixed_width = 0
        for col, widest in enumerate(WIDEST_TEXT[1:], start=1):
            width = max(metrics.horizontalAdvance(widest), metrics.horizontalAdvance(COLUMNS[col])) + CELL_PADDING
            header.resizeSection(col, width)
            self._fixed_width += width
        self._fit_labels(LABELS)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        self.filter.currentTextChanged.connect(lambda text: self.model.set_label(None if text == ALL else text))
        # Fusion activates on double-click and Enter; connecting doubleClicked as well would play twice
        self.table.activated.connect(lambda index: self.activated.emit(self._region(index)))
        self.table.clicked.connect(lambda index: self.selected.emit(self._region(index)))

    def _region(self, index) -> Region:
        return self.model.data(index, Qt.ItemDataRole.UserRole)

    def _fit_labels(self, labels: tuple[str, ...]) -> None:
        """Wide enough that the longest instrument name is never cut short."""
        metrics = self.table.fontMetrics()
        widest = max(metrics.horizontalAdvance(text) for text in (*labels, COLUMNS[0]))
        scrollbar = self.table.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(self._fixed_width + widest + CELL_PADDING + scrollbar + 2 * self.table.frameWidth() + 8)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        self._fit_labels(labels)
        current = self.filter.currentText()
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItems([ALL, *labels])
        self.filter.setCurrentText(current if current in labels else ALL)
        self.filter.blockSignals(False)
        self.model.set_label(None if self.filter.currentText() == ALL else self.filter.currentText())

    def set_regions(self, regions: list[Region], colours: dict[str, str], by_hand: set[Region] | None = None) -> None:
        self.model.set_regions(regions, colours, by_hand)

    def show_region(self, region: Region | None) -> None:
        """Select the row of ``region`` (when it passes the filter) without emitting signals."""
        self.table.clearSelection()
        if region is None or region not in self.model.regions:  # not a region, or filtered out
            return
        index = self.model.index(self.model.regions.index(region), 0)
        self.table.selectRow(index.row())
        self.table.scrollTo(index)

    def row_regions(self) -> list[Region]:
        """The regions in the order shown (after filter and sort)."""
        return list(self.model.regions)
