"""Region edits from menus and keys: add from the time selection, relabel, delete, import markers."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from ..analysis.regions import Region, lane_name
from ..counted import counted
from ..interchange import FORMATS, InterchangeError, detect_import_format, import_regions
from .document import Document

ANY_MARKERS = "All marker files"


def import_filters() -> dict[str, str | None]:
    """File dialog filters -> import format (None: told from the file), from the interchange registry, so
    a format gains its entry here as soon as it has a reader."""
    importable = {name: spec for name, spec in FORMATS.items() if spec.can_import}
    patterns = " ".join(sorted({f"*{e}" for spec in importable.values() for e in spec.extensions}))
    filters: dict[str, str | None] = {f"{ANY_MARKERS} ({patterns})": None}
    for name, spec in importable.items():
        filters[f"{spec.description} ({' '.join(f'*{e}' for e in spec.extensions)})"] = name
    return filters


class Editor(QObject):
    message = Signal(str, int)
    error = Signal(str)

    def __init__(self, dialog_parent: QWidget | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dialog_parent = dialog_parent
        self.doc: Document | None = None

    def set_document(self, doc: Document | None) -> None:
        self.doc = doc

    def import_dialog(self) -> None:
        if self.doc is None:
            return
        filters = import_filters()
        name, chosen = QFileDialog.getOpenFileName(self.dialog_parent, "Import markers as regions",
                                                   str(self.doc.path.parent), ";;".join(filters))
        if name:
            self.import_markers(Path(name), filters.get(chosen))

    def import_markers(self, path: Path, fmt: str | None = None) -> list[Region]:
        """Markers of another editor as regions the user can edit (one undo step): each in the lane of
        its label, with a new lane for a label the model does not know."""
        doc = self.doc
        if doc is None:
            return []
        try:
            fmt = fmt or detect_import_format(path)
            regions = import_regions(path, fmt)
        except InterchangeError as exc:
            self.error.emit(str(exc))
            return []
        if fmt in NAMES_ONLY:
            regions = numbered_names_as_labels(regions, doc.labels)
        before = set(doc.labels)
        added = doc.add_regions(regions, f"Import {len(regions)} markers")
        new = [label for label in doc.labels if label not in before]
        lanes = f"; new lanes: {', '.join(new)}" if new else ""
        skipped = f" ({len(regions) - len(added)} outside the recording left out)" if len(added) < len(regions) else ""
        points = sum(r.start == r.end for r in added)
        points_text = f", {points} of them point markers (no length)" if points else ""
        self.message.emit(f"Imported {counted(len(added), 'region')}{points_text} from {path.name}{skipped}{lanes}",
                          8000)
        return added

    def delete_selected(self) -> None:
        if self.doc is not None and self.doc.selected_region is not None:
            self.doc.delete_region(self.doc.selected_region)

    def relabel_dialog(self) -> None:
        doc = self.doc
        if doc is None or doc.selected_region is None:
            return
        label = self.ask_label("Relabel region", doc.selected_region.label)
        if label is not None:
            self.relabel_selected(label)

    def ask_label(self, title: str, current: str | None) -> str | None:
        """Ask for an instrument; None when cancelled. Tests replace this method."""
        labels = list(self.doc.labels)
        index = labels.index(current) if current in labels else 0
        label, ok = QInputDialog.getItem(self.dialog_parent, title, "Instrument:", labels, index, False)
        return label if ok else None

    def relabel_selected(self, label: str) -> None:
        if self.doc is not None and self.doc.selected_region is not None:
            self.doc.change_region(self.doc.selected_region, label=label)

    def add_from_selection(self) -> Region | None:
        """A region of the selected span, in the lane it was selected in; a span selected over the
        waveform or spectrogram belongs to no lane, so the user is asked which instrument it is."""
        doc = self.doc
        if doc is None or doc.time_selection is None:
            self.message.emit("Shift+drag in a lane to select a time span, then add a region", 4000)
            return None
        start, end = doc.time_selection
        if end - start < 0.01:
            return None
        label = doc.selection_label or self.ask_label("Add region", doc.selected_label)
        if label is None:
            return None
        region = doc.add_region(label, start, end)
        doc.set_time_selection(None)
        return region

    def clear_selection(self) -> None:
        if self.doc is not None:
            self.doc.set_time_selection(None)
            self.doc.select_region(None)


NAMES_ONLY = frozenset({"audacity", "reaper", "audition", "sonic-visualiser"})
"""Formats whose markers carry a name only, which import reads as the label (JSON and CSV keep both)."""
_NUMBERED = re.compile(r"^(.*\S)\s+#?(\d+)$")


def numbered_names_as_labels(regions: list[Region], lanes: tuple[str, ...]) -> list[Region]:
    """Markers named as this program names them by default, "{label} {n}" ("trumpet 2", "oboe 1"), with
    the number taken off when what is left is a lane, or is shared by several markers numbered apart: only
    the name travels through an Audacity, REAPER, Audition or Sonic Visualiser list, and each "trumpet n"
    came back as a lane of its own. A name such as "Take 1" alone keeps its number."""
    folded = {lane_name(lane).casefold() for lane in lanes}
    base: dict[int, str] = {}
    for i, r in enumerate(regions):
        found = _NUMBERED.match(lane_name(r.label))
        if found:
            base[i] = found.group(1)
    shared = Counter(name.casefold() for name in base.values())
    return [replace(r, label=base[i]) if i in base and (base[i].casefold() in folded or shared[base[i].casefold()] > 1)
            else r for i, r in enumerate(regions)]
