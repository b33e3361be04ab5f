"""Export, sessions, cancelling and closing during analysis."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio_tagger.analysis.regions import Region, RegionParams
from studio_tagger.app.export_dialog import ExportDialog, ExportRequest
from studio_tagger.app.main_window import MainWindow
from studio_tagger.interchange import FORMATS, ExportOptions, import_regions

EVERYTHING = RegionParams(threshold_on=0.0, threshold_off=0.0)


def test_export_writes_the_regions(qtbot, analysed, tmp_path) -> None:
    w = analysed
    w.set_region_params(EVERYTHING)
    target = tmp_path / "labels.txt"
    with qtbot.waitSignal(w.exportFinished, timeout=10_000) as blocker:
        w.exports.export(ExportRequest("audacity", target, ExportOptions()))
    assert blocker.args == [str(target)]
    back = import_regions(target)
    assert [(r.label, r.start, r.end) for r in back] == [(r.label, r.start, r.end) for r in w.doc.regions]


def test_export_dialog_offers_every_format(qtbot, analysed, tmp_path) -> None:
    w = analysed
    dialog = ExportDialog(w.doc.path, w.doc.labels, w)
    qtbot.addWidget(dialog)
    assert [dialog.format.itemData(i) for i in range(dialog.format.count())] == list(FORMATS)
    dialog.set_format("reaper")
    assert dialog.path.text().endswith(".csv")
    dialog.instruments.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog.path.setText(str(tmp_path / "r.csv"))
    dialog.name_template.setText("{label}")
    request = dialog.request()
    assert request.fmt == "reaper" and "clarinet" not in request.options.labels
    w.set_region_params(EVERYTHING)
    with qtbot.waitSignal(w.exportFinished, timeout=10_000):
        w.exports.export(request)
    assert {r.label for r in import_regions(tmp_path / "r.csv")} == set(w.doc.labels) - {"clarinet"}


def test_export_failure_is_reported(qtbot, analysed, tmp_path) -> None:
    with qtbot.waitSignal(analysed.exportFailed, timeout=10_000):
        analysed.exports.export(ExportRequest("audacity", tmp_path / "no" / "such" / "dir.txt", ExportOptions()))
    assert "cannot write" in analysed.last_error


def test_session_reopens_without_reanalysis(qtbot, analysed, settings, output, tmp_path) -> None:
    w = analysed
    w.set_region_params(RegionParams(threshold_on=1.01, threshold_off=1.01))
    w.doc.select_label("trumpet")
    w.doc.set_time_selection((3.0, 9.0), "trumpet")
    w.editing.add_from_selection()
    w.timeline.set_view(2.0, 12.0)
    w.doc.set_playhead(4.5)
    path = tmp_path / "take.stsession"
    assert w.files.save_session(path=path)
    assert not w.windowTitle().endswith("*")

    again = MainWindow(settings, output=output)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.summaryFinished, timeout=5000):
        assert again.open_path(path)
    doc = again.doc
    assert again.jobs.analysis.started == 0 and again.jobs.state == "done"  # the model never ran
    assert doc.activity.is_complete
    assert doc.regions == [Region("trumpet", 3.0, 9.0, 1.0)]
    assert doc.peaks.complete and doc.spectrogram.filled == doc.spectrogram.columns  # from the cache
    assert doc.playhead == 4.5 and doc.selected_label == "trumpet"
    x0, x1 = again.timeline.view_range()
    assert abs(x0 - 2.0) < 1e-6 and abs(x1 - 12.0) < 1e-6
    # the edits stay edits: new thresholds bring detected regions back, the user's region stays
    again.set_region_params(EVERYTHING)
    assert Region("trumpet", 3.0, 9.0, 1.0) in doc.regions and len(doc.regions) > 1
    again.shutdown()


def test_cancel_mid_analysis_leaves_the_app_usable(qtbot, window, long_take) -> None:
    opened = []
    window.documentOpened.connect(lambda: window.doc.activityChanged.connect(lambda a, b: opened.append(b)))
    window.open_path(long_take)
    qtbot.waitUntil(lambda: len(opened) >= 2, timeout=20_000)
    window.status.cancel_button.click()
    assert window.jobs.state == "cancelled" and not window.status.cancel_button.isVisible()
    filled = window.doc.activity.filled
    assert 0 < filled < len(window.doc.activity.times)
    qtbot.wait(300)  # chunks still in flight from the cancelled run are dropped
    assert window.doc.activity.filled == filled
    assert window.jobs.analysis.wait(5.0)
    # still usable: navigate, add a region, and run the analysis again to the end
    window.doc.set_time_selection((1.0, 2.0), window.doc.labels[0])
    assert window.editing.add_from_selection() is not None
    qtbot.keyClick(window, Qt.Key.Key_F)
    with qtbot.waitSignal(window.analysisFinished, timeout=60_000):
        window.rerun_action.trigger()
    assert window.doc.activity.is_complete


def test_closing_during_analysis_exits_cleanly(qtbot, settings, output, long_take) -> None:
    w = MainWindow(settings, output=output, analysis_block_seconds=5.0)
    qtbot.addWidget(w)
    w.show()
    chunks = []
    w.documentOpened.connect(lambda: w.doc.activityChanged.connect(lambda a, b: chunks.append(b)))
    w.open_path(long_take)
    qtbot.waitUntil(lambda: len(chunks) >= 1, timeout=20_000)
    assert w.jobs.state == "running"
    started = time.monotonic()
    assert w.close()
    assert time.monotonic() - started < 5.0
    assert w.jobs.analysis.worker.done and w.jobs.summary.worker.done


def _reopen_without_asking(qtbot, settings, output, path: Path) -> MainWindow:
    again = MainWindow(settings, output=output)
    qtbot.addWidget(again)
    again.files.locate_source = lambda missing, changed=False: pytest.fail(f"asked where {missing} is")
    assert again.open_path(path)
    return again


def test_a_recording_opened_by_relative_path_is_found_from_any_directory(qtbot, window, settings, output, take,
                                                                         tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(take.parent)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        assert window.open_path(Path(take.name))  # as typed on the command line
    (tmp_path / "sessions").mkdir()
    session = tmp_path / "sessions" / "take.stsession"
    assert window.files.save_session(path=session)
    assert json.loads(session.read_text())["source"]["path"] == str(take)
    monkeypatch.chdir(tmp_path / "sessions")
    again = _reopen_without_asking(qtbot, settings, output, Path("take.stsession"))
    assert again.doc.path == take and again.jobs.analysis.started == 0
    again.shutdown()


def test_a_moved_project_finds_its_recording_relative_to_the_session(qtbot, window, settings, output, take,
                                                                    tmp_path) -> None:
    (tmp_path / "project" / "audio").mkdir(parents=True)
    (tmp_path / "project" / "sessions").mkdir()
    recording = tmp_path / "project" / "audio" / "take.flac"
    shutil.copy(take, recording)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(recording)
    assert window.files.save_session(path=tmp_path / "project" / "sessions" / "take.stsession")
    window.files.close_document()
    shutil.move(tmp_path / "project", tmp_path / "renamed")  # not beside the session, not where it was
    again = _reopen_without_asking(qtbot, settings, output, tmp_path / "renamed" / "sessions" / "take.stsession")
    assert again.doc.path == tmp_path / "renamed" / "audio" / "take.flac" and again.jobs.analysis.started == 0
    again.shutdown()


def test_export_dialog_counts_regions_and_starts_in_the_last_folder(qtbot, analysed, tmp_path, monkeypatch) -> None:
    w = analysed
    w.set_region_params(EVERYTHING)
    regions = w.doc.regions
    dialog = ExportDialog(w.doc.path, w.doc.labels, w, regions=regions)
    qtbot.addWidget(dialog)
    path = Path(dialog.path.text())
    assert path.is_absolute() and path.parent == w.doc.path.parent
    assert dialog.count.text() == f"{len(regions)} regions will be written"
    dialog.instruments.item(0).setCheckState(Qt.CheckState.Unchecked)
    kept = [r for r in regions if r.label != w.doc.labels[0]]
    assert dialog.count.text() == f"{len(kept)} regions will be written"
    dialog.name_template.setText("{nope}")
    assert dialog.count.text().startswith("Cannot export") and not dialog.export_button.isEnabled()
    dialog.name_template.setText("{label} {n}")
    assert dialog.export_button.isEnabled()
    monkeypatch.chdir(w.doc.path.parent)  # a recording named relative to the working directory
    assert Path(ExportDialog(Path(w.doc.path.name), w.doc.labels, w).path.text()).is_absolute()

    out = tmp_path / "exports"
    out.mkdir()

    def accept_into(self) -> int:
        self.path.setText(str(out / "labels.txt"))
        return 1

    monkeypatch.setattr(ExportDialog, "exec", accept_into)
    with qtbot.waitSignal(w.exportFinished, timeout=10_000):
        w.export_action.trigger()
    assert (out / "labels.txt").is_file()
    again = ExportDialog(w.doc.path, w.doc.labels, w, folder=w.settings.export_dir)
    qtbot.addWidget(again)
    assert Path(again.path.text()).parent == out  # the next export starts where the last one went
