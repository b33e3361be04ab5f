"""The app under bad input and faults: dialogs with the one-line reason and a window that still works,
sessions whose recording moved or changed, GPU out-of-memory notices, closing while playing, autosave
and restore after a killed process, and a recording that is never written."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from badinput import BAD, VALID, honour_permissions
from faults import wrapped

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.regions import Region
from studio_tagger.app.export_dialog import ExportRequest
from studio_tagger.app.files import Files
from studio_tagger.app.jobs import AnalyzerCache
from studio_tagger.app.main_window import MainWindow
from studio_tagger.autosave import autosave_path
from studio_tagger.interchange import ExportOptions
from studio_tagger.models import load_model
from studio_tagger.session import Edit


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dismiss_error(window: MainWindow) -> str:
    box = window.error_box
    assert box is not None and box.isVisible()
    text = box.text()
    box.accept()
    return text


def test_bad_files_get_a_dialog_and_the_window_stays_usable(qtbot, window, tmp_path, take, monkeypatch) -> None:
    honour_permissions(monkeypatch)
    for case in BAD:
        path = case.build(tmp_path)
        assert not window.open_path(path), case.id
        assert _dismiss_error(window) == f"{path}: {case.reason}", case.id
        assert window.doc is None and window.windowTitle() == "studio-tagger"
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        assert window.open_path(take)
    assert window.doc.activity.is_complete


def test_unusual_but_valid_audio_opens_and_analyses(qtbot, window, tmp_path) -> None:
    for case in VALID:
        path = case.build(tmp_path)
        before = _sha(path)
        with qtbot.waitSignals([window.analysisFinished, window.summaryFinished], timeout=30_000):
            assert window.open_path(path), case.id
        assert window.error_box is None, case.id
        assert window.doc.activity.is_complete and window.doc.peaks.complete, case.id
        assert _sha(path) == before, case.id


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="needs ffmpeg")
def test_an_m4a_opens_analyses_and_draws(qtbot, window, tmp_path, take) -> None:
    """AAC in .m4a, read through ffmpeg: lanes, waveform and spectrogram as for any file, the file untouched."""
    m4a = tmp_path / "take.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(take), "-c:a", "aac", str(m4a)], check=True,
                   timeout=120)
    before = _sha(m4a)
    with qtbot.waitSignals([window.analysisFinished, window.summaryFinished], timeout=30_000):
        assert window.open_path(m4a)
    doc = window.doc
    assert window.error_box is None and doc.activity.is_complete and doc.peaks.complete
    assert doc.duration == pytest.approx(40.0, abs=0.1) and doc.spectrogram.filled == doc.spectrogram.columns
    assert _sha(m4a) == before


def test_a_malformed_session_gets_a_dialog(qtbot, window, tmp_path, take) -> None:
    for name, content, reason in [
        ("garbage.stsession", "{ nope", "not a studio-tagger session (Expecting property name enclosed in double "
                                         "quotes: line 1 column 3 (char 2))"),
        ("other.stsession", '{"format": "something"}', "not a studio-tagger session"),
        ("holes.stsession", '{"format": "studio-tagger-session", "version": 1, "source": {"path": "x.wav"}}',
         "session is incomplete or malformed ('hash')"),
    ]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        assert not window.open_path(path)
        assert _dismiss_error(window) == f"{path}: {reason}"
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        assert window.open_path(take)


@pytest.fixture
def saved_session(qtbot, analysed, tmp_path):
    """A session of a copy of the take (which tests may move or change), with one user edit."""
    w = analysed
    folder = tmp_path / "project"
    folder.mkdir()
    recording = folder / "take.flac"
    shutil.copy(w.doc.path, recording)
    with qtbot.waitSignals([w.analysisFinished, w.summaryFinished], timeout=30_000):
        w.open_path(recording)
    w.doc.add_region("violin", 4.0, 9.0)
    session = folder / "take.stsession"
    assert w.files.save_session(path=session)
    return session, recording


def _reopen(qtbot, settings, output, path: Path, locate=None) -> tuple[MainWindow, list]:
    asked: list = []
    again = MainWindow(settings, output=output, analysis_block_seconds=5.0)
    qtbot.addWidget(again)

    def locate_source(missing, changed=False):
        asked.append((missing, changed))
        return locate

    again.files.locate_source = locate_source
    assert again.open_path(path)
    return again, asked


def test_moved_recording_is_found_beside_its_session(qtbot, saved_session, settings, output, tmp_path) -> None:
    session, recording = saved_session
    moved = tmp_path / "moved project"
    shutil.move(session.parent, moved)
    again, asked = _reopen(qtbot, settings, output, moved / session.name)
    assert asked == [] and again.doc.path == moved / recording.name
    assert again.jobs.analysis.started == 0  # same content: the saved analysis is used
    assert Region("violin", 4.0, 9.0, 1.0) in again.doc.regions
    again.shutdown()


def test_moved_recording_is_located_by_the_user(qtbot, saved_session, settings, output, tmp_path) -> None:
    session, recording = saved_session
    elsewhere = tmp_path / "archive" / "renamed take.flac"
    elsewhere.parent.mkdir()
    shutil.move(recording, elsewhere)
    again, asked = _reopen(qtbot, settings, output, session, locate=elsewhere)
    assert asked == [(recording, False)] and again.doc.path == elsewhere
    assert again.jobs.analysis.started == 0
    again.shutdown()
    cancelled, asked = MainWindow(settings, output=output), []
    qtbot.addWidget(cancelled)
    cancelled.files.locate_source = lambda missing, changed=False: asked.append(missing)
    assert not cancelled.open_path(session)
    assert _dismiss_error(cancelled) == f"{session}: its recording {recording} is missing"


def test_changed_recording_is_detected_by_its_content(qtbot, saved_session, settings, output, tmp_path) -> None:
    session, recording = saved_session
    original = tmp_path / "original.flac"
    shutil.copy(recording, original)
    data = bytearray(recording.read_bytes())
    import soundfile as sf

    audio, rate = sf.read(str(original))
    sf.write(str(recording), audio[: len(audio) // 2], rate)  # trimmed in another editor
    assert bytes(data) != recording.read_bytes()
    # offered to locate the original: the user finds it, and nothing needs re-analysing
    again, asked = _reopen(qtbot, settings, output, session, locate=original)
    assert asked == [(recording, True)] and again.doc.path == original and again.jobs.analysis.started == 0
    again.shutdown()
    # declined: the changed recording is analysed again and the edits are kept
    again, asked = _reopen(qtbot, settings, output, session, locate=None)
    assert asked == [(recording, True)] and again.doc.path == recording
    assert _dismiss_error(again).startswith(f"{recording} changed since the session was saved")
    with qtbot.waitSignal(again.analysisFinished, timeout=30_000):
        pass
    assert Region("violin", 4.0, 9.0, 1.0) in again.doc.regions
    again.shutdown()


def test_out_of_gpu_memory_is_a_status_line(qtbot, window, take, model_path, monkeypatch) -> None:
    model = wrapped(load_model(model_path), limit=100, axis=-2)
    monkeypatch.setattr(AnalyzerCache, "get", lambda self, s: Analyzer(model, device="cpu", hop=s.hop))
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(take)
    assert "GPU out of memory even in small pieces; continuing on the CPU (slower)" in messages
    assert window.error_box is None and window.doc.activity.is_complete


def test_closing_during_playback_exits_cleanly(qtbot, analysed, output) -> None:
    w = analysed
    w.navigation.toggle_play()
    qtbot.waitUntil(lambda: w.doc.playhead > 0.5, timeout=5000)
    assert w.player.playing
    assert w.close()
    assert not w.player.playing and output.position() is None


def _open_accepting_restore(qtbot, settings, output, path: Path) -> tuple[MainWindow, list]:
    """A new window that opens ``path`` (analysis finished), accepting the autosave it is offered;
    returns the window and the autosaves offered."""
    offered: list = []
    window = MainWindow(settings, output=output)
    qtbot.addWidget(window)
    window.autosaver.ask_restore = lambda saved: offered.append(saved) or True
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(path)
    return window, offered


def test_edits_are_autosaved_and_offered_back(qtbot, analysed, settings, output) -> None:
    w = analysed
    recording = w.doc.path
    stored = autosave_path(settings.autosave_dir, recording)
    with qtbot.waitSignal(w.autosaved, timeout=5000):
        w.doc.add_region("flute", 2.0, 6.0)
    assert stored.exists()
    w.doc.undo.undo()  # back at the opened state: nothing left to keep
    qtbot.waitUntil(lambda: not stored.exists(), timeout=5000)
    with qtbot.waitSignal(w.autosaved, timeout=5000):
        w.doc.add_region("piano", 10.0, 12.0)

    again, offered = _open_accepting_restore(qtbot, settings, output, recording)
    assert [s.edits for s in offered] == [[Edit("add", new=Region("piano", 10.0, 12.0, 1.0))]]
    assert Region("piano", 10.0, 12.0, 1.0) in again.doc.regions and again.windowTitle().endswith("* — studio-tagger")
    again.doc.undo.undo()  # the restore is one undo step
    assert again.doc.edits == []
    again.shutdown()

    declined = MainWindow(settings, output=output)
    qtbot.addWidget(declined)
    declined.autosaver.ask_restore = lambda saved: False
    declined.open_path(recording)
    assert declined.doc.edits == [] and not stored.exists()
    declined.shutdown()


def test_a_window_that_shut_down_writes_no_more_autosaves(qtbot, analysed, settings) -> None:
    """An edit made just before the window closed (and was saved or discarded there) is not written a
    moment later by a timer the window left behind."""
    from studio_tagger.app.autosaver import AUTOSAVE_AFTER_MS

    w = analysed
    w.doc.add_region("flute", 2.0, 6.0)
    w.shutdown()
    qtbot.wait(AUTOSAVE_AFTER_MS + 500)
    assert not autosave_path(settings.autosave_dir, w.doc.path).exists()


def test_autosaved_edits_are_offered_though_the_recording_changed(qtbot, window, take, tmp_path, settings,
                                                                  output) -> None:
    """Re-exported under the same name (trimmed, normalised), the recording's hash changes: its autosaved
    edits are still offered, not kept aside where nothing would show them again."""
    import soundfile as sf

    recording = tmp_path / "mine.wav"
    shutil.copyfile(take, recording)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.open_path(recording)
    with qtbot.waitSignal(window.autosaved, timeout=5000):
        window.doc.add_region("piano", 10.0, 12.0)
    window.shutdown()
    data, rate = sf.read(recording)
    sf.write(recording, data * 0.9, rate)
    again, offered = _open_accepting_restore(qtbot, settings, output, recording)
    assert [s.edits for s in offered] == [[Edit("add", new=Region("piano", 10.0, 12.0, 1.0))]]
    assert offered[0].source_hash != again.files.source_hash
    assert Region("piano", 10.0, 12.0, 1.0) in again.doc.regions
    again.shutdown()


CHILD = """
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from studio_tagger.app.main import make_app
from studio_tagger.app.main_window import MainWindow
from studio_tagger.app.settings import AppSettings

