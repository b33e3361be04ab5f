"""File > Import markers: another editor's markers become editable regions, a lane per label."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from studio_tagger.analysis.regions import Region, RegionParams
from studio_tagger.app.editing import import_filters
from studio_tagger.app.main_window import MainWindow
from studio_tagger.interchange import FORMATS, ExportOptions, export_regions

NOTHING = RegionParams(threshold_on=1.01, threshold_off=1.01)


def test_imported_markers_are_regions_with_new_lanes_for_new_labels(qtbot, analysed, tmp_path, settings,
                                                                   output) -> None:
    w = analysed
    w.set_region_params(NOTHING)
    marks = tmp_path / "mine.txt"
    # Another editor's capitals and stray spaces name the same lanes.
    marks.write_text("2.0\t6.5\tFlute\n10.0\t14.0\tbass guitar\n20.0\t22.0\tBass Guitar \n"
                     "38.0\t99.0\tflute\n45.0\t50.0\tflute\n", encoding="utf-8")
    w.editing.import_markers(marks)
    doc = w.doc
    assert [(r.label, r.start, r.end) for r in doc.regions] == [
        ("flute", 2.0, 6.5), ("bass guitar", 10.0, 14.0), ("bass guitar", 20.0, 22.0),
        ("flute", 38.0, doc.duration)]  # 45-50 s: past the end
    assert doc.labels[-1] == "bass guitar" and doc.labels[:-1] == doc.activity.labels
    ticks = [text for _, text in w.timeline.lanes_plot.getAxis("left")._tickLevels[0]]
    assert ticks[-1] == "bass guitar"
    assert "Next bass guitar" in [a.text() for a in w.find_menu.actions()]
    assert w.timeline.lanes.lane_at(0.5) == "bass guitar"  # the bottom lane
    # editable like any region, and the whole import is one undo step
    w.navigation.next_region("bass guitar")
    w.editing.relabel_selected("violin")
    w.navigation.next_region("bass guitar")
    w.editing.relabel_selected("violin")
    assert Region("violin", 10.0, 14.0, 1.0) in doc.regions and "bass guitar" not in doc.labels
    doc.undo.undo()
    doc.undo.undo()
    doc.undo.undo()
    assert doc.regions == [] and doc.labels == doc.activity.labels
    doc.undo.redo()
    assert "bass guitar" in doc.labels
    # the lane comes back with a saved session
    assert w.files.save_session(path=tmp_path / "take.stsession")
    again = MainWindow(settings, output=output)
    qtbot.addWidget(again)
    assert again.open_path(tmp_path / "take.stsession")
    assert "bass guitar" in again.doc.labels and Region("bass guitar", 10.0, 14.0, 1.0) in again.doc.regions
    again.shutdown()


def test_import_dialog_offers_every_importable_format(qtbot, analysed, tmp_path, monkeypatch) -> None:
    w = analysed
    w.set_region_params(NOTHING)
    filters = import_filters()
    assert {fmt for fmt in filters.values() if fmt} == {name for name, spec in FORMATS.items() if spec.can_import}
    reaper = tmp_path / "regions.csv"
    export_regions("reaper", [Region("trumpet", 3.0, 5.0, 0.7)], reaper, options=ExportOptions())
    chosen = next(text for text, fmt in filters.items() if fmt == "reaper")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: (str(reaper), chosen))
    w.import_markers_action.trigger()
    assert [(r.label, r.start, r.end) for r in w.doc.regions] == [("trumpet", 3.0, 5.0)]
    broken = tmp_path / "broken.json"
    broken.write_text("{ nope", encoding="utf-8")
    w.editing.import_markers(broken)
    assert "broken.json" in w.last_error and len(w.doc.regions) == 1


def test_point_markers_and_nameless_labels_are_kept(qtbot, analysed, tmp_path, output) -> None:
    """An Audacity point label, a REAPER marker row: regions of no length that export as markers again;
    a label left without a name goes to one "unlabelled" lane, not a lane named ''."""
    w = analysed
    w.set_region_params(NOTHING)
    marks = tmp_path / "points.txt"
    marks.write_text("5.0\t5.0\tcue\n8.0\t9.0\t\n12.0\t13.0\t   \n70.0\t70.0\tpast the end\n", encoding="utf-8")
    w.editing.import_markers(marks)
    assert [(r.label, r.start, r.end) for r in w.doc.regions] == [
        ("cue", 5.0, 5.0), ("unlabelled", 8.0, 9.0), ("unlabelled", 12.0, 13.0)]
    assert "Imported 3 regions, 1 of them point markers (no length)" in w.statusBar().currentMessage()
    assert "1 outside the recording left out" in w.statusBar().currentMessage()
    reaper = tmp_path / "markers.csv"
    export_regions("reaper", w.doc.regions, reaper, options=ExportOptions())
    assert reaper.read_text(encoding="utf-8").splitlines()[1].startswith("M1,cue,")
    w.navigation.next_region("cue")
    w.navigation.play_selected()  # a point plays on from where it stands
    assert output.calls[-1][1:] == (5.0, None)


def test_markers_exported_with_the_default_names_come_back_to_their_lanes(qtbot, analysed, tmp_path) -> None:
    """Audacity keeps only a marker's name, "{label} {n}" by default: importing such a list gives the regions
    their lanes again instead of a lane per region; a name such as "Take 1" alone keeps its number."""
    w = analysed
    w.set_region_params(NOTHING)
    regions = [Region("flute", 2.0, 4.0), Region("flute", 6.0, 8.0), Region("oboe", 10.0, 12.0),
               Region("oboe", 14.0, 16.0)]
    marks = export_regions("audacity", regions, tmp_path / "mine.txt", options=ExportOptions(name_template="{label} {n}"))
    with marks.open("a", encoding="utf-8") as f:
        f.write("20.0\t21.0\tTake 1\n")
    w.editing.import_markers(marks)
    assert [(r.label, r.start) for r in w.doc.regions] == [
        ("flute", 2.0), ("flute", 6.0), ("oboe", 10.0), ("oboe", 14.0), ("Take 1", 20.0)]
    # The same names in a JSON list are labels as written: only name-only formats lose the label.
    listed = tmp_path / "labels.json"
    listed.write_text('{"regions": [{"label": "violin 1", "start": 25, "end": 26},'
                      ' {"label": "violin 2", "start": 27, "end": 28}]}', encoding="utf-8")
    w.editing.import_markers(listed)
    assert {"violin 1", "violin 2"} <= set(w.doc.labels)
