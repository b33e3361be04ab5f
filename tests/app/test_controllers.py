"""The window's parts work on their own: files, jobs and autosave without a window; navigation over a
timeline and a player alone."""

from __future__ import annotations

from studio_tagger.analysis.regions import Region, RegionParams
from studio_tagger.app.analysis_jobs import AnalysisJobs
from studio_tagger.app.autosaver import Autosaver
from studio_tagger.app.files import Files
from studio_tagger.app.navigation import Navigator
from studio_tagger.app.playback import Player
from studio_tagger.app.timeline import Timeline
from studio_tagger.session import load_session


def test_files_jobs_and_autosave_without_a_window(qtbot, settings, take, tmp_path) -> None:
    jobs = AnalysisJobs(settings, block_seconds=5.0)
    autosaver = Autosaver(settings)
    files = Files(settings, jobs, autosaver, RegionParams, lambda: (1.0, 2.0))
    with qtbot.waitSignals([jobs.finished, jobs.summaryFinished], timeout=30_000):
        assert files.open_path(take)
    doc = files.doc
    assert jobs.state == "done" and doc.activity.is_complete and doc.peaks.complete
    with qtbot.waitSignal(autosaver.autosaved, timeout=5000):
        doc.add_region("flute", 1.0, 2.0)
    assert files.save_session(path=tmp_path / "take.stsession")
    saved = load_session(tmp_path / "take.stsession")
    assert saved.view["start"] == 1.0 and Region("flute", 1.0, 2.0, 1.0) in saved.regions()
    files.close_document()
    assert files.doc is None and jobs.doc is None
    assert all(slot.wait(10.0) for slot in jobs.slots)


def test_navigation_over_a_timeline_and_player_alone(qtbot, settings, take, output) -> None:
    jobs = AnalysisJobs(settings, block_seconds=5.0)
    files = Files(settings, jobs, Autosaver(settings), lambda: RegionParams(threshold_on=1.01, threshold_off=1.01),
                  lambda: (0.0, 1.0))
    timeline = Timeline()
    qtbot.addWidget(timeline)
    navigator = Navigator(timeline, Player(output))
    files.documentChanged.connect(navigator.set_document)
    files.documentChanged.connect(lambda doc: doc and timeline.set_document(doc, {}))
    with qtbot.waitSignals([jobs.finished, jobs.summaryFinished], timeout=30_000):
        files.open_path(take)
    files.doc.add_region("violin", 30.0, 32.0)
    timeline.set_view(0.0, 5.0)
    assert navigator.next_region("violin") == Region("violin", 30.0, 32.0, 1.0)
    x0, x1 = timeline.view_range()
    assert files.doc.playhead == 30.0 and x0 <= 30.0 and x1 >= 32.0
    navigator.play_selected()
    assert output.calls[-1] == (take, 30.0, 32.0)
    files.close_document()  # before the timeline goes with the test
    timeline.waveform.excerpts.cancel()  # a waveform excerpt read for the zoomed view may still be on its way
    assert timeline.waveform.excerpts.wait(10.0) and not navigator.player.playing