app = make_app()
window = MainWindow(AppSettings(QSettings(sys.argv[1], QSettings.Format.IniFormat)))
window.show()
window.autosaved.connect(lambda path: print("autosaved", flush=True))
window.open_path(Path(sys.argv[2]))
window.doc.add_region("trumpet", 5.0, 11.5)
window.doc.add_region("flute", 20.0, 24.0)
app.exec()
"""


def test_edits_survive_a_killed_process(qtbot, settings, output, take, monkeypatch) -> None:
    monkeypatch.setattr(Files, "confirm_discard", lambda self: True)  # no modal question at teardown
    settings.store.sync()
    child = subprocess.Popen([sys.executable, "-c", CHILD, settings.store.fileName(), str(take)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        assert child.stdout.readline().strip() == "autosaved"
    finally:
        child.kill()  # SIGKILL: no close event, no clean-up
        child.wait(timeout=30)
    assert child.returncode == -9

    window, offered = _open_accepting_restore(qtbot, settings, output, take)
    assert len(offered) == 1
    assert window.doc.edits == [Edit("add", new=Region("trumpet", 5.0, 11.5, 1.0)),
                                Edit("add", new=Region("flute", 20.0, 24.0, 1.0))]
    assert {Region("trumpet", 5.0, 11.5, 1.0), Region("flute", 20.0, 24.0, 1.0)} <= set(window.doc.regions)
    window.shutdown()


def test_two_instances_keep_their_own_autosaves(qtbot, settings, output, take, monkeypatch) -> None:
    """Two app instances with the same recording open each autosave their own edits: the running one's are
    neither offered to the other as a crash's leftover nor overwritten or removed by it; once it is gone
    (killed), they are offered."""
    monkeypatch.setattr(Files, "confirm_discard", lambda self: True)
    settings.store.sync()
    child = subprocess.Popen([sys.executable, "-c", CHILD, settings.store.fileName(), str(take)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        assert child.stdout.readline().strip() == "autosaved"
        theirs = autosave_path(settings.autosave_dir, take, pid=child.pid)
        assert theirs.exists()
        before = theirs.read_bytes()
        window, offered = _open_accepting_restore(qtbot, settings, output, take)
        messages: list[str] = []
        window.autosaver.message.connect(lambda text, ms: messages.append(text))
        window.autosaver.offer_restore()  # as opening does
        assert offered == [] and window.doc.edits == []
        assert messages and "another studio-tagger window" in messages[0]
        with qtbot.waitSignal(window.autosaved, timeout=5000):
            window.doc.add_region("piano", 30.0, 36.0)
        ours = autosave_path(settings.autosave_dir, take)
        assert ours.exists() and ours != theirs and theirs.read_bytes() == before
        window.doc.undo.undo()  # back at the opened state: our file goes, theirs stays
        qtbot.waitUntil(lambda: not ours.exists(), timeout=5000)
        assert theirs.read_bytes() == before
        window.shutdown()
    finally:
        child.kill()
        child.wait(timeout=30)
    again, offered = _open_accepting_restore(qtbot, settings, output, take)
    assert [s.edits for s in offered] == [[Edit("add", new=Region("trumpet", 5.0, 11.5, 1.0)),
                                          Edit("add", new=Region("flute", 20.0, 24.0, 1.0))]]
    again.doc.undo.undo()  # the restored edits undone: the dead instance's file is gone with them
    qtbot.waitUntil(lambda: not theirs.exists(), timeout=5000)
    again.shutdown()


def test_the_app_never_writes_the_recording(qtbot, window, take, tmp_path) -> None:
    before = _sha(take)
    with qtbot.waitSignals([window.analysisFinished, window.summaryFinished], timeout=30_000):
        window.open_path(take)
    window.doc.add_region("flute", 1.0, 3.0)
    assert window.files.save_session(path=tmp_path / "take.stsession")
    for fmt, name in (("wav", "marked.wav"), ("audacity", "labels.txt")):
        with qtbot.waitSignal(window.exportFinished, timeout=30_000):
            window.exports.export(ExportRequest(fmt, tmp_path / name, ExportOptions()))
    with qtbot.waitSignal(window.exportFailed, timeout=30_000):
        window.exports.export(ExportRequest("audacity", take, ExportOptions()))
    assert "refusing to overwrite the recording" in _dismiss_error(window)
    window.navigation.toggle_play()
    time.sleep(0.2)
    window.shutdown()
    assert _sha(take) == before


def test_a_bad_model_gets_a_dialog_and_a_good_one_works_after(qtbot, window, settings, take, tmp_path,
                                                             model_path) -> None:
    card = tmp_path / "broken.json"
    card.write_text('{"format": "studio-tagger-model", "labels": []}', encoding="utf-8")
    (tmp_path / "broken.safetensors").write_bytes(b"\0" * 16)
    for bad, reason in [(tmp_path / "gone.safetensors", f"{tmp_path / 'gone.safetensors'}: model file not found"),
                        (card, f"{card}: model card is incomplete or invalid ('architecture')")]:
        settings.model_path = str(bad)
        with qtbot.waitSignal(window.analysisFailed, timeout=30_000):
            window.open_path(take)
        assert _dismiss_error(window) == f"analysis failed: {reason}"
        assert window.jobs.state == "failed" and window.doc is not None
    settings.model_path = str(model_path)
    with qtbot.waitSignal(window.analysisFinished, timeout=30_000):
        window.rerun_action.trigger()
    assert window.doc.activity.is_complete


def test_quick_edits_are_autosaved_while_they_go_on_and_a_failing_folder_is_said_once(qtbot, analysed,
                                                                                      settings, tmp_path) -> None:
    w = analysed
    saved: list[str] = []
    w.autosaver.autosaved.connect(saved.append)
    for k in range(8):  # an edit every 0.4 s for 3 s: the autosave must not wait for a pause
        w.doc.add_region("flute", 2.0 + k, 2.5 + k)
        qtbot.wait(400)
    assert saved, "no autosave during a run of quick edits"
    (tmp_path / "a file").write_text("in the way")
    settings.autosave_dir = tmp_path / "a file" / "autosave"  # cannot be created
    notices: list[str] = []
    w.autosaver.notice.connect(notices.append)
    for k in range(3):
        w.doc.add_region("violin", 20.0 + k, 20.5 + k)
        qtbot.wait(1800)
    assert len(notices) == 1 and str(settings.autosave_dir) in notices[0]


def test_a_hand_edited_hop_stays_in_the_dialogs_range(settings) -> None:
    for stored, hop in (("0", 0.05), ("-1", 0.05), ("1e9", 2.0), ("nan", 0.5), ("abc", 0.5), ("0.25", 0.25)):
        settings.store.setValue("analysis/hop", stored)
        assert settings.hop == hop
