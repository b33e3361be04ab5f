"""Every command of the main window, once: its text, shortcuts and menu place.

The window builds its QActions and menus from :data:`ACTIONS` and :data:`MENUS`, and Help > Keyboard
shortcuts lists the same specs, so the help cannot drift from what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence

Key = str | QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """``name`` is the window attribute (``open`` -> ``window.open_action``) and the slot's key."""

    name: str
    text: str
    shortcuts: tuple[Key, ...] = ()
    tip: str = ""

    def key_sequences(self) -> list[QKeySequence]:
        keys: list[QKeySequence] = []
        for key in self.shortcuts:
            keys += QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) else [QKeySequence(key)]
        return keys

    @property
    def plain_text(self) -> str:
        """The menu text without its mnemonic and ellipsis."""
        return self.text.replace("&", "").rstrip("…")


SK = QKeySequence.StandardKey
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", (SK.Open,)),
    ActionSpec("save", "&Save Session", (SK.Save,)),
    ActionSpec("save_as", "Save Session &As…", ("Ctrl+Shift+S",)),
    ActionSpec("import_markers", "&Import Markers…", ("Ctrl+I",),
               "Read an Audacity, REAPER, Audition, Sonic Visualiser, CSV or JSON marker file as regions"),
    ActionSpec("export", "&Export Regions…", ("Ctrl+E",)),
    ActionSpec("settings", "Se&ttings…", ("Ctrl+,",)),
    ActionSpec("quit", "&Quit", (SK.Quit,)),
    ActionSpec("undo", "&Undo", (SK.Undo,)),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
    ActionSpec("add", "&Add Region from Selection", ("A", "Insert"),
               "Shift+drag in a lane to select a time span first"),
    ActionSpec("relabel", "&Relabel Region…", ("L",)),
    ActionSpec("delete", "&Delete Region", (SK.Delete, "Backspace")),
    ActionSpec("clear_selection", "Clear Selection", ("Escape",)),
    ActionSpec("zoom_in", "Zoom &In", ("+", "=", "Ctrl++")),
    ActionSpec("zoom_out", "Zoom &Out", ("-", "Ctrl+-")),
    ActionSpec("fit", "&Fit All", ("Ctrl+0", "F")),
    ActionSpec("lane_up", "Select Lane Above", ("Alt+Up",)),
    ActionSpec("lane_down", "Select Lane Below", ("Alt+Down",)),
    ActionSpec("next", "&Next Region", ("N", "Ctrl+Right")),
    ActionSpec("prev", "&Previous Region", ("P", "Ctrl+Left")),
    ActionSpec("play", "Play", ("Space",)),
    ActionSpec("play_region", "Play &Selected Region", ("Shift+Space",)),
    ActionSpec("start", "Playhead to Start", ("Home",)),
    ActionSpec("end", "Playhead to End", ("End",)),
    ActionSpec("rerun", "&Re-run Analysis", ("Ctrl+R",)),
    ActionSpec("cancel", "&Cancel Analysis", ("Ctrl+.",)),
    ActionSpec("check_next", "Next Span to &Check", ("C",),
               "Go to the next 10 s where the lanes are least sure; the span shown before counts as checked, "
               "and adapting learns from the spans checked"),
    ActionSpec("adapt", "&Adapt to My Corrections", (),
               "Teach the model this take's corrected regions; a region with a new name makes a new lane"),
    ActionSpec("new_lane", "&New Lane from Examples…", (),
               "Name a sound the model does not know, mark two to five places where it plays; a lane fills in"),
    ActionSpec("remove_lane", "Re&move Lane", (), "Remove the selected lane, one added from examples"),
    ActionSpec("undo_adapt", "&Undo Adaptation", (), "Back to the model and lanes before the last change of model"),
    ActionSpec("shipped_model", "Back to the &Shipped Model", (), "Analyse with the model that came with the app"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts", ("F1",)),
)
SPECS = {spec.name: spec for spec in ACTIONS}

# Menu layouts: action names, None for a separator, "@name" for a part the window fills itself.
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open", "@recent", None, "save", "save_as", None, "import_markers", "export", None, "settings",
               "quit")),
    ("&Edit", ("undo", "redo", None, "add", "relabel", "delete", "clear_selection")),
    ("&View", ("zoom_in", "zoom_out", "fit", None, "lane_up", "lane_down", None, "@panels")),
    ("F&ind", ("next", "prev", None, "@find")),
    ("&Playback", ("play", "play_region", "start", "end")),
    ("&Analysis", ("rerun", "cancel", None, "check_next", "adapt", "new_lane", "remove_lane", "undo_adapt",
                   "shipped_model")),
    ("&Help", ("shortcuts",)),
)


def shortcut_text(keys: list[QKeySequence]) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
